"""A restart campaign on a tablet in Debian's Chromium: the inspector fails an item and signs, the shift overman
countersigns, the safety officer closes the finding with evidence and sees the position become ready, then
releases it. The draft survives a reload. Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from headframe.safety.models import AnswerType, Inspection
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_unit, make_user
from tests.safety.conftest import restart_campaign_from_yesterday

pytestmark = pytest.mark.e2e

TABLET = {"width": 1024, "height": 768}


@pytest.fixture
def restart(tree):
    make_unit("A-M1-K1-F2", "position", "A-M1-K1")
    safety = make_user("an_toan", ("safety_officer", "A"))
    make_user("quan_doc", ("reporter", "A-M1"))
    restart_campaign_from_yesterday(safety, teams={"A-M1-K1": "Tổ kiểm tra số 1"})
    return Inspection.objects.get(position__code="A-M1-K1-F1")


def _choose(page, code, value):
    page.locator(f"label:has([data-testid='{value}-{code}'])").click()


def _switch_user(page, live_server, username):
    page.context.clear_cookies()
    _log_in(page, live_server, username)


def test_inspect_fail_close_and_release_on_a_tablet(page, live_server, restart):
    inspection = restart
    items = list(inspection.template.items.order_by("section__order", "order"))
    page.set_viewport_size(TABLET)
    _log_in(page, live_server, "an_toan")

    # 1. The campaign: every position pending.
    page.goto(f"{live_server.url}/safety/")
    page.get_by_test_id("campaign-TET-2027").click()
    expect(page.get_by_test_id("progress-table")).to_contain_text("A-M1-K1")
    shot(page, "60-safety-campaign")

    # 2. Inspect the face on the tablet: all good but the shields, which fail.
    page.get_by_test_id("inspect-A-M1-K1-F1").click()
    expect(page.get_by_test_id("inspection-form")).to_be_visible()
    for item in items:
        if item.answer_type == AnswerType.PASS_FAIL_NA:
            _choose(page, item.code, "fail" if item.code == "R-SHIELDS" else "pass")
        elif item.answer_type == AnswerType.NUMBER:
            value = {
                "G-CH4": "0,4",
                "G-CO": "3",
                "G-O2": "20,8",
                "V-VEL": "1,2",
                "V-FLOW": "420",
                "E-EARTH": "1,1",
            }
            page.get_by_test_id(f"number-{item.code}").fill(value[item.code])
    page.get_by_test_id("note-R-SHIELDS").fill("Cột chống số 35–38 tụt áp")
    # The draft lives on the tablet: a reload (or a dropped connection) loses nothing.
    page.reload()
    expect(page.get_by_test_id("fail-R-SHIELDS")).to_be_checked()
    expect(page.get_by_test_id("number-G-CH4")).to_have_value("0,4")
    # A reading that cannot be right is refused in place, nothing saved.
    page.get_by_test_id("number-G-CH4").fill("140")
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("error-G-CH4")).to_be_visible()
    shot(page, "61-safety-inspection-error")
    page.get_by_test_id("number-G-CH4").fill("0,4")
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("inspection-result")).to_have_text("Không đạt")
    expect(page.get_by_test_id("finding-link-1")).to_contain_text("R-SHIELDS")
    shot(page, "62-safety-inspection-signed")

    # 3. The shift overman countersigns (the inspector could not).
    expect(page.get_by_test_id("countersign")).to_have_count(0)
    _switch_user(page, live_server, "quan_doc")
    page.goto(f"{live_server.url}/safety/inspections/{inspection.pk}/")
    page.get_by_test_id("countersign").click()
    expect(page.get_by_test_id("inspection-status")).to_have_text("Đã ký xác nhận")
    expect(page.get_by_test_id("position-readiness")).to_have_text("chưa sẵn sàng")

    # 4. The safety officer closes the finding: without evidence it is refused, with evidence it closes.
    _switch_user(page, live_server, "an_toan")
    page.goto(f"{live_server.url}/safety/inspections/{inspection.pk}/")
    page.get_by_test_id("finding-link-1").click()
    page.get_by_test_id("action-taken").fill("Thay 4 cột chống, nạp lại áp lực")
    page.get_by_test_id("close-finding").click()
    expect(page.locator(".messages")).to_contain_text("bằng chứng")
    expect(page.get_by_test_id("finding-status")).to_have_text("Mở")
    page.get_by_test_id("evidence").fill("Kiểm tra áp lực 4 cột: 30 MPa, không rò rỉ")
    shot(page, "63-safety-finding-close")
    page.get_by_test_id("close-finding").click()
    expect(page.get_by_test_id("finding-status")).to_have_text("Đã đóng (đã xác minh)")
    expect(page.get_by_test_id("finding-readiness")).to_have_text("sẵn sàng")

    # 5. The readiness board: the face is ready; release it to production.
    page.goto(f"{live_server.url}/safety/readiness/?unit=A-M1")
    expect(page.get_by_test_id("state-A-M1-K1-F1")).to_have_text("sẵn sàng")
    expect(page.get_by_test_id("state-A-M1-K1-F2")).to_have_text("chưa sẵn sàng")
    shot(page, "64-safety-readiness-ready")
    # Releasing asks first (issue 13, item 7): going back leaves the face ready, not released.
    page.get_by_test_id("release-A-M1-K1-F1").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("state-A-M1-K1-F1")).to_have_text("sẵn sàng")
    page.get_by_test_id("release-A-M1-K1-F1").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("state-A-M1-K1-F1")).to_have_text("đã cho phép sản xuất")
    shot(page, "65-safety-readiness-released")
