"""Issue 13 items 2 and 4 in Debian's Chromium, in Vietnamese: one workbook with one error of each kind lists
them all on the import page in Vietnamese (no English, no indicator codes); the audit log shows field names,
values and channels in Vietnamese. Screenshots go to var/screenshots/."""

import datetime as dt

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from headframe.production import services
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def planner(tree, indicator_catalogue):
    make_user("can_bo_ke_hoach", ("planner", "A-M1"))
    return dt.date.today() - dt.timedelta(days=2)


def test_import_lists_every_error_in_vietnamese_and_the_audit_log_reads_vietnamese(
    page, live_server, planner, tmp_path
):
    day = planner
    page.set_viewport_size({"width": 1366, "height": 768})
    _log_in(page, live_server, "can_bo_ke_hoach")

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Số liệu"
    sheet.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t", "Độ tro (%)\nash_pct"])
    sheet.append(["A-M1", day, 0, "abc", None])
    sheet.append(["A-M1", day - dt.timedelta(days=1), 0, 100, None])
    sheet.append(["A-M1", day - dt.timedelta(days=1), 1, 40, None])
    sheet.append(["A-M1", dt.date.today() + dt.timedelta(days=3), 0, 10, None])
    sheet.append(["A-M1", day, 0, None, 101])
    path = tmp_path / "nhieu-loi.xlsx"
    workbook.save(path)
    page.goto(f"{live_server.url}/production/import/")
    page.get_by_test_id("import-file").set_input_files(str(path))
    page.get_by_test_id("import-submit").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("Số liệu!2 D")
    expect(errors).to_contain_text("là ngày trong tương lai")
    expect(errors).to_contain_text("lẫn theo ca")
    expect(errors).to_contain_text("Số liệu!6 E")
    text = errors.inner_text()
    for english in ("in the future", "reported both", "raw_coal_t", "ash_pct", "is impossible"):
        assert english not in text
    shot(page, "13-import-every-error-vi")

    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("A-M1", "raw_coal_t", day, 0, "1234.5")], source="api"
    )
    page.goto(f"{live_server.url}/audit/?unit=A-M1")
    table = page.get_by_test_id("audit-table")
    expect(table).to_contain_text("1.234,5")
    expect(table).to_contain_text(day.strftime("%d/%m/%Y"))
    assert "production.actual" not in table.inner_text()
    font = table.evaluate("t => getComputedStyle(t).fontFamily")
    assert "Headframe Noto Sans" in font
    shot(page, "14-audit-log-vi")
