"""Production in Debian's Chromium: enter a day of figures, import a workbook, open the dashboard and drill
down from the group to a work position. Screenshots go to var/screenshots/."""

import datetime as dt

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from headframe.production import services
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_unit, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def production(tree, indicator_catalogue):
    make_unit("B-OP", "site", "B", site_type="open_pit")
    make_unit("B-OP-CT", "area", "B-OP")
    make_unit("B-OP-CT-T1", "position", "B-OP-CT", position_kind="bench")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    for code, annual in (("A-M1", 730000), ("B-M1", 365000), ("B-OP", 365000)):
        services.plan_version_create(
            actor=None,
            unit_code=code,
            year=yesterday.year,
            effective_from=dt.date(yesterday.year, 1, 1),
            values={"raw_coal_t": annual, "roadway_m": 3650} if code != "B-OP" else {"raw_coal_t": annual},
        )
    rows = []
    for back in range(1, 40):
        day = yesterday - dt.timedelta(days=back)
        rows += [
            services.ActualRow("A-M1-K1-F1", "raw_coal_t", day, 0, 1900 + back * 7),
            services.ActualRow("B-M1-K1-F1", "raw_coal_t", day, 0, 800 + back * 3),
            services.ActualRow("B-OP-CT-T1", "raw_coal_t", day, 0, 1100),
            services.ActualRow("B-OP-CT-T1", "overburden_m3", day, 0, 9000),
        ]
    services.actuals_upsert(actor=None, rows=rows, source="api")
    make_user("to_truong", ("reporter", "A-M1"), ("viewer", "G"))
    return yesterday


def test_enter_import_and_drill_down(page, live_server, production, tmp_path):
    yesterday = production
    page.set_viewport_size({"width": 1366, "height": 900})
    _log_in(page, live_server, "to_truong")

    # 1. A day of figures in the form, moving with the keyboard.
    page.goto(f"{live_server.url}/production/entry/?unit=A-M1-K1-F1")
    first = page.get_by_test_id("v-1-raw_coal_t")
    first.fill("1.234,5")
    first.press("Enter")  # moves down to shift 2
    expect(page.get_by_test_id("v-2-raw_coal_t")).to_be_focused()
    page.keyboard.type("700")
    page.keyboard.press("Enter")
    page.keyboard.type("650,5")
    shot(page, "10-entry-form")
    page.get_by_test_id("entry-save").click()
    expect(page.locator(".messages")).to_contain_text("3")
    expect(page.get_by_test_id("v-1-raw_coal_t")).to_have_value("1.234,5")
    shot(page, "11-entry-saved")

    # 2. A workbook with a bad cell is refused whole; fixed, it imports.
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Số liệu"
    sheet.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    sheet.append(["A-M1-K1-F1", yesterday, 0, "abc"])
    bad = tmp_path / "sai.xlsx"
    workbook.save(bad)
    page.goto(f"{live_server.url}/production/import/")
    page.get_by_test_id("import-file").set_input_files(str(bad))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("Số liệu")
    shot(page, "12-import-refused")
    sheet["A2"] = "A-M1-K1-F1"
    sheet["B2"] = yesterday
    sheet["C2"] = 0
    sheet["D2"] = 2000
    sheet.append(["A-M1-K2", yesterday, 0, None])
    good = tmp_path / "dung.xlsx"
    workbook.save(good)
    # the whole-day figure for A-M1-K1-F1 would mix with the shifts just entered: import for another day
    sheet["B2"] = yesterday - dt.timedelta(days=45)
    workbook.save(good)
    page.get_by_test_id("import-file").set_input_files(str(good))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-result")).to_be_visible()
    shot(page, "13-import-done")

    # 3. Dashboard of the group, drill down to the work position.
    page.goto(f"{live_server.url}/production/u/G/")
    expect(page.get_by_test_id("drilldown")).to_be_visible()
    expect(page.locator("#chart-month canvas")).to_have_count(1)
    shot(page, "14-dashboard-group")
    page.get_by_test_id("drill-A").click()
    page.get_by_test_id("drill-A-M1").click()
    page.get_by_test_id("drill-A-M1-K1").click()
    page.get_by_test_id("drill-A-M1-K1-F1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A-M1-K1-F1")
    summary = page.get_by_test_id("summary")
    expect(summary.locator("tr[data-indicator=raw_coal_t]")).to_contain_text("2.585")  # 1.234,5 + 700 + 650,5
    shot(page, "15-work-position")
