"""The holiday calendar: group-wide days and a unit's own days, listed as they hold at a unit, added and
removed only by planners of the unit (of the group, for group-wide days), never in a closed month, audited;
the API and the page; the demo's national days."""

import datetime as dt

import pytest

from headframe.core.errors import Conflict, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.production import holidays, services
from headframe.production.demo import demo_holidays
from headframe.production.models import Holiday
from tests.factories import make_user

TET = dt.date(2026, 2, 17)
OWN = dt.date(2026, 3, 9)  # a day off of company A only


@pytest.fixture
def calendar(tree):
    Holiday.objects.create(day=TET, name="Tết Nguyên đán")
    Holiday.objects.create(day=OWN, name="Ngày truyền thống Công ty A", unit=Unit.objects.get(code="A"))
    Holiday.objects.create(day=dt.date(2026, 3, 16), name="Ngày truyền thống Công ty B", unit=tree.b)
    return tree


@pytest.fixture
def planner_a(tree):
    return make_user("planner_a", ("planner", "A"))


def days(rows) -> list[dt.date]:
    return [h.day for h in rows]


def test_a_unit_sees_the_group_days_and_those_of_the_units_above_it(calendar):
    assert days(holidays.holidays_at(2026, calendar.a_m1)) == [TET, OWN]
    assert days(holidays.holidays_at(2026, calendar.b_m1)) == [TET, dt.date(2026, 3, 16)]
    assert days(holidays.holidays_at(2026)) == [TET]
    assert holidays.holidays_at(2025, calendar.a) == []


def test_a_company_planner_adds_a_day_for_the_company_and_it_is_audited(calendar, planner_a):
    holiday = holidays.holiday_add(actor=planner_a, day=dt.date(2026, 5, 4), name="Nghỉ bù", unit_code="A")
    assert holiday.unit.code == "A"
    entry = AuditEntry.objects.get(object_type="production.holiday", object_id=str(holiday.pk))
    assert (entry.action, entry.actor, entry.unit_path) == ("create", planner_a, calendar.a.path)
    assert entry.after["day"] == "2026-05-04" and entry.after["unit"] == "A"


def test_a_company_planner_cannot_declare_a_group_day_nor_another_companys(calendar, planner_a):
    with pytest.raises(PermissionDenied):
        holidays.holiday_add(actor=planner_a, day=dt.date(2026, 5, 4), name="Nghỉ bù")
    with pytest.raises(ValidationFailed) as caught:  # B is outside A's view: answered as unknown
        holidays.holiday_add(actor=planner_a, day=dt.date(2026, 5, 4), name="Nghỉ bù", unit_code="B")
    assert caught.value.items[0].type == "unknown_unit"
    assert not Holiday.objects.filter(day=dt.date(2026, 5, 4)).exists()


def test_a_reporter_may_neither_add_nor_remove(calendar, users):
    with pytest.raises(PermissionDenied):
        holidays.holiday_add(actor=users.reporter_a, day=dt.date(2026, 5, 4), name="x", unit_code="A-M1")
    with pytest.raises(PermissionDenied):
        holidays.holiday_remove(actor=users.reporter_a, holiday=Holiday.objects.get(day=OWN))
    assert Holiday.objects.filter(day=OWN).exists()


def test_naming_the_group_means_the_whole_group(calendar, users):
    holiday = holidays.holiday_add(
        actor=users.planner_g, day=dt.date(2026, 9, 1), name="Quốc khánh", unit_code="G"
    )
    assert holiday.unit is None
    assert AuditEntry.objects.get(object_type="production.holiday").unit_path == calendar.group.path


def test_a_day_that_already_holds_is_a_conflict(calendar, users):
    with pytest.raises(Conflict) as caught:
        holidays.holiday_add(actor=users.planner_g, day=TET, name="again", unit_code="A-M1")
    assert caught.value.items[0].type == "holiday_exists"


def test_no_holiday_changes_a_closed_month(calendar, users, planner_a):
    services.period_lock(actor=users.planner_g, unit_code="A-M1", month=dt.date(2026, 5, 1))
    with pytest.raises(Conflict) as caught:  # a company day would change A-M1's closed May plans
        holidays.holiday_add(actor=planner_a, day=dt.date(2026, 5, 4), name="Nghỉ bù", unit_code="A")
    assert caught.value.items[0].type == "month_locked"
    with pytest.raises(Conflict):  # so would a group day
        holidays.holiday_add(actor=users.planner_g, day=dt.date(2026, 5, 4), name="Nghỉ bù")
    holidays.holiday_add(actor=users.planner_g, day=dt.date(2026, 5, 4), name="Nghỉ bù", unit_code="B")


def test_removing_is_audited_with_what_was_removed(calendar, planner_a):
    holiday = Holiday.objects.get(day=OWN)
    holidays.holiday_remove(actor=planner_a, holiday=holiday)
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    entry = AuditEntry.objects.get(object_type="production.holiday", action="delete")
    assert entry.before["name"] == "Ngày truyền thống Công ty A" and entry.unit_path == calendar.a.path


def test_a_unit_holiday_moves_that_units_plan_only(calendar, users):
    from headframe.production import selectors

    for code in ("A-M1", "B-M1"):
        services.plan_version_create(
            actor=None,
            unit_code=code,
            year=2026,
            effective_from=dt.date(2026, 1, 1),
            values={"raw_coal_t": 31000},
        )
    holidays.holiday_add(actor=users.planner_g, day=dt.date(2026, 1, 20), name="Nghỉ", unit_code="A-M1")
    raw = selectors.indicators_by_codes(["raw_coal_t"])
    a = selectors.unit_summary(calendar.a_m1, dt.date(2026, 1, 20), raw)[0]
    b = selectors.unit_summary(calendar.b_m1, dt.date(2026, 1, 20), raw)[0]
    assert a.day.plan in (None, 0) and b.day.plan > 0


# --- API ------------------------------------------------------------------------------------------------


def test_api_lists_a_units_year(calendar, users, api):
    response = api(users.viewer_a).get("/api/v1/production/holidays", year=2026, unit="A-M1")
    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "id": Holiday.objects.get(day=TET).pk,
            "day": "2026-02-17",
            "name": "Tết Nguyên đán",
            "unit": None,
            "scope": "group",
        },
        {
            "id": Holiday.objects.get(day=OWN).pk,
            "day": "2026-03-09",
            "name": "Ngày truyền thống Công ty A",
            "unit": "A",
            "scope": "unit",
        },
    ]
    assert api(users.viewer_a).get("/api/v1/production/holidays", year=2026, unit="B").status_code == 404
    assert api(users.viewer_a).get("/api/v1/production/holidays", year=20260).status_code == 422


def test_api_adds_and_removes_for_planners_only(calendar, users, api, planner_a):
    body = {"day": "2026-05-04", "name": "Nghỉ bù", "unit": "A"}
    assert api(users.viewer_a).post("/api/v1/production/holidays", body).status_code == 403
    response = api(planner_a).post("/api/v1/production/holidays", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["unit"], created["scope"]) == ("A", "unit")
    assert api(planner_a).post("/api/v1/production/holidays", body).status_code == 409
    assert AuditEntry.objects.get(object_type="production.holiday", action="create").channel == "api"


def test_api_delete(calendar, users, api, client, token_for, planner_a):
    own_b = Holiday.objects.get(day=dt.date(2026, 3, 16))
    headers = token_for(planner_a)
    assert (
        client.delete(f"/api/v1/production/holidays/{own_b.pk}", **headers).status_code == 404
    )  # not revealed
    tet = Holiday.objects.get(day=TET)
    assert client.delete(f"/api/v1/production/holidays/{tet.pk}", **headers).status_code == 403
    own_a = Holiday.objects.get(day=OWN)
    assert client.delete(f"/api/v1/production/holidays/{own_a.pk}", **headers).status_code == 204
    assert not Holiday.objects.filter(pk=own_a.pk).exists()
    assert client.delete(f"/api/v1/production/holidays/{own_a.pk}", **headers).status_code == 404


# --- page -----------------------------------------------------------------------------------------------


def test_page_lists_the_group_and_company_days_with_remove_for_planners(calendar, client, planner_a, users):
    client.force_login(planner_a)
    html = client.get("/production/holidays/?year=2026").content.decode()
    assert "17/02/2026" in html and "09/03/2026" in html and "16/03/2026" not in html
    assert 'data-testid="remove-2026-03-09"' in html and 'data-testid="remove-2026-02-17"' not in html
    assert 'data-testid="holiday-form"' in html
    assert "year=2025" in html and "year=2027" in html and 'name="year" value="2026"' in html  # not 2.026
    client.force_login(users.viewer_a)
    html = client.get("/production/holidays/?year=2026").content.decode()
    assert "09/03/2026" in html and 'data-testid="remove-' not in html and "holiday-form" not in html


def test_page_adds_and_removes(calendar, client, planner_a):
    client.force_login(planner_a)
    response = client.post(
        "/production/holidays/",
        {"unit": "A", "action": "add", "day": "04/05/2026", "name": "Nghỉ bù", "scope": "unit"},
    )
    assert response.status_code == 302
    holiday = Holiday.objects.get(day=dt.date(2026, 5, 4))
    assert holiday.unit.code == "A"
    assert AuditEntry.objects.get(object_type="production.holiday", action="create").channel == "web"
    client.post("/production/holidays/", {"unit": "A", "action": "remove", "holiday": holiday.pk})
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    # a group day from a company planner is refused with a message, nothing stored
    response = client.post(
        "/production/holidays/",
        {"unit": "A", "action": "add", "day": "05/05/2026", "name": "x", "scope": "group"},
        follow=True,
    )
    assert not Holiday.objects.filter(day=dt.date(2026, 5, 5)).exists()
    assert "planner" in response.content.decode()


# --- demo -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "hung_kings", "second_national_day"),
    [
        (2021, dt.date(2021, 4, 21), dt.date(2021, 9, 3)),
        (2022, dt.date(2022, 4, 10), dt.date(2022, 9, 1)),
        (2023, dt.date(2023, 4, 29), dt.date(2023, 9, 1)),
        (2024, dt.date(2024, 4, 18), dt.date(2024, 9, 3)),
        (2025, dt.date(2025, 4, 7), dt.date(2025, 9, 1)),
        (2026, dt.date(2026, 4, 26), dt.date(2026, 9, 1)),
    ],
)
def test_demo_holidays_include_the_hung_kings_and_two_national_days(year, hung_kings, second_national_day):
    listed = dict(demo_holidays(year))
    assert "Hùng Vương" in listed[hung_kings]
    assert dt.date(year, 9, 2) in listed and second_national_day in listed
    assert len(listed) == len(demo_holidays(year))  # no day twice
    assert [d for d, _ in demo_holidays(year)] == sorted(listed)


def test_the_second_national_day_is_next_to_the_second_of_september():
    from headframe.production.demo import NATIONAL_DAY_SECOND

    assert dt.date(2027, 4, 16) in dict(demo_holidays(2027))
    assert all(abs((d - dt.date(y, 9, 2)).days) == 1 for y, d in NATIONAL_DAY_SECOND.items())
