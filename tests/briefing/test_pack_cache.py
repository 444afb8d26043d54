"""The pack of a planned or open meeting comes from the cache until a new figure, directive or alarm arrives;
a closed meeting keeps its frozen pack (issue 13, item 12)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headframe.briefing import services as briefing
from headframe.briefing.pack import build, pack_build, pack_for_cached, pack_version
from headframe.org.models import Unit
from headframe.production.services import ActualRow, actuals_upsert
from headframe.telemetry.services import external_raise
from tests.briefing import pack_fixtures
from tests.briefing.pack_fixtures import NOW, YEAR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures


def _month_actual(pack: dict, code: str) -> float:
    block = next(b for b in pack["blocks"] if b["unit"]["code"] == code)
    row = next(r for r in block["production"]["rows"] if r["indicator"] == "raw_coal_t")
    return row["month_actual"]


def _face_a_figure(day: dt.date, tonnes: int) -> None:
    """A raw coal figure of face A-M1-K1-F1 (shift 0), entered now."""
    actuals_upsert(
        actor=None,
        rows=[ActualRow("A-M1-K1-F1", "raw_coal_t", day, 0, tonnes, confirm_implausible=True)],
        source="api",
        now=NOW,
    )


def _build(meeting) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        pack = pack_build(meeting)
    return pack, len(queries)


def test_the_second_build_comes_from_the_cache(group_meeting):
    meeting = group_meeting.meeting
    first, cold = _build(meeting)
    second, warm = _build(meeting)
    assert second == first  # same figures, same generated_at: the very pack built first
    # The version read, nothing else: four primary-key lookups, and one for the marks of the sections the apps
    # above briefing register (briefing.extensions: the workforce's, one query).
    assert warm <= 5 < cold
    assert second["meeting"]["id"] == meeting.pk and not second["frozen"]


def test_a_new_figure_invalidates_the_cached_pack(group_meeting):
    meeting = group_meeting.meeting
    before = _month_actual(pack_build(meeting), "A")
    _face_a_figure(dt.date(YEAR, 10, 3), 5_000)
    after = pack_build(meeting)
    assert _month_actual(after, "A") != before  # the pack shows the new figure
    assert _month_actual(after, "A") == pytest.approx(before - (1_050 + 50 + 3) + 5_000)


def test_a_directive_raised_invalidates_the_cached_pack(group_meeting, users):
    meeting = group_meeting.meeting
    version = pack_version()

    def texts(pack):
        return [d["text"] for items in pack["directives"].values() if isinstance(items, list) for d in items]

    assert "Kiểm tra lại hệ thống thông gió lò chợ B" not in texts(pack_build(meeting))
    briefing.directive_create(
        actor=users.planner_g,
        text="Kiểm tra lại hệ thống thông gió lò chợ B",
        owner_unit_code="B",
        deadline=dt.date(YEAR, 10, 30),
        today=dt.date(YEAR, 10, 2),
        now=dt.datetime(YEAR, 10, 2, 3, 0, tzinfo=dt.UTC),
    )
    assert pack_version() != version
    assert "Kiểm tra lại hệ thống thông gió lò chợ B" in texts(pack_build(meeting))


def test_the_chairs_edit_shows_at_once_and_a_closed_meeting_keeps_its_frozen_pack(group_meeting, users):
    meeting = group_meeting.meeting
    pack_build(meeting)
    briefing.meeting_update(actor=users.planner_g, meeting=meeting, changes={"narrative_vi": "Đã sửa."})
    meeting.refresh_from_db()
    assert pack_build(meeting)["narrative_edited"]["vi"] == "Đã sửa."
    briefing.meeting_start(actor=users.planner_g, meeting=meeting)
    briefing.meeting_close(actor=users.planner_g, meeting=meeting)
    meeting.refresh_from_db()
    frozen = pack_build(meeting)
    assert frozen["frozen"] and frozen["meeting"]["status"] == "closed"
    before = _month_actual(frozen, "A")
    _face_a_figure(dt.date(YEAR, 10, 4), 7_777)
    meeting.refresh_from_db()
    assert _month_actual(pack_build(meeting), "A") == before


def test_the_adhoc_pack_shares_the_meetings_entry_and_follows_new_figures(group_meeting):
    meeting = group_meeting.meeting
    unit, start, end = meeting.unit, meeting.period_start, meeting.period_end
    built = pack_build(meeting)  # the meeting's pack fills the entry of its unit and period
    with CaptureQueriesContext(connection) as queries:
        adhoc = pack_for_cached(unit, start, end)
    assert len(queries) <= 5  # the version only
    assert adhoc["generated_at"] == built["generated_at"] and adhoc["meeting"] is None
    before = _month_actual(adhoc, "A")
    _face_a_figure(dt.date(YEAR, 10, 3), 5_000)
    assert _month_actual(pack_for_cached(unit, start, end), "A") == pytest.approx(
        before - (1_050 + 50 + 3) + 5_000
    )


def test_an_alarm_rebuilds_only_the_safety_section_of_its_own_subtrees_packs(group_meeting, monkeypatch):
    start, end = group_meeting.meeting.period_start, group_meeting.meeting.period_end
    company_a, company_b = Unit.objects.get(code="A"), Unit.objects.get(code="B")
    before_a, before_b = pack_for_cached(company_a, start, end), pack_for_cached(company_b, start, end)
    assert before_a["blocks"][0]["safety"]["alarms"] == 0
    bases: list[str] = []
    real_base = build._pack_base
    monkeypatch.setattr(
        build, "_pack_base", lambda unit, *rest: bases.append(unit.code) or real_base(unit, *rest)
    )
    external_raise(  # a person overdue underground at mine A-M1, within the period: an urgent alarm of A's
        site=Unit.objects.get(code="A-M1"),
        subject="presence:1",
        limit_code="person_overdue",
        priority="urgent",
        message="Nguyễn Văn An còn dưới lò quá giờ",
        now=dt.datetime(YEAR, 10, 10, 3, 0, tzinfo=dt.UTC),
    )
    with CaptureQueriesContext(connection) as queries:
        again_b = pack_for_cached(company_b, start, end)
    assert again_b == before_b and len(queries) <= 5  # B's pack straight from the cache: the version only
    after_a = pack_for_cached(company_a, start, end)
    assert after_a["blocks"][0]["safety"]["alarms"] == 1  # A's pack shows its new alarm at once
    assert after_a["blocks"][0]["safety"]["by_priority"]["urgent"] == 1
    assert bases == []  # from A's cached base: only the safety section (and the narrative) were built again
    assert after_a["blocks"][0]["production"] == before_a["blocks"][0]["production"]
