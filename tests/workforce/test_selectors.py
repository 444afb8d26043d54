"""Who is underground now (positions from the roster, shift end from the mine's calendar, overdue after the
grace), the counts, the muster list, expiring certificates, and company A's people never shown to company B."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headframe.core.errors import NotFound
from headframe.production.models import ShiftCalendar
from headframe.workforce.models import Certificate
from headframe.workforce.selectors import (
    certificates_expiring,
    muster_list,
    underground_counts,
    underground_now,
    workers_visible,
)
from headframe.workforce.services import check_in
from tests.workforce.conftest import NOW, TODAY, roster


@pytest.fixture
def down(wf):
    """An and Bình at A-M1 (shift 1), Cường let down by the overman unrostered, Bảo at B-M1."""
    roster(wf.ann, wf.a_m1_k1_f1)
    roster(wf.binh, wf.a_m1_k1_f2)
    roster(wf.bob, wf.b_m1_k1_f1)
    check_in(actor=None, tag_no="T-A1", site_code="A-M1", at=NOW - dt.timedelta(hours=2))
    check_in(actor=None, tag_no="T-A2", site_code="A-M1", at=NOW - dt.timedelta(hours=1, minutes=50))
    check_in(actor=wf.overman_a, tag_no="T-A3", site_code="A-M1", at=NOW, override_reason="inspection")
    check_in(actor=None, tag_no="T-B1", site_code="B-M1", at=NOW)
    return wf


def test_who_is_underground_with_position_area_and_shift_end(down):
    rows = underground_now(down.lamp_a, now=NOW)
    assert [r.employee_no for r in rows] == ["A001", "A002", "A003"]
    ann = rows[0]
    assert ann.position == down.a_m1_k1_f1 and ann.area == down.a_m1_k1 and ann.site == down.a_m1
    assert ann.shift_end == NOW.replace(hour=14) and not ann.overdue
    cuong = rows[2]
    assert cuong.position is None and cuong.area == down.a_m1_k2 and cuong.overridden
    assert cuong.shift_end == NOW.replace(hour=14)  # the calendar shift he went down in


def test_overdue_after_the_shift_end_plus_grace(down, settings):
    settings.WORKFORCE_GRACE_MINUTES = 30
    at = NOW.replace(hour=14, minute=29)
    assert not any(r.overdue for r in underground_now(None, "A-M1", now=at))
    at = NOW.replace(hour=14, minute=31)
    assert [r.employee_no for r in underground_now(None, "A-M1", now=at) if r.overdue] == [
        "A001",
        "A002",
        "A003",
    ]
    settings.WORKFORCE_GRACE_MINUTES = 60
    assert not any(r.overdue for r in underground_now(None, "A-M1", now=at))


def test_the_shift_end_follows_the_mines_calendar(down):
    ShiftCalendar.objects.create(unit=down.a_m1, shift_count=2, shift_hours=12)
    rows = underground_now(None, "A-M1", now=NOW)
    assert rows[0].shift_end == NOW.replace(hour=18)


def test_company_b_sees_none_of_company_as_people(down):
    rows = underground_now(down.viewer_b, now=NOW)
    assert [r.employee_no for r in rows] == ["B001"]
    assert underground_counts(down.viewer_b) == {"B-M1": 1}
    with pytest.raises(NotFound):
        underground_now(down.viewer_b, "A-M1", now=NOW)
    with pytest.raises(NotFound):
        muster_list(down.viewer_b, "A-M1", now=NOW)
    assert set(workers_visible(down.viewer_b).values_list("employee_no", flat=True)) == {"B001"}
    assert set(workers_visible(down.personnel_a).values_list("employee_no", flat=True)) == {
        "A001",
        "A002",
        "A003",
    }
    assert {r.employee_no for r in certificates_expiring(down.viewer_b, 365, today=TODAY)} == {"B001"}


def test_counts_and_the_whole_group_in_few_queries(down):
    assert underground_counts(None) == {"A-M1": 3, "B-M1": 1}
    assert underground_counts(down.lamp_a) == {"A-M1": 3}
    with CaptureQueriesContext(connection) as queries:
        rows = underground_now(None, now=NOW)
    assert len(rows) == 4 and len(queries) <= 6  # a fixed number, not one per person


def test_the_muster_list_groups_by_area_and_position(down):
    muster = muster_list(down.lamp_a, "A-M1", now=NOW)
    assert muster.site == down.a_m1 and muster.total == 3 and muster.generated_at == NOW
    groups = [
        (area.code if area else None, position.code if position else None, [r.employee_no for r in rows])
        for area, position, rows in muster.groups
    ]
    assert groups == [
        ("A-M1-K1", "A-M1-K1-F1", ["A001"]),
        ("A-M1-K1", "A-M1-K1-F2", ["A002"]),
        ("A-M1-K2", None, ["A003"]),
    ]


def test_certificates_expiring_within_a_window_and_the_lapsed(wf):
    Certificate.objects.filter(worker=wf.ann).update(expires_on=TODAY + dt.timedelta(days=20))
    Certificate.objects.filter(worker=wf.binh).update(expires_on=TODAY - dt.timedelta(days=3))
    Certificate.objects.filter(worker=wf.cuong).update(expires_on=TODAY - dt.timedelta(days=3))
    Certificate.objects.create(
        worker=wf.cuong, course=wf.safety, passed_on=TODAY, expires_on=TODAY + dt.timedelta(days=365)
    )
    Certificate.objects.create(
        worker=wf.ann, course=wf.first_aid, passed_on=TODAY, expires_on=TODAY + dt.timedelta(days=75)
    )
    rows = certificates_expiring(wf.personnel_a, 30, today=TODAY)
    assert [(r.employee_no, r.course.code, r.days_left, r.lapsed) for r in rows] == [
        ("A002", "ATVSLD", -3, True),
        ("A001", "ATVSLD", 20, False),
    ]
    assert len(certificates_expiring(wf.personnel_a, 90, today=TODAY)) == 3
