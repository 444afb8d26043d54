"""Long work shows progress (issue 13, item 12), in Debian's Chromium, in Vietnamese at 1366×768: the pack's PDF
and Excel buttons show "Đang tạo PDF…" with a spinner until the file is handed over as a download, and the
Excel import form shows its own until the next page. The server's answer is held back a moment by the browser
(page.route) so the indicator is seen whatever the machine's speed. Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.briefing import pack_fixtures
from tests.e2e.servers import shot
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures


def _log_in(page, live_server, username: str, next_url: str) -> None:
    page.goto(f"{live_server.url}{next_url}")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}{next_url}")


def _hold(page, pattern: str) -> list:
    """Requests matching pattern wait in the returned list until the test lets them go (_release)."""
    held: list = []
    page.route(pattern, lambda route: held.append(route))
    return held


def _release(held: list) -> None:
    while held:
        held.pop(0).continue_()


def test_pack_pdf_and_excel_show_progress_until_the_download(page, live_server, group_meeting, users):
    page.set_viewport_size({"width": 1366, "height": 768})
    url = f"/briefing/meetings/{group_meeting.meeting.pk}/pack"
    _log_in(page, live_server, users.planner_g.username, url)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    held_pdf, held_xlsx = _hold(page, "**/pack.pdf*"), _hold(page, "**/pack.xlsx*")

    progress = page.get_by_test_id("progress")
    with page.expect_download(timeout=60_000) as pdf:
        page.get_by_test_id("download-pdf").click()
        expect(progress).to_be_visible()
        expect(progress).to_contain_text("Đang tạo PDF…")
        shot(page, "progress-01-pack-pdf-vi-1366")
        _release(held_pdf)
    assert pdf.value.suggested_filename.endswith(".pdf")
    expect(progress).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}{url}")  # the page stays: nothing to wonder about

    with page.expect_download(timeout=60_000) as xlsx:
        page.get_by_test_id("download-xlsx").click()
        expect(progress).to_contain_text("Đang tạo tệp Excel…")
        shot(page, "progress-02-pack-xlsx-vi-1366")
        _release(held_xlsx)
    assert xlsx.value.suggested_filename.endswith(".xlsx")
    expect(progress).to_be_hidden()
    shot(page, "progress-03-pack-after-vi-1366")


def test_a_refused_download_shows_the_page_of_the_refusal(page, live_server, group_meeting, users):
    page.set_viewport_size({"width": 1366, "height": 768})
    url = f"/briefing/meetings/{group_meeting.meeting.pk}/pack"
    _log_in(page, live_server, users.planner_g.username, url)
    page.route("**/*.pdf*", lambda route: route.fulfill(status=503, body="busy", content_type="text/plain"))
    page.get_by_test_id("download-pdf").click()
    expect(page.locator("body")).to_contain_text(
        "busy"
    )  # followed the link: the answer is shown, not swallowed


def test_the_import_form_shows_progress_until_the_result(page, live_server, figures, users, tmp_path):
    from openpyxl import Workbook

    page.set_viewport_size({"width": 1366, "height": 768})
    _log_in(page, live_server, users.admin_a.username, "/production/import/")
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    ws.append(["A-M1-K1-F1", "02/10/2026", 0, "abc"])
    path = tmp_path / "so-lieu.xlsx"
    wb.save(path)
    form = page.get_by_test_id("import-form")
    form.locator("input[type=file]").set_input_files(str(path))
    # A page that is navigating cannot be looked at: this submit is stopped after the page's own listeners ran.
    page.evaluate("window.addEventListener('submit', (e) => e.preventDefault(), {once: true})")
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("progress")).to_contain_text("Đang kiểm tra và nhập tệp…")
    expect(page.get_by_test_id("import-submit")).to_be_disabled()
    shot(page, "progress-04-import-vi-1366")

    page.reload()  # now the real thing: the answer page comes, without a spinner
    page.get_by_test_id("import-form").locator("input[type=file]").set_input_files(str(path))
    page.get_by_test_id("import-submit").click()
    page.wait_for_load_state("load")
    expect(page.locator("body")).to_contain_text("abc")  # the refusal names the bad cell's value
    expect(page.get_by_test_id("progress")).to_have_count(0)
    shot(page, "progress-05-import-result-vi-1366")
