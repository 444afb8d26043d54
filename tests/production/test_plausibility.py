"""Plausible ranges: impossible values are refused; implausible ones (above a per-shift/per-day bound or
3 × the unit's best of the last 90 days) are stored only when the person confirms them, and that is audited.
Planners edit the ranges (API, admin); a unit's range replaces the everywhere-range in its subtree."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import Workbook

from headframe.core.errors import ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.excel import import_actuals_workbook
from headframe.production.models import Actual, Indicator, PlausibleRange

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 11, 0, 30, tzinfo=dt.UTC)


def history(put, unit="A-M1-K1-F1", indicator="raw_coal_t", value=100, shift=0, days=5):
    put(*[(unit, indicator, DAY - dt.timedelta(days=n), shift, value) for n in range(1, days + 1)], now=NOW)


def refused(put, *rows):
    with pytest.raises(ValidationFailed) as err:
        put(*rows, now=NOW)
    return err.value.items


@pytest.fixture
def api_put(client, token_for):
    def call(user, url, data):
        return client.put(url, json.dumps(data), content_type="application/json", **token_for(user))

    return call


def test_the_seeded_ranges(db):
    ranges = {
        r.indicator.code: r for r in PlausibleRange.objects.filter(unit=None).select_related("indicator")
    }
    assert (ranges["ash_pct"].impossible_below, ranges["ash_pct"].impossible_above) == (0, 100)
    assert ranges["raw_coal_t"].best_multiple == 3 and ranges["roadway_m"].best_multiple == 3
    for code in ("raw_coal_t", "clean_coal_t", "coal_sold_t", "overburden_m3", "roadway_m"):
        assert ranges[code].impossible_below == 0
    assert ranges["overburden_m3"].best_multiple is None


def test_an_ash_content_above_100_percent_is_impossible(mines, put):
    [item] = refused(put, ("A-M1", "ash_pct", DAY, 0, "100.5"))
    assert (item.loc, item.type) == (("body", 0, "value"), "impossible")
    assert not Actual.objects.exists()
    put(("A-M1", "ash_pct", DAY, 0, 100), now=NOW)


def test_a_negative_figure_is_refused_once_whatever_the_ranges(mines, put):
    PlausibleRange.objects.all().delete()
    [item] = refused(put, ("A-M1-K2", "man_shifts", DAY, 0, -1))
    assert item.type == "negative"


def test_a_day_above_three_times_the_best_day_needs_a_confirmation(mines, put):
    history(put)
    [item] = refused(put, ("A-M1-K1-F1", "raw_coal_t", DAY, 0, 301))
    assert (item.loc, item.type) == (("body", 0, "value"), "implausible")
    assert "90" in item.msg
    assert not Actual.objects.filter(day=DAY).exists()
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 300), now=NOW)  # 3 × 100 is still plausible


def test_a_confirmed_implausible_figure_is_stored_and_audited_as_confirmed(mines, put):
    history(put)
    row = services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 0, 5000, ("body", 0), confirm_implausible=True)
    result = services.actuals_upsert(actor=None, rows=[row], source="api", now=NOW)
    assert (result.created, result.confirmed) == (1, 1)
    actual = Actual.objects.get(day=DAY)
    entry = AuditEntry.objects.get(object_type="production.actual", object_id=str(actual.pk))
    assert entry.after["implausible_confirmed"] is True and entry.after["value"] == "5000"
    # Re-sending the same figure, unconfirmed, changes nothing and is not refused.
    assert put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 5000), now=NOW).unchanged == 1


def test_shift_figures_are_judged_against_the_best_shift(mines, put):
    history(put, value=50, shift=1)
    [item] = refused(put, ("A-M1-K1-F1", "raw_coal_t", DAY, 1, 151))
    assert item.type == "implausible"
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 2, 150), now=NOW)


def test_without_history_only_fixed_bounds_hold(mines, put):
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 1_000_000), now=NOW)


def test_a_units_range_replaces_the_everywhere_range_in_its_subtree(mines, put):
    history(put)
    history(put, unit="B-M1-K1-F1")
    PlausibleRange.objects.create(
        indicator=Indicator.objects.get(code="raw_coal_t"), unit=Unit.objects.get(code="A-M1"), day_above=1000
    )
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 900), now=NOW)  # no best-of-90-days rule at A-M1
    items = refused(
        put, ("A-M1-K1-F1", "raw_coal_t", DAY, 0, 1001), ("B-M1-K1-F1", "raw_coal_t", DAY, 0, 301)
    )
    assert [(i.loc[1], i.type) for i in items] == [(0, "implausible"), (1, "implausible")]


def test_the_api_refuses_an_implausible_row_until_it_is_confirmed(mines, users, put, api_put):
    history(put)
    row = {"unit": "A-M1-K1-F1", "indicator": "raw_coal_t", "day": DAY.isoformat(), "shift": 0, "value": 900}
    response = api_put(users.planner_g, "/api/v1/production/actuals", {"rows": [row]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "rows", 0, "value"]
    assert response.json()["detail"][0]["type"] == "implausible"
    response = api_put(
        users.planner_g, "/api/v1/production/actuals", {"rows": [{**row, "confirm_implausible": True}]}
    )
    assert response.status_code == 200 and response.json()["confirmed"] == 1
    assert Actual.objects.get(day=DAY).value == Decimal(900)


def test_the_entry_form_warns_keeps_the_value_and_stores_it_once_confirmed(client, users, mines, put):
    history(put, value=100, shift=1)
    client.force_login(users.reporter_a)
    form = {"unit": "A-M1-K1-F1", "date": "10/03/2026", "v-1-raw_coal_t": "900", "v-2-raw_coal_t": "80"}
    response = client.post("/production/entry/", form)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-testid="warning-v-1-raw_coal_t"' in page and 'name="confirm-v-1-raw_coal_t"' in page
    assert 'value="900"' in page and 'value="80"' in page
    assert not Actual.objects.filter(day=DAY).exists()
    response = client.post("/production/entry/", {**form, "confirm-v-1-raw_coal_t": "900"})
    assert response.status_code == 302
    assert dict(Actual.objects.filter(day=DAY).values_list("shift", "value")) == {1: 900, 2: 80}


def test_a_confirmation_of_another_value_does_not_count(client, users, mines, put):
    history(put, value=100, shift=1)
    client.force_login(users.reporter_a)
    form = {
        "unit": "A-M1-K1-F1",
        "date": "10/03/2026",
        "v-1-raw_coal_t": "9000",
        "confirm-v-1-raw_coal_t": "900",
    }
    assert client.post("/production/entry/", form).status_code == 422
    assert not Actual.objects.filter(day=DAY).exists()


def workbook(*rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_the_excel_import_names_implausible_cells_and_takes_them_when_confirmed(mines, put):
    history(put)
    content = workbook(("B-M1-K1-F1", DAY, 0, 50), ("A-M1-K1-F1", DAY, 0, 900))
    with pytest.raises(ValidationFailed) as err:
        import_actuals_workbook(actor=None, file=content, now=NOW)
    [item] = err.value.items
    assert (item.loc, item.type) == (("Số liệu", 3, "D"), "implausible")
    assert not Actual.objects.filter(day=DAY).exists()
    result = import_actuals_workbook(actor=None, file=content, now=NOW, confirm_implausible=True)
    assert (result.created, result.confirmed) == (2, 1)


def test_the_import_page_offers_the_confirmation(client, users, mines, put):
    history(put)
    client.force_login(users.reporter_a)
    upload = io.BytesIO(workbook(("A-M1-K1-F1", DAY, 0, 900)))
    upload.name = "f.xlsx"
    response = client.post("/production/import/", {"file": upload})
    assert response.status_code == 422 and 'name="confirm_implausible"' in response.content.decode()
    upload.seek(0)
    response = client.post("/production/import/", {"file": upload, "confirm_implausible": "on"})
    assert response.status_code == 200
    assert Actual.objects.get(day=DAY).value == Decimal(900)


def test_planners_list_and_set_ranges_in_their_scope(mines, users, api, api_put):
    url = "/api/v1/production/plausible-ranges"
    body = {"indicator": "raw_coal_t", "unit": "A-M1", "shift_above": 800, "day_above": 2000}
    assert api_put(users.reporter_a, url, body).status_code == 403
    response = api_put(users.admin_a, url, body)
    assert response.status_code == 200, response.content
    assert response.json()["day_above"] == 2000 and response.json()["best_multiple"] is None
    assert api_put(users.admin_a, url, {**body, "unit": None}).status_code == 403  # everywhere: group rights
    assert api_put(users.admin_a, url, {**body, "unit": "B-M1"}).status_code == 422  # not in view
    everywhere = {"indicator": "roadway_m", "unit": None, "impossible_below": 0, "best_multiple": 4}
    assert api_put(users.planner_g, url, everywhere).status_code == 200
    assert PlausibleRange.objects.get(unit=None, indicator__code="roadway_m").best_multiple == 4
    bad = api_put(users.planner_g, url, {**everywhere, "impossible_below": 10, "impossible_above": 5})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "impossible_above"]
    listed = api(users.viewer_a).get(url).json()
    assert {(r["indicator"], r["unit"]) for r in listed} >= {("raw_coal_t", "A-M1"), ("roadway_m", None)}
    assert all(r["unit"] in (None, "A-M1") for r in listed)
    assert AuditEntry.objects.filter(object_type="production.plausiblerange").count() == 2


def test_company_admins_edit_their_ranges_in_the_admin_but_not_everywhere_ones(client, users, mines):
    client.force_login(users.admin_a)
    form = {"indicator": Indicator.objects.get(code="raw_coal_t").pk, "day_above": "5000"}
    response = client.post("/admin/production/plausiblerange/add/", {**form, "unit": ""})
    assert response.status_code == 200 and not PlausibleRange.objects.filter(day_above=5000).exists()
    response = client.post(
        "/admin/production/plausiblerange/add/", {**form, "unit": Unit.objects.get(code="A-M1").pk}
    )
    assert response.status_code == 302
    assert PlausibleRange.objects.get(day_above=5000).unit.code == "A-M1"
