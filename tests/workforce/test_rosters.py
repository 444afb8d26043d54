"""Rosters: one person, one place per shift; the crew of a position replaced as a whole; last week copied;
scope on the position."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.workforce.models import RosterEntry
from headframe.workforce.services import roster_copy_week, roster_set
from tests.workforce.conftest import TODAY, roster


def crew(position, day=TODAY, shift=1) -> set[str]:
    return set(
        RosterEntry.objects.filter(position=position, day=day, shift=shift).values_list(
            "worker__employee_no", flat=True
        )
    )


def test_roster_set_replaces_the_crew_of_a_shift(wf):
    assert (
        roster_set(
            actor=wf.personnel_a,
            position_code="A-M1-K1-F1",
            day=TODAY,
            shift=1,
            employee_nos=["A001", "A002"],
        )
        == 2
    )
    assert crew(wf.a_m1_k1_f1) == {"A001", "A002"}
    assert (
        roster_set(
            actor=wf.personnel_a,
            position_code="A-M1-K1-F1",
            day=TODAY,
            shift=1,
            employee_nos=["A002", "A003"],
        )
        == 2
    )
    assert crew(wf.a_m1_k1_f1) == {"A002", "A003"}
    actions = sorted(
        AuditEntry.objects.filter(object_type="workforce.rosterentry").values_list("action", flat=True)
    )
    assert actions == ["create", "create", "create", "delete"]
    assert (
        roster_set(actor=wf.personnel_a, position_code="A-M1-K1-F1", day=TODAY, shift=1, employee_nos=[]) == 0
    )
    assert crew(wf.a_m1_k1_f1) == set()


def test_one_person_one_place_per_shift(wf):
    roster(wf.ann, wf.a_m1_k1_f2)
    with pytest.raises(Conflict) as caught:
        roster_set(
            actor=wf.personnel_a,
            position_code="A-M1-K1-F1",
            day=TODAY,
            shift=1,
            employee_nos=["A002", "A001"],
        )
    item = caught.value.items[0]
    assert caught.value.status == 409 and item.type == "roster_conflict"
    assert item.loc == ("body", "employee_nos", 1)
    assert "Nguyễn Văn An" in item.msg and "Unit A-M1-K1-F2" in item.msg and "10/02/2027" in item.msg
    assert crew(wf.a_m1_k1_f1) == set()  # nothing written
    # another shift of the same day is fine
    roster_set(actor=wf.personnel_a, position_code="A-M1-K1-F1", day=TODAY, shift=2, employee_nos=["A001"])


def test_a_roster_for_a_unit_outside_scope_is_refused(wf):
    with pytest.raises(NotFound):  # another company's position is not revealed
        roster_set(actor=wf.personnel_a, position_code="B-M1-K1-F1", day=TODAY, shift=1, employee_nos=[])
    with pytest.raises(PermissionDenied) as caught:  # visible, but the lamp room does not roster
        roster_set(actor=wf.lamp_a, position_code="A-M1-K1-F1", day=TODAY, shift=1, employee_nos=["A001"])
    assert caught.value.status == 403
    with pytest.raises(PermissionDenied):
        roster_copy_week(
            actor=wf.lamp_a, unit_code="A-M1", from_monday=dt.date(2027, 2, 1), to_monday=dt.date(2027, 2, 8)
        )
    assert not RosterEntry.objects.exists()


def test_another_companys_worker_cannot_be_rostered(wf):
    with pytest.raises(NotFound) as caught:
        roster_set(
            actor=wf.personnel_a,
            position_code="A-M1-K1-F1",
            day=TODAY,
            shift=1,
            employee_nos=["B001", "X9", "A001"],
        )
    assert [(i.type, i.loc[-1]) for i in caught.value.items] == [("unknown_worker", 0), ("unknown_worker", 1)]
    assert not RosterEntry.objects.exists()


def test_bad_roster_input(wf):
    with pytest.raises(ValidationFailed) as caught:
        roster_set(actor=wf.personnel_a, position_code="A-M1-K1", day=TODAY, shift=1, employee_nos=[])
    assert caught.value.items[0].type == "not_a_position"
    with pytest.raises(ValidationFailed) as caught:
        roster_set(actor=wf.personnel_a, position_code="A-M1-K1-F1", day=TODAY, shift=4, employee_nos=[])
    assert caught.value.items[0].type == "shift_range"
    with pytest.raises(ValidationFailed) as caught:
        roster_set(
            actor=wf.personnel_a,
            position_code="A-M1-K1-F1",
            day=TODAY,
            shift=1,
            employee_nos=["A001", "A001"],
        )
    assert caught.value.items[0].type == "duplicate"


def test_copy_last_week_keeps_what_is_there_and_skips_conflicts(wf):
    last_monday, monday = dt.date(2027, 2, 1), dt.date(2027, 2, 8)
    roster(wf.ann, wf.a_m1_k1_f1, last_monday, 1)
    roster(wf.binh, wf.a_m1_k1_f1, last_monday + dt.timedelta(days=2), 2)
    roster(wf.cuong, wf.a_m1_k1_f2, last_monday + dt.timedelta(days=6), 3)
    roster(wf.bob, wf.b_m1_k1_f1, last_monday, 1)  # another company: not copied
    roster(wf.binh, wf.a_m1_k1_f2, monday + dt.timedelta(days=2), 2)  # already placed: kept, the copy skipped
    copied = roster_copy_week(
        actor=wf.personnel_a, unit_code="A-M1", from_monday=last_monday, to_monday=monday
    )
    assert copied == 2
    assert (
        RosterEntry.objects.get(worker=wf.binh, day=monday + dt.timedelta(days=2)).position == wf.a_m1_k1_f2
    )
    assert RosterEntry.objects.filter(worker=wf.ann, day=monday, shift=1, position=wf.a_m1_k1_f1).exists()
    assert not RosterEntry.objects.filter(worker=wf.bob, day=monday).exists()
    # again: everything is already there
    assert (
        roster_copy_week(actor=wf.personnel_a, unit_code="A-M1", from_monday=last_monday, to_monday=monday)
        == 0
    )
    with pytest.raises(ValidationFailed) as caught:
        roster_copy_week(actor=wf.personnel_a, unit_code="A-M1", from_monday=last_monday, to_monday=TODAY)
    assert caught.value.items[0].type == "not_monday"
