"""Briefing demo data for the demo group: the year's 8 key tasks with their KPIs, the last three monthly
briefings (closed, their packs frozen) with the directives raised in them in every status, and the next
briefing planned. Also the group's 2021 register: its 8 key tasks of 2021 and the Q1/2021 briefing (closed,
its directives done), over the 2021 figures the production demo holds.

Deterministic for a given `today`: meetings are held on the 5th of the month after the one they cover,
directives' deadlines and fates are fixed offsets from that day. Idempotent: a key task that exists (owner,
year, number) and a meeting that exists (unit, type, period) are left alone, with their directives.
Everything goes through the services, so it is validated and audited like any other write.
"""

from headframe.briefing.demo.load import BriefingDemoResult, load_briefing_demo, meeting_months

__all__ = ["BriefingDemoResult", "load_briefing_demo", "meeting_months"]
