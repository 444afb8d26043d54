"""Issue 13 item 4: the Excel import lists every error of a workbook in one pass — bad numbers, conflicts,
future days, impossible values, reporting-level conflicts — each on its cell, and stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from openpyxl import Workbook

from headframe.core.errors import ValidationFailed
from headframe.production.excel import error_lines, import_actuals_workbook
from headframe.production.models import Actual

SHEET = "Số liệu"
HEADERS = ["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t", "Độ tro (%)\nash_pct"]
OCT_5, OCT_6, OCT_7 = dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 7)


def _workbook(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def every_kind_of_error(tree, tmp_path):
    future = dt.date.today() + dt.timedelta(days=3)
    return _workbook(
        tmp_path / "all.xlsx",
        [
            ["A-M1", OCT_5, 0, "abc", None],  # row 2: a bad number
            ["A-M1", OCT_6, 0, 100, None],  # row 3: whole day …
            ["A-M1", OCT_6, 1, 40, None],  # row 4: … and by shift: a conflict
            ["A-M1", future, 0, 10, None],  # row 5: a future day
            ["A-M1", OCT_7, 0, None, 101],  # row 6: ash 101 %: out of range
            ["A", OCT_7, 0, 500, None],  # row 7: the company reports what its mine reports …
            ["A-M1", OCT_7, 0, 300, None],  # row 8: … in the same batch: reporting-level conflict
        ],
    )


def test_one_import_lists_every_kind_of_error_with_its_cell_and_stores_nothing(every_kind_of_error):
    with pytest.raises(ValidationFailed) as info:
        import_actuals_workbook(actor=None, file=every_kind_of_error)
    found = {(item.loc, item.type) for item in info.value.items}
    assert ((SHEET, 2, "D"), "not_a_number") in found
    assert ((SHEET, 3, "C"), "mixed_shifts") in found
    assert ((SHEET, 4, "C"), "mixed_shifts") in found
    assert ((SHEET, 5, "B"), "future_day") in found
    assert ((SHEET, 6, "E"), "impossible") in found
    assert any(loc[:2] in ((SHEET, 7), (SHEET, 8)) and kind == "reporting_level" for loc, kind in found)
    assert not Actual.objects.exists()
    assert len(found) == len(info.value.items)  # each cell once


def test_every_listed_error_reads_sheet_row_column_in_vietnamese(every_kind_of_error):
    with pytest.raises(ValidationFailed) as info:
        import_actuals_workbook(actor=None, file=every_kind_of_error)
    with translation.override("vi"):
        lines = error_lines(info.value)
    text = "\n".join(lines)
    assert f"{SHEET}!2 D:" in text
    assert f"{SHEET}!5 B:" in text and "là ngày trong tương lai" in text
    assert f"{SHEET}!6 E:" in text
    assert "cả cho cả ngày (ca 0) lẫn theo ca" in text
    for english in ("is in the future", "reported both", "negative value", "raw_coal_t"):
        assert english not in text


# --- the API: English unless the request names a language ---------------------------------------------


def _future_row():
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    return {"rows": [{"unit": "A-M1", "indicator": "raw_coal_t", "day": future, "shift": 0, "value": 5}]}


def test_api_errors_keep_english_msg_loc_and_type_by_default(tree, users, client, token_for):
    response = client.put(
        "/api/v1/production/actuals",
        _future_row(),
        content_type="application/json",
        **token_for(users.admin_a),
    )
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["type"] == "future_day" and item["loc"][-1] == "day"
    assert item["msg"].endswith("is in the future")


def test_api_errors_follow_accept_language(tree, users, client, token_for):
    response = client.put(
        "/api/v1/production/actuals",
        _future_row(),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="vi",
        **token_for(users.admin_a),
    )
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["type"] == "future_day"
    assert item["msg"].endswith("là ngày trong tương lai")
