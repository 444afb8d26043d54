"""Hardening of production figures (issue 11): edge numbers and dates answer a JSON 422 instead of an HTML 500,
loose values are refused instead of read as something else, imports are bounded (bytes, rows, cell size, zip
bombs) before anything is parsed, and exports write people's text as text."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from headframe.core.errors import TooLarge, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.core.spreadsheets import MAX_CELL_CHARS, MAX_ROWS, MAX_UPLOAD_BYTES
from headframe.org import services as org
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.excel import import_actuals_workbook, table_xlsx
from headframe.production.models import Actual, Deviation, PeriodLock, PlanVersion
from headframe.production.services import ActualRow
from tests.production.conftest import PAST

pytestmark = pytest.mark.django_db

DAY = "2026-10-05"  # a production day in the past
SHEET = "Số liệu"
HEADERS = ["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"]
FORMULA = '=HYPERLINK("http://evil.example/","x")'


def _put(client, headers, rows: list[dict] | None = None, *, raw: str | None = None):
    body = raw if raw is not None else json.dumps({"rows": rows})
    return client.put("/api/v1/production/actuals", body, content_type="application/json", **headers)


def _row(**overrides) -> dict:
    return {"unit": "A-M1", "indicator": "raw_coal_t", "day": DAY, "shift": 0, "value": 100, **overrides}


def _detail(response) -> list[dict]:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return response.json()["detail"]


# --- defect 5 and 9: a figure is a number in the documented formats ----------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (1e308, "too_large"),
        ("1e400", "not_a_number"),
        ("1" * 40, "too_large"),
        ("١٢٣", "not_a_number"),  # Arabic-Indic digits: not "123"
        ("1_000", "not_a_number"),  # a Python digit separator: not "1000"
        (True, "not_a_number"),  # JSON true: not 1
        ("1e-50", "not_a_number"),
        (1e-50, "below_precision"),  # would be stored as 0
        ("0.00001", "below_precision"),
        ("12 ", None),
    ],
)
def test_a_figure_that_is_not_a_plain_number_is_a_field_error(client, token_for, users, value, kind):
    response = _put(client, token_for(users.reporter_a), [_row(value=value)])
    if kind is None:  # surrounding spaces are harmless
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 422, response.content
    (item,) = _detail(response)
    assert (item["loc"], item["type"]) == (["body", "rows", 0, "value"], kind)
    assert not Actual.objects.exists()


def test_a_forty_digit_json_number_is_a_field_error(client, token_for, users):
    forty_digits = "9" * 40  # orjson reads it as a float of 1e40
    raw = json.dumps({"rows": [_row(value=0)]}).replace('"value": 0', f'"value": {forty_digits}')
    response = _put(client, token_for(users.reporter_a), raw=raw)
    assert response.status_code == 422
    assert _detail(response)[0]["loc"] == ["body", "rows", 0, "value"]
    assert not Actual.objects.exists()


@pytest.mark.parametrize("value", [100, 100.5, "100", "100.5", "0", 0, "0.0001"])
def test_plain_numbers_are_still_figures(client, token_for, users, value):
    response = _put(client, token_for(users.reporter_a), [_row(value=value)])
    assert response.status_code == 200, response.content
    assert Actual.objects.get().value == Decimal(str(value))


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
def test_a_figure_dated_outside_the_calendar_is_refused(client, token_for, users, day):
    response = _put(client, token_for(users.reporter_a), [_row(day=day)])
    assert response.status_code == 422
    (item,) = _detail(response)
    assert (item["loc"], item["type"]) == (["body", "rows", 0, "day"], "date_out_of_range")
    assert not Actual.objects.exists()


def test_the_service_refuses_the_same_for_every_door(tree, put):
    """Excel and the day-entry form hand the service dates and numbers themselves."""
    with pytest.raises(ValidationFailed) as exc:
        put(
            ("A-M1", "raw_coal_t", dt.date(1, 1, 1), 0, 5),
            ("A-M1", "raw_coal_t", dt.date(2026, 10, 5), 0, True),
        )
    assert [(i.loc, i.type) for i in exc.value.items] == [
        (("body", 0, "day"), "date_out_of_range"),
        (("body", 1, "value"), "not_a_number"),
    ]
    with pytest.raises(ValidationFailed):
        put(("A-M1", "raw_coal_t", dt.date(2026, 10, 5), 0, Decimal("1E+400")))
    assert not Actual.objects.exists()


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/production/summary", {"unit": "A", "date": "0001-01-01"}, "date"),
        ("/api/v1/production/summary", {"unit": "A", "date": "9999-12-31"}, "date"),
        ("/api/v1/production/early-warnings", {"unit": "A", "date": "0001-01-01"}, "date"),
        ("/api/v1/production/missing-reports", {"unit": "A", "date": "0001-01-01"}, "date"),
        ("/api/v1/production/actuals", {"unit": "A", "from": "0001-01-01", "to": "2026-10-31"}, "from"),
        ("/api/v1/production/deviations", {"unit": "A", "month": "9999-12-01"}, "month"),
    ],
)
def test_reads_with_a_date_outside_the_calendar_are_a_field_error(api, users, url, params, field):
    response = api(users.viewer_a).get(url, **params)
    assert response.status_code == 422, response.content
    item = _detail(response)[0]
    assert (item["loc"], item["type"]) == (["query", field], "date_out_of_range")


def test_the_unit_page_with_a_date_outside_the_calendar_is_a_400(client, users):
    client.force_login(users.viewer_a)
    response = client.get(reverse("production:unit", args=["A"]), {"date": "01/01/0001"})
    assert response.status_code == 400


@pytest.mark.parametrize("figure", ["1e400", 1e300, True])
def test_a_plan_with_an_impossible_figure_is_a_field_error(api, users, figure):
    response = api(users.planner_g).post(
        "/api/v1/production/plans",
        {"unit": "A-M1", "year": 2027, "effective_from": "2027-01-01", "values": {"raw_coal_t": figure}},
    )
    assert response.status_code == 422, response.content
    assert _detail(response)[0]["loc"][:3] == ["body", "values", "raw_coal_t"]
    assert not PlanVersion.objects.exists()


def test_writes_dated_outside_the_calendar_are_refused(api, users):
    planner = api(users.planner_g)
    lock = planner.post("/api/v1/production/locks", {"unit": "A-M1", "month": "0001-01-01"})
    assert lock.status_code == 422 and _detail(lock)[0]["loc"] == ["body", "month"]
    deviation = api(users.reporter_a).post(
        "/api/v1/production/deviations",
        {
            "unit": "A-M1",
            "indicator": "raw_coal_t",
            "day": "0001-01-01",
            "category": "geology",
            "lost_hours": 2,
        },
    )
    assert deviation.status_code == 422 and _detail(deviation)[0]["loc"] == ["body", "day"]
    assert not PeriodLock.objects.exists() and not Deviation.objects.exists()


@pytest.mark.parametrize("bad", ["\u202e", "\x00", "\u200b"])
def test_notes_with_hidden_characters_are_refused(api, users, bad):
    response = api(users.reporter_a).post(
        "/api/v1/production/deviations",
        {
            "unit": "A-M1",
            "indicator": "raw_coal_t",
            "day": DAY,
            "category": "geology",
            "lost_hours": 2,
            "note": f"Phay{bad} F12",
        },
    )
    assert response.status_code == 422
    assert (_detail(response)[0]["loc"], _detail(response)[0]["type"]) == (
        ["body", "note"],
        "hidden_character",
    )
    assert not Deviation.objects.exists()


# --- defect 1: figures go only where the actor may write ------------------------------------------------------


def test_figures_for_another_company_are_refused_whole(client, token_for, users):
    headers = token_for(users.admin_a)
    response = _put(client, headers, [_row(), _row(unit="B-M1")])
    assert response.status_code == 422  # B is outside A's view: unknown, never revealed
    assert _detail(response)[0]["loc"] == ["body", "rows", 1, "unit"]
    reader = token_for(users.viewer_a)  # sees A, may not report there
    response = _put(client, reader, [_row()])
    assert response.status_code == 403
    assert not Actual.objects.exists()
    assert not AuditEntry.objects.filter(object_type="production.actual").exists()


# --- defect 2 and 6: imports are bounded before they are parsed -------------------------------------------


def _workbook(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _padded(content: bytes, extra_bytes: int) -> bytes:
    """The same workbook with its sheet XML grown by whitespace (valid XML) that zips to almost nothing:
    a few hundred kB on the wire, tens of MB once unpacked."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * extra_bytes + b"</worksheet>")
            target.writestr(info.filename, data)
    return out.getvalue()


def test_an_xlsx_that_unpacks_far_beyond_its_size_is_refused_before_parsing(tree):
    good = _workbook([["A-M1", dt.date(2026, 10, 5), 0, 100]])
    bomb = _padded(good, 30 * 1024 * 1024)
    assert len(bomb) < 200_000
    with pytest.raises(TooLarge) as exc:
        import_actuals_workbook(actor=None, file=bomb)
    assert exc.value.items[0].type == "unpacked_too_large"
    assert not Actual.objects.exists()


def test_an_upload_past_the_byte_limit_is_413(tree):
    with pytest.raises(TooLarge) as exc:
        import_actuals_workbook(actor=None, file=b"PK\x03\x04" + b"\x00" * MAX_UPLOAD_BYTES)
    assert exc.value.items[0].type == "file_too_large"
    assert "10485760" in exc.value.items[0].msg


def test_an_over_long_cell_is_413_naming_the_cell(tree):
    content = _workbook([["A-M1", dt.date(2026, 10, 5), 0, "9" * (MAX_CELL_CHARS + 1)]])
    with pytest.raises(TooLarge) as exc:
        import_actuals_workbook(actor=None, file=content)
    item = exc.value.items[0]
    assert item.type == "cell_too_large" and item.msg.startswith(f"{SHEET}!D2")
    assert not Actual.objects.exists()


def test_more_rows_than_the_limit_are_413(tree):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    ws.append(HEADERS)
    for n in range(MAX_ROWS + 1):
        ws.append(["A-M1", dt.date(2026, 1, 1) + dt.timedelta(days=n % 300), 0, None])
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(TooLarge) as exc:
        import_actuals_workbook(actor=None, file=buffer.getvalue())
    assert exc.value.items[0].type == "too_many_rows"
    assert str(MAX_ROWS) in exc.value.items[0].msg


def test_the_import_page_says_why_a_zip_bomb_is_refused(client, users):
    bomb = _padded(_workbook([["A-M1", dt.date(2026, 10, 5), 0, 100]]), 30 * 1024 * 1024)
    client.force_login(users.reporter_a)
    upload = io.BytesIO(bomb)
    upload.name = "so-lieu.xlsx"
    response = client.post(reverse("production:import"), {"file": upload})
    assert response.status_code == 422
    assert (
        "tệp quá lớn khi giải nén" in response.content.decode()
    )  # the Vietnamese page says it in Vietnamese
    assert not Actual.objects.exists()


# --- defect 4: exports write text as text -----------------------------------------------------------------


def test_table_export_writes_text_that_looks_like_a_formula_as_text():
    content = table_xlsx("x", ["Mã", "Tên"], [["A-M1", FORMULA], ["A-M2", "+1+1"]])
    ws = load_workbook(io.BytesIO(content)).active
    assert ws["B2"].value == FORMULA and ws["B2"].data_type == "s"
    assert ws["A1"].data_type == "s"


def test_the_drill_down_export_writes_unit_names_as_text(client, users):
    org.unit_update(actor=None, unit=Unit.objects.get(code="A-M1"), changes={"name_vi": FORMULA})
    client.force_login(users.viewer_a)
    response = client.get(
        reverse("production:unit", args=["A"]), {"format": "xlsx", "table": "children", "date": "05/10/2026"}
    )
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    cells = [c for row in ws.iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)


def test_a_real_import_still_works_after_all_the_checks(tree):
    result = import_actuals_workbook(
        actor=None, file=_workbook([["A-M1", dt.date(2026, 10, 5), 0, "1.234,5"]]), now=PAST
    )
    assert result.created == 1 and Actual.objects.get().value == Decimal("1234.5")


def test_row_loc_reaches_the_service(tree):
    with pytest.raises(ValidationFailed) as exc:
        services.actuals_upsert(
            actor=None,
            rows=[ActualRow("A-M1", "raw_coal_t", dt.date(2026, 10, 5), 0, "1_000", loc=(SHEET, 2, "D"))],
            source="xlsx",
            now=PAST,
        )
    assert exc.value.items[0].loc == (SHEET, 2, "D", "value")
