"""The demo's 2021 register: the group's 8 key tasks of 2021 as it set them, with KPIs where measurable and
milestones with evidence where not; 2021's plans and daily figures; the Q1/2021 briefing, closed, its pack
showing the quarter against the year plan (DESIGN.md §6: Q1/2021 raw coal 9,78 Mt = 25,4 % of the year).

The demo as `make demo` loads it, with one recent year instead of three, is loaded once for the module inside
a transaction rolled back at the end.
"""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from headframe.briefing.demo import load_briefing_demo
from headframe.briefing.models import KeyTask, KeyTaskKpi, Meeting
from headframe.demo import load_demo
from headframe.production.demo import load_production_demo
from headframe.production.models import Actual, Holiday, PlanVersion


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        result = load_demo(production_years=1)
        connection.check_constraints()
        yield result
        transaction.set_rollback(True)


def tasks_2021() -> list[KeyTask]:
    return list(KeyTask.objects.filter(owner_unit__code="HFG", year=2021).order_by("number"))


def test_the_2021_register_holds_the_eight_key_tasks_as_the_group_set_them(loaded, db):
    tasks = tasks_2021()
    assert [t.number for t in tasks] == list(range(1, 9))
    assert "Kỷ luật – Đồng tâm" in tasks[0].title_vi
    assert "chỉ tiêu kế hoạch" in tasks[1].title_vi
    assert "công nghiệp 4.0" in tasks[2].title_vi
    assert "chiến lược, quy hoạch" in tasks[3].title_vi
    assert "tay nghề cao" in tasks[4].title_vi
    assert "dân chủ" in tasks[5].title_vi and "quyền lợi" in tasks[5].title_vi
    assert "niềm tin" in tasks[6].title_vi
    assert "SARS-CoV-2" in tasks[7].title_vi and "Tết Tân Sửu" in tasks[7].title_vi
    assert all(t.title_en for t in tasks)


def test_measurable_tasks_have_indicator_kpis_and_the_others_milestones_with_evidence(loaded, db):
    tasks = tasks_2021()
    bound = KeyTaskKpi.objects.filter(key_task=tasks[1], kind="indicator_vs_plan")
    assert {k.indicator.code for k in bound} == {"raw_coal_t", "coal_sold_t", "revenue_vnd"}
    epidemic = KeyTaskKpi.objects.filter(key_task=tasks[7])
    assert epidemic.filter(name_vi="0 người lao động bị lây nhiễm SARS-CoV-2", kind="manual").exists()
    for task in tasks:
        assert KeyTaskKpi.objects.filter(key_task=task).exists(), task.number
    milestones = KeyTaskKpi.objects.filter(key_task__in=tasks, kind="manual")
    done = [k for k in milestones if k.done]
    assert len(done) >= 4 and all(k.evidence for k in done)
    assert all(k.done_at.year == 2021 for k in done)


def test_2021_has_plans_and_a_figure_every_working_day(loaded, db):
    plans = PlanVersion.objects.filter(year=2021)
    assert plans.filter(kind="original").count() > 10 and plans.filter(kind="adjusted").exists()
    holidays = set(Holiday.objects.filter(day__year=2021, unit__isnull=True).values_list("day", flat=True))
    assert {dt.date(2021, 2, 12), dt.date(2021, 4, 21), dt.date(2021, 9, 2), dt.date(2021, 9, 3)} <= holidays
    days = set(
        Actual.objects.filter(day__year=2021, indicator__code="raw_coal_t").values_list("day", flat=True)
    )
    working = {dt.date(2021, 1, 1) + dt.timedelta(days=n) for n in range(365)} - holidays
    assert working <= days
    assert not Actual.objects.filter(
        day__year__in=(2022, 2023)
    ).exists()  # only the register year, not 2022–23


def test_the_q1_2021_briefing_shows_the_quarter_against_the_year_plan(loaded, db):
    meeting = Meeting.objects.get(unit__code="HFG", period_start=dt.date(2021, 1, 1))
    assert meeting.period_end == dt.date(2021, 3, 31) and meeting.status == "closed"
    assert meeting.type == "quarterly"
    assert meeting.title == "Giao ban điều hành sản xuất quý I/2021"
    assert meeting.pack["period"]["kind"] == "quarter"
    raw = next(r for r in meeting.pack["blocks"][0]["production"]["rows"] if r["indicator"] == "raw_coal_t")
    assert 9.4e6 <= raw["period_actual"] <= 10.2e6
    assert 37e6 <= raw["year_plan"] <= 40e6
    assert 24.0 <= raw["year_pct"] <= 26.5  # the figure the group published: 25,4 %
    assert raw["period_pct"] > 100
    assert meeting.directives.count() == 3 and not meeting.directives.exclude(status="done").exists()


def test_loading_again_adds_nothing(loaded, db):
    today = timezone.localdate()
    again = load_production_demo(today=today, years=1)
    assert again["actuals"] == 0 and again["plan_versions"] == 0 and again["holidays"] == 0
    briefing = load_briefing_demo(today=today)
    assert (briefing.meetings, briefing.key_tasks, briefing.directives) == (0, 0, 0)
