"""Layouts at the viewports the field uses: a 1366×768 control-room screen and a 1024×768 tablet show every
page without the page scrolling sideways and with the key columns and buttons in view; on a 390×844 phone the
menu folds behind a button so the alarms, the directives and the readiness board start on the first screen.
Screenshots (one per page and viewport) go to var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from headframe.briefing.models import Meeting
from tests.e2e.servers import log_in, shot

pytestmark = pytest.mark.e2e

DESKTOPS = [(1366, 768), (1024, 768)]


def _page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def _in_view_horizontally(page, locator) -> bool:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1


@pytest.mark.parametrize("width,height", DESKTOPS)
def test_desktop_pages_fit_and_keep_key_columns_in_view(small_demo, live_server, browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "planner")
    meeting = Meeting.objects.get(title="Giao ban tuần")
    pages = {
        "dashboard-group": "/production/u/G/",
        "dashboard-site": "/production/u/A-M1/",
        "pack": f"/briefing/meetings/{meeting.pk}/pack",
        "meeting": f"/briefing/meetings/{meeting.pk}/",
        "key-tasks": "/briefing/key-tasks/",
        "directives": "/briefing/directives/",
        "alarms": "/telemetry/",
        "readiness": "/safety/readiness/",
        "audit": "/audit/",
    }
    for name, url in pages.items():
        page.goto(base + url)
        assert _page_width(page) <= width, f"{name} is {_page_width(page)} px wide at {width}"
        shot(page, f"layout-{width}x{height}-{name}")
        if name.startswith("dashboard"):
            summary = page.get_by_test_id("summary")
            # The pace and the month's % stay in view; the secondary columns wait behind a tick box.
            for basis in ("day", "month_to_date", "month"):
                assert _in_view_horizontally(page, summary.locator(f"th[data-basis={basis}]")), (name, basis)
            expect(summary.locator("th.col-optional").first).to_be_hidden()
            page.locator("label[for=more-month]").click()
            expect(summary.locator("th.col-optional").first).to_be_visible()
            assert _page_width(page) <= width  # shown on demand, they scroll inside the card
            assert _in_view_horizontally(page, page.get_by_test_id("lock-month")), name
        if name == "pack":
            assert _in_view_horizontally(page, page.get_by_test_id("download-pdf"))
    context.close()


@pytest.mark.parametrize("url", ["/telemetry/", "/briefing/directives/", "/safety/readiness/"])
def test_phone_folds_the_menu_behind_a_button(small_demo, live_server, browser, url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "safety")
    page.goto(base + url)
    assert _page_width(page) <= 390
    nav = page.locator("nav.sidenav")
    expect(nav).to_be_hidden()
    heading = page.get_by_role("heading", level=1)
    # The page's own title starts within the first third of the screen, not under the menu.
    assert heading.bounding_box()["y"] < 844 / 3
    name = url.strip("/").replace("/", "-")
    shot(page, f"layout-390x844-{name}")
    if url.startswith("/safety/"):
        # The section's tabs stay one row of whole labels ("Sự cố", never "Sự / cố" on two lines).
        tabs = [
            page.get_by_test_id(t).bounding_box()
            for t in ("tab-campaigns", "tab-readiness", "tab-findings", "tab-incidents")
        ]
        assert len({round(t["y"]) for t in tabs}) == 1, tabs
        assert all(t["height"] < 40 and t["x"] + t["width"] <= 390 for t in tabs), tabs
    page.get_by_test_id("nav-button").click()
    expect(nav).to_be_visible()
    expect(page.get_by_test_id("nav-safety")).to_be_visible()
    shot(page, f"layout-390x844-{name}-menu-open")
    page.get_by_test_id("nav-button").click()
    expect(nav).to_be_hidden()
    context.close()
