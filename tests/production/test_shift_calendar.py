"""The unit's shift calendar (its own, else the nearest ancestor's, else 3 × 8 h from 06:00 with 120 min of
grace) decides the production day of a moment, the shifts a unit may report and when a day's figures are late."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from headframe.core.errors import ValidationFailed
from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit
from headframe.production.calendar import ShiftPattern
from headframe.production.models import Actual, ShiftCalendar
from headframe.production.selectors.reporting import (
    calendar_for,
    calendars_for,
    late_deadline,
    production_day,
)

DAY = dt.date(2026, 3, 10)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


NEXT = DAY + dt.timedelta(days=1)


def calendar(code: str, **fields) -> ShiftCalendar:
    return ShiftCalendar.objects.create(unit=Unit.objects.get(code=code), **fields)


def test_without_a_calendar_the_default_is_three_shifts_from_six_and_late_after_eight(mines):
    pattern = calendar_for(Unit.objects.get(code="A-M1-K1-F1"))
    assert pattern == ShiftPattern(3, dt.time(6, 0), 8, 120)
    assert late_deadline(pattern, DAY) == local(NEXT, 8)


def test_the_nearest_calendar_up_the_tree_wins(mines):
    calendar("A", shift_count=2, shift_hours=12, first_shift_start=dt.time(7, 0), late_grace_minutes=30)
    calendar("A-M1", shift_count=4, shift_hours=6, first_shift_start=dt.time(5, 0), late_grace_minutes=240)
    units = {u.code: u for u in Unit.objects.filter(code__in=["A", "A-M1-K1-F1", "B-M1-K1-F1"])}
    patterns = calendars_for(units.values())
    assert patterns[units["A"].pk].shift_count == 2
    assert patterns[units["A-M1-K1-F1"].pk] == ShiftPattern(4, dt.time(5, 0), 6, 240)
    assert late_deadline(units["A-M1-K1-F1"], DAY) == local(NEXT, 9)  # 05:00 + 240 min
    assert late_deadline(units["A"], DAY) == local(NEXT, 7, 30)  # 07:00 + 30 min
    assert late_deadline(units["B-M1-K1-F1"], DAY) == local(NEXT, 8)


def test_a_moment_belongs_to_the_production_day_of_the_shift_it_falls_in(mines):
    calendar("A", shift_count=2, shift_hours=12, first_shift_start=dt.time(7, 0))
    face_a, face_b = Unit.objects.get(code="A-M1-K1-F1"), Unit.objects.get(code="B-M1-K1-F1")
    assert production_day(face_a, local(NEXT, 6, 30)) == (DAY, 2)  # night shift 19:00–07:00
    assert production_day(face_a, local(NEXT, 7, 0)) == (NEXT, 1)
    assert production_day(face_b, local(NEXT, 1, 30)) == (DAY, 3)  # default: 22:00–06:00


def test_lateness_follows_each_units_calendar_in_one_batch(mines, put):
    calendar("A-M1", shift_count=3, shift_hours=8, first_shift_start=dt.time(5, 0), late_grace_minutes=30)
    calendar("B", shift_count=3, shift_hours=8, first_shift_start=dt.time(6, 0), late_grace_minutes=180)
    result = put(
        ("A-M1-K1-F1", "raw_coal_t", DAY, 1, 10),  # due 05:30: late
        ("B-M1-K1-F1", "raw_coal_t", DAY, 1, 10),  # due 09:00: on time
        ("B-OP-CT-T1", "raw_coal_t", DAY, 1, 10),  # B's calendar too
        now=local(NEXT, 7, 0),
    )
    assert result.late == 1
    late = dict(Actual.objects.values_list("unit__code", "is_late"))
    assert late == {"A-M1-K1-F1": True, "B-M1-K1-F1": False, "B-OP-CT-T1": False}


def test_a_shift_beyond_the_units_calendar_is_refused(mines, put):
    calendar("A-M1", shift_count=2, shift_hours=12)
    with pytest.raises(ValidationFailed) as err:
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 3, 10))
    assert err.value.items[0].type == "shift_range" and err.value.items[0].loc == ("body", 0, "shift")
    calendar("B", shift_count=4, shift_hours=6)
    assert put(("B-M1-K1-F1", "raw_coal_t", DAY, 4, 10)).created == 1


def test_the_entry_form_has_one_row_per_shift_of_the_calendar(client, users, mines):
    calendar("A", shift_count=2, shift_hours=12)
    client.force_login(users.reporter_a)
    page = client.get("/production/entry/?unit=A-M1-K1-F1&date=10/03/2026").content.decode()
    assert 'name="v-2-raw_coal_t"' in page and 'name="v-3-raw_coal_t"' not in page


def test_a_calendar_that_does_not_cover_a_day_is_refused(mines):
    with pytest.raises(ValidationError):
        ShiftCalendar(unit=Unit.objects.get(code="A"), shift_count=3, shift_hours=6).full_clean()


def test_the_admin_refuses_a_calendar_that_does_not_cover_a_day_and_audits_a_good_one(client, users, mines):
    from headframe.core.models import AuditEntry

    client.force_login(users.admin_a)
    site = Unit.objects.get(code="A-M1")
    form = {
        "unit": site.pk,
        "shift_count": 3,
        "shift_hours": 6,
        "first_shift_start": "06:00",
        "late_grace_minutes": 120,
    }
    response = client.post("/admin/production/shiftcalendar/add/", form)
    assert response.status_code == 200 and not ShiftCalendar.objects.exists()
    assert "24" in response.content.decode()
    response = client.post("/admin/production/shiftcalendar/add/", {**form, "shift_hours": 8})
    assert response.status_code == 302
    assert ShiftCalendar.objects.get().unit == site
    assert AuditEntry.objects.filter(object_type="production.shiftcalendar", action="create").exists()


def test_a_company_admin_cannot_give_another_company_a_calendar(client, users, mines):
    client.force_login(users.admin_a)
    form = {
        "unit": Unit.objects.get(code="B-M1").pk,
        "shift_count": 3,
        "shift_hours": 8,
        "first_shift_start": "06:00",
        "late_grace_minutes": 120,
    }
    client.post("/admin/production/shiftcalendar/add/", form)
    assert not ShiftCalendar.objects.exists()


def test_a_calendar_deleted_in_the_admin_is_audited_with_its_last_values(client, users, mines):
    from headframe.core.models import AuditEntry

    calendar = ShiftCalendar.objects.create(
        unit=Unit.objects.get(code="A-M1"), shift_count=3, shift_hours=8, first_shift_start=dt.time(6, 0)
    )
    client.force_login(users.admin_a)
    response = client.post(f"/admin/production/shiftcalendar/{calendar.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not ShiftCalendar.objects.exists()
    entry = AuditEntry.objects.get(object_type="production.shiftcalendar", action="delete")
    assert entry.unit_path == Unit.objects.get(code="A-M1").path and entry.before["shift_hours"] == 8
