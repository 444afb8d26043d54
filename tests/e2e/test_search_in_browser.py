"""The top bar's search in Debian's Chromium, in Vietnamese (issue 13, item 9): "/" and Ctrl+K focus the box,
an unaccented query finds the Vietnamese name, results are grouped by kind with links, and a company user never
sees another company's units. Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from headframe.org import services
from tests.e2e.servers import shot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def named(tree):
    services.unit_create(
        actor=None,
        code="A-QN",
        name_vi="Mỏ than Quảng Ninh",
        name_en="Quang Ninh mine",
        kind="site",
        parent_code="A",
        site_type="underground",
    )
    services.unit_create(
        actor=None,
        code="B-QB",
        name_vi="Mỏ than Quảng Bình",
        name_en="Quang Binh mine",
        kind="site",
        parent_code="B",
        site_type="underground",
    )
    services.person_create(
        actor=None, employee_no="A001", full_name="Nguyễn Văn Quảng", unit_code="A-QN", job_title="Quản đốc"
    )
    return make_user("nguoi_dung_a", ("viewer", "A"))


@pytest.mark.parametrize("viewport", [(1366, 768), (390, 844)])
def test_slash_and_ctrl_k_open_a_scoped_accent_blind_search(page, live_server, named, viewport):
    width, height = viewport
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/")
    page.get_by_label("Tên đăng nhập").fill("nguoi_dung_a")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")

    box = page.get_by_test_id("topsearch-q")
    page.locator("body").click(position={"x": 5, "y": height - 5})
    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type("quang")
    results = page.locator("#topsearch-results")
    expect(results.get_by_test_id("search-group-units")).to_contain_text("A-QN — Mỏ than Quảng Ninh")
    expect(results.get_by_test_id("search-group-people")).to_contain_text("Nguyễn Văn Quảng")
    expect(results).not_to_contain_text("Quảng Bình")  # company B's: never shown to a user of A
    shot(page, f"search-01-dropdown-vi-{width}")

    page.keyboard.press("Escape")
    expect(results.get_by_test_id("search-hit")).to_have_count(0)
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    box.fill("quang ninh")
    box.press("Enter")
    page.wait_for_url("**/search/?q=quang+ninh")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tìm kiếm")
    page.get_by_test_id("search-group-units").get_by_role("link", name="A-QN — Mỏ than Quảng Ninh").click()
    page.wait_for_url(f"{live_server.url}/org/units/A-QN/")
    shot(page, f"search-02-unit-vi-{width}")

    page.goto(f"{live_server.url}/search/?q=quang+binh")
    expect(page.get_by_test_id("search-empty")).to_contain_text("Không tìm thấy")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"search-03-nothing-vi-{width}")
