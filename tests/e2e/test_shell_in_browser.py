"""The web shell in Debian's Chromium: log in, switch language, open the unit tree. Screenshots go to
var/screenshots/ for a person to look at."""

import pytest
from playwright.sync_api import expect

from tests.e2e.servers import SCREENSHOTS
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def company_viewer(tree):
    return make_user("nguyen_van_an", ("viewer", "A"))


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/org/units/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/org/units/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_log_in_switch_language_and_open_the_unit_tree(page, live_server, company_viewer, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/")
    shot(page, "01-login-vi")
    _log_in(page, live_server, "nguyen_van_an")

    # Back on the page asked for, in Vietnamese, with only company A's subtree.
    expect(page).to_have_url(f"{live_server.url}/org/units/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sơ đồ tổ chức")
    tree = page.get_by_test_id("unit-tree")
    expect(tree.get_by_test_id("unit-A")).to_be_visible()
    expect(tree.get_by_test_id("unit-B")).to_have_count(0)
    # The top two levels open by themselves; deeper ones open on a click.
    expect(tree.get_by_test_id("unit-A-M1-K1")).to_be_visible()
    expect(tree.get_by_test_id("unit-A-M1-K1-F1")).to_be_hidden()
    tree.locator("summary").filter(has=page.get_by_test_id("unit-A-M1-K1")).click()
    expect(tree.get_by_test_id("unit-A-M1-K1-F1")).to_be_visible()
    shot(page, "02-unit-tree-vi")

    # Switch to English: the same page, translated.
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Unit tree")
    expect(page.get_by_test_id("nav-production")).to_have_text("Production")
    shot(page, "03-unit-tree-en")

    # Open a unit from the tree.
    page.get_by_test_id("unit-A-M1").click()
    expect(page).to_have_url(f"{live_server.url}/org/units/A-M1/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Unit A-M1")
    shot(page, "04-unit-detail-en")

    # And back to Vietnamese.
    page.get_by_test_id("lang-vi").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_unit_picker_narrows_the_tree_on_a_tablet(page, live_server, tree, shot):
    make_user("dieu_do", ("viewer", "G"))
    page.set_viewport_size({"width": 900, "height": 1200})
    _log_in(page, live_server, "dieu_do")
    expect(page.get_by_test_id("unit-tree").get_by_test_id("unit-B")).to_be_visible()
    page.get_by_test_id("unit-picker").select_option("A")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Đơn vị A")
    expect(page.get_by_test_id("unit-tree").get_by_test_id("unit-B")).to_have_count(0)
    shot(page, "05-unit-picker-tablet")
