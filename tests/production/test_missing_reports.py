"""Missing reports: before a day's deadline (the unit's calendar) nothing is missing yet; after it, a site has
reported only when every one of its reporting units (positions, else areas, else itself) has."""

import datetime as dt

import pytest

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit
from headframe.production.models import ShiftCalendar
from headframe.production.selectors.reporting import missing_reports
from tests.factories import make_unit

DAY = dt.date(2026, 3, 10)
BEFORE = dt.datetime(2026, 3, 11, 7, 30, tzinfo=LOCAL_TZ)  # before 08:00 the next morning
AFTER = dt.datetime(2026, 3, 11, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def faces(mines):
    """A-M1 has two faces under K1 (F1, F2); B-M1 one (B-M1-K1-F1); B-OP one bench."""
    make_unit("A-M1-K1-F2", "position", "A-M1-K1")
    return mines


def report(put, *codes, day=DAY, now=BEFORE):
    put(*[(code, "raw_coal_t", day, 0, 100) for code in codes], now=now)


def states(now, day=DAY, root="G") -> dict:
    return {
        m.unit.code: (m.state, m.reported, m.expected)
        for m in missing_reports(Unit.objects.get(code=root), day, now=now)
    }


def test_before_the_deadline_a_site_without_figures_is_not_due_yet(faces, put):
    report(put, "B-M1-K1-F1")
    assert states(BEFORE) == {"A-M1": ("not_due", 0, 2), "B-OP": ("not_due", 0, 1)}


def test_after_the_deadline_a_site_without_figures_is_missing(faces, put):
    report(put, "B-M1-K1-F1")
    assert states(AFTER) == {"A-M1": ("missing", 0, 2), "B-OP": ("missing", 0, 1)}


def test_one_face_of_two_is_a_partial_report_not_a_report(faces, put):
    report(put, "A-M1-K1-F1", "B-M1-K1-F1", "B-OP-CT-T1")
    assert states(AFTER) == {"A-M1": ("partial", 1, 2)}
    assert states(BEFORE) == {"A-M1": ("not_due", 1, 2)}
    report(put, "A-M1-K1-F2")
    assert states(AFTER) == {}


def test_a_site_whose_faces_all_reported_but_one_late_is_late(faces, put):
    report(put, "A-M1-K1-F1", "B-M1-K1-F1", "B-OP-CT-T1")
    report(put, "A-M1-K1-F2", now=AFTER)
    [m] = missing_reports(Unit.objects.get(code="G"), DAY, now=AFTER)
    assert (m.unit.code, m.state, m.late, m.reported, m.expected) == ("A-M1", "late", True, 2, 2)


def test_the_deadline_follows_the_sites_calendar(faces, put):
    ShiftCalendar.objects.create(unit=Unit.objects.get(code="A"), late_grace_minutes=240)  # due 10:00
    report(put, "B-M1-K1-F1", "B-OP-CT-T1")
    [m] = missing_reports(Unit.objects.get(code="G"), DAY, now=AFTER)
    assert (m.unit.code, m.state) == ("A-M1", "not_due")
    assert m.deadline == dt.datetime(2026, 3, 11, 10, 0, tzinfo=LOCAL_TZ)


def test_positions_that_never_report_are_not_expected(faces, put):
    make_unit("A-M1-K1-P1", "position", "A-M1-K1", position_kind="pump_station")
    for back in (1, 2):
        report(put, "A-M1-K1-F1", "A-M1-K1-F2", "B-M1-K1-F1", "B-OP-CT-T1", day=DAY - dt.timedelta(days=back))
    report(put, "A-M1-K1-F1", "A-M1-K1-F2", "B-M1-K1-F1")
    assert states(AFTER) == {"B-OP": ("missing", 0, 1)}


def test_the_api_gives_state_counts_and_deadline(faces, users, api, put):
    report(put, "A-M1-K1-F1", "B-M1-K1-F1")
    rows = (
        api(users.planner_g).get("/api/v1/production/missing-reports", unit="G", date=DAY.isoformat()).json()
    )
    by_unit = {r["unit"]: r for r in rows}
    assert set(by_unit) == {"A-M1", "B-OP"}
    a = by_unit["A-M1"]
    assert (a["state"], a["reported"], a["expected"], a["late"]) == ("partial", 1, 2, False)
    assert a["last_reported"] == DAY.isoformat()
    assert dt.datetime.fromisoformat(a["deadline"]) == dt.datetime(2026, 3, 11, 8, 0, tzinfo=LOCAL_TZ)
    assert by_unit["B-OP"]["state"] == "missing"


def test_todays_sites_are_not_due_on_the_page(faces, users, client):
    import time_machine

    client.force_login(users.planner_g)
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, 0, tzinfo=LOCAL_TZ), tick=False):
        page = client.get("/production/u/G/?date=10/03/2026").content.decode()
    assert 'data-state="not_due"' in page and 'data-state="missing"' not in page
    assert "chưa đến hạn" in page
    assert "0 / 2" in page
