"""One reporting level per indicator and subtree: a figure of an indicator for a unit is refused when figures
of that indicator, in the same calendar year, exist at an ancestor or a descendant of the unit."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import Workbook

from headframe.core.errors import ValidationFailed
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.excel import import_actuals_workbook
from headframe.production.models import Actual, DailyTotal, Indicator, MonthlyTotal
from headframe.production.selectors.reporting import reporting_level_errors

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 11, 0, 30, tzinfo=dt.UTC)


def refused(put, *rows):
    with pytest.raises(ValidationFailed) as err:
        put(*rows, now=NOW)
    return err.value.items


def test_a_company_site_and_face_cannot_all_report_the_same_coal(mines, put):
    put(("A", "raw_coal_t", DAY, 0, 100_000), now=NOW)
    assert [i.type for i in refused(put, ("A-M1", "raw_coal_t", DAY, 0, 60_000))] == ["reporting_level"]
    assert [i.type for i in refused(put, ("A-M1-K1-F1", "raw_coal_t", DAY, 0, 60_000))] == ["reporting_level"]
    group_day = DailyTotal.objects.filter(day=DAY, indicator__code="raw_coal_t").aggregate(s=Sum("value"))[
        "s"
    ]
    assert group_day == Decimal(100_000)
    assert list(Actual.objects.values_list("unit__code", flat=True)) == ["A"]


def test_the_refusal_names_the_unit_where_the_subtree_already_reports(mines, put):
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 500), now=NOW)
    [item] = refused(put, ("A-M1", "raw_coal_t", DAY - dt.timedelta(days=3), 0, 900))
    assert item.loc == ("body", 0, "unit")
    assert "Unit A-M1-K1-F1 (A-M1-K1-F1)" in item.msg and "Unit A-M1" in item.msg
    with translation.override("vi"):
        assert "Đơn vị A-M1-K1-F1 (A-M1-K1-F1)" in item.text and "Đơn vị A-M1" in item.text
        assert "Than nguyên khai" in item.text


def test_a_batch_giving_two_levels_is_refused_whole(mines, put):
    items = refused(put, ("A-M1-K1-F1", "raw_coal_t", DAY, 0, 1), ("A-M1-K1", "raw_coal_t", DAY, 0, 1))
    assert [(i.loc, i.type) for i in items] == [
        (("body", 0, "unit"), "reporting_level"),
        (("body", 1, "unit"), "reporting_level"),
    ]
    assert not Actual.objects.exists()


def test_other_years_other_indicators_and_siblings_are_free(mines, put):
    put(("A-M1", "raw_coal_t", DAY, 0, 900), now=NOW)
    put(
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2025, 12, 31), 0, 10),  # another calendar year
        ("A-M1-K1-F1", "roadway_m", DAY, 0, 5),  # another indicator
        ("B-M1-K1-F1", "raw_coal_t", DAY, 0, 700),  # another subtree
        now=NOW,
    )
    put(("A-M1", "raw_coal_t", DAY, 0, 950), now=NOW)  # a correction at the same unit
    assert Actual.objects.get(unit__code="A-M1", indicator__code="raw_coal_t").value == Decimal(950)


@pytest.fixture
def api_put(client, token_for):
    def call(user, url, data):
        return client.put(url, json.dumps(data), content_type="application/json", **token_for(user))

    return call


def test_the_api_refuses_with_the_row_named(mines, users, api_put):
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("A-M1", "raw_coal_t", DAY, 0, 900)], source="api", now=NOW
    )
    rows = [
        {"unit": "A-M1-K2", "indicator": "man_shifts", "day": DAY.isoformat(), "shift": 0, "value": 40},
        {"unit": "A-M1-K1-F1", "indicator": "raw_coal_t", "day": DAY.isoformat(), "shift": 1, "value": 300},
    ]
    response = api_put(users.planner_g, "/api/v1/production/actuals", {"rows": rows})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["body", "rows", 1, "unit"] and item["type"] == "reporting_level"
    assert "(A-M1)" in item["msg"]
    assert not Actual.objects.filter(unit__code="A-M1-K2").exists()


def test_the_entry_form_shows_the_refusal(client, users, mines):
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("A-M1", "raw_coal_t", DAY, 0, 900)], source="api", now=NOW
    )
    client.force_login(users.reporter_a)
    response = client.post(
        "/production/entry/", {"unit": "A-M1-K1-F1", "date": "10/03/2026", "v-1-raw_coal_t": "300"}
    )
    assert response.status_code == 422
    assert "(A-M1)" in response.content.decode()
    assert not Actual.objects.filter(unit__code="A-M1-K1-F1").exists()


def test_the_excel_import_names_the_row_and_unit_column(mines):
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("A-M1", "raw_coal_t", DAY, 0, 900)], source="api", now=NOW
    )
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    ws.append(["B-M1-K1-F1", DAY, 0, 10])
    ws.append(["A-M1-K1-F1", DAY, 0, 20])
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(ValidationFailed) as err:
        import_actuals_workbook(actor=None, file=buffer.getvalue(), now=NOW)
    [item] = err.value.items
    assert item.loc == ("Số liệu", 3, "A") and item.type == "reporting_level"
    assert Actual.objects.count() == 1


def test_the_check_is_one_query_whatever_the_batch(mines, put):
    put(("A-M1", "raw_coal_t", DAY, 0, 900), now=NOW)
    units = {u.code: u for u in Unit.objects.all()}
    raw, road = Indicator.objects.get(code="raw_coal_t"), Indicator.objects.get(code="roadway_m")
    rows = [
        (units[code], indicator, DAY - dt.timedelta(days=n), 0, Decimal(1), ("body", n))
        for n in range(60)
        for code, indicator in (("A-M1-K1-F1", raw), ("B-M1-K1-F1", road), ("B-OP-CT-T1", raw))
    ]
    with CaptureQueriesContext(connection) as queries:
        errors = reporting_level_errors(rows)
    assert len(queries) == 1
    assert {e.loc[1] for e in errors} == set(range(60))  # only the A-M1-K1-F1 rows


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from headframe.production.demo import load_production_demo
    from tests.demo_snapshot import demo_database

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        demo_database()
        load_production_demo(today=dt.date(2026, 2, 10), years=1)
        yield
        transaction.set_rollback(True)


def test_the_demo_reports_each_indicator_at_one_level(demo, db):
    levels: dict[tuple, set[str]] = {}
    for indicator, month, path in MonthlyTotal.objects.values_list("indicator__code", "month", "unit__path"):
        levels.setdefault((indicator, month.year), set()).add(path)
    assert levels
    for key, paths in levels.items():
        nested = [(a, b) for a in paths for b in paths if a != b and b.startswith(a)]
        assert not nested, (key, nested[:3])
