"""The briefing demo: the group's 8 key tasks in Vietnamese with KPIs, three closed monthly briefings with
frozen packs and directives in every status, the next briefing planned; deterministic and idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from headframe.briefing import selectors
from headframe.briefing.demo import load_briefing_demo, meeting_months
from headframe.briefing.models import Directive, KeyTask, KeyTaskKpi, Meeting
from tests.demo_snapshot import demo_database

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("today", "held", "upcoming"),
    [
        # Past the 5th: last month's briefing has sat; the next covers this month.
        (
            dt.date(2026, 11, 28),
            [dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)],
            dt.date(2026, 11, 1),
        ),
        # Before it: last month's briefing is the next one.
        (
            dt.date(2027, 1, 3),
            [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)],
            dt.date(2026, 12, 1),
        ),
    ],
)
def test_demo_meetings_follow_the_calendar(today, held, upcoming):
    assert meeting_months(today) == (held, upcoming)


def test_the_demo_has_key_tasks_briefings_and_directives_in_every_status():
    demo_database()
    today = timezone.localdate()
    tasks = list(KeyTask.objects.filter(owner_unit__code="HFG", year=today.year).order_by("number"))
    assert [t.number for t in tasks] == list(range(1, 9))
    assert tasks[0].title_vi == "Bám sát, thực hiện ở mức cao nhất các chỉ tiêu kế hoạch"
    assert {k.indicator.code for k in KeyTaskKpi.objects.filter(kind="indicator_vs_plan")} >= {
        "raw_coal_t",
        "coal_sold_t",
        "roadway_m",
        "overburden_m3",
        "revenue_vnd",
    }
    assert KeyTaskKpi.objects.filter(kind="manual", key_task__title_vi__contains="chuyển đổi số").count() == 3
    # The demo also holds the group's 2021 register with its Q1/2021 briefing (tests/production/test_demo_2021.py):
    # the monthly briefings around today are the ones after it.
    meetings = list(Meeting.objects.filter(period_start__year__gt=2021).order_by("starts_at"))
    assert [m.status for m in meetings] == ["closed", "closed", "closed", "planned"]
    assert all(m.pack is not None for m in meetings[:3])
    assert all(m.bridge_points.count() == 6 and m.agenda_items.count() == 5 for m in meetings)
    counts = selectors.directive_counts(None)
    assert counts["overdue"] > 0 and counts["done"] > 0 and counts["cancelled"] > 0
    assert counts["in_progress"] + counts["open"] > 0
    assert all(d.meeting_id for d in Directive.objects.all())
    statuses = selectors.key_task_statuses(tasks)
    assert all(len(s.kpis) >= 1 for s in statuses)

    # Idempotent: a second run adds nothing.
    before = (
        Meeting.objects.count(),
        Directive.objects.count(),
        KeyTask.objects.count(),
        KeyTaskKpi.objects.count(),
    )
    again = load_briefing_demo()
    assert (again.meetings, again.directives, again.key_tasks, again.kpis) == (0, 0, 0, 0)
    after = (
        Meeting.objects.count(),
        Directive.objects.count(),
        KeyTask.objects.count(),
        KeyTaskKpi.objects.count(),
    )
    assert after == before
