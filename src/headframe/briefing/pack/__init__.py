"""The briefing pack: every figure a production-control briefing looks at, as one JSON-able dict.

The package: `common` (constants, small helpers), `production` and `safety` (the sections of a block),
`build` (the pack, a meeting's pack, its scope), `narrative` (the drafted summary), `export` (the page and PDF
view model), `xlsx` (the workbook), and the transports: `api` (a router mounted beside the briefing one),
`views` and `urls` (the pack pages and the live room).

`pack_for(unit, start, end)` builds it for a unit (the group, or one company) and a period; `pack_build(meeting)`
serves a closed meeting's frozen pack and builds an open meeting's live. The web page, the PDF, the Excel
workbook and the narrative are all drawn from this dict, so they agree to the unit.

Figures come from the selectors of the apps that own them, never recomputed here:
- production: `headframe.production.selectors` — the root's summary, one pass bucketed by company and one
  bucketed by site (best and worst units), early warnings (every level, the root included), top reasons,
  chart series. The figures are those of the meeting's own period [start, end] (`period_*`) and, as of the
  period's last day, the month to date, the year to date, the same periods last year and the daily rates
  still needed;
- safety: telemetry alarms raised in the period per site with their ISA-18.2 KPIs
  (`telemetry.selectors.site_alarms`); incidents of the period and findings as they stood at its end
  (`headframe.safety.selectors`);
- directives and key tasks: the briefing selectors (`directives_for_pack`, `key_task_statuses`).

Every percentage of plan says its basis in its key (see `headframe.production.figures`): `month_pct` is of
the whole month's plan, `month_pct_to_date` of the month's plan to date (tiến độ), `year_pct` of the year's
plan in force (adjusted), `year_pct_to_date` of the year's plan to date, `year_pct_original` of the original
year plan, `period_pct` of the period's plan. Version 1 packs (frozen on meetings closed before) call
`year_pct_to_date` `ytd_pct` and have no period figures; every renderer reads both (`row_v2`).

Numbers are floats (or None) in the indicator's base unit; percentages are those of the selectors (one
decimal, rounded half up). Names come in both languages (`name_vi`, `name_en`): a pack frozen when a
meeting closes renders in either language later. Nothing here swallows an error: a pack a meeting freezes
is whole or not built.
"""

from headframe.briefing.pack.build import (
    meeting_json,
    meeting_pack_for,
    pack_blocks,
    pack_build,
    pack_for,
    pack_for_cached,
    pack_restrict,
    pack_scope,
    pack_version,
)
from headframe.briefing.pack.common import LEAD_INDICATOR, PACK_VERSION, num, period_bounds, row_v2

__all__ = [
    "LEAD_INDICATOR",
    "PACK_VERSION",
    "meeting_json",
    "meeting_pack_for",
    "num",
    "pack_blocks",
    "pack_build",
    "pack_for",
    "pack_for_cached",
    "pack_restrict",
    "pack_scope",
    "pack_version",
    "period_bounds",
    "row_v2",
]
