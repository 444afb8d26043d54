"""The lamp-room terminal in Debian's Chromium, in Vietnamese, at a tablet's size: a person whose mandatory safety
training has lapsed is refused at check-in with the reason shown; the overman lets the person down with a reason;
the person then stands on the mine's muster list and on the overview. Plain form posts, no script needed.
Screenshots go to var/screenshots/ (wf-*.png)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from headframe.workforce.models import Presence
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.workforce.test_api import build_lamp, build_staff


@pytest.fixture
def lamp(tree):
    """A-M1's people, course and rosters (see tests/workforce/test_api.py build_lamp)."""
    return build_lamp(tree)


@pytest.fixture
def staff(tree):
    return build_staff()


pytestmark = pytest.mark.e2e

TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def _check_in(page, tag: str) -> None:
    page.get_by_test_id("tag").fill(tag)
    page.get_by_test_id("check-in").click()
    page.wait_for_load_state("load")


def test_lapsed_training_refused_then_overman_lets_down_and_muster_lists(page, live_server, lamp, staff):
    page.set_viewport_size(TABLET)
    terminal = f"{live_server.url}/workforce/lamp-room/A-M1/"
    expired = (lamp.today - dt.timedelta(days=10)).strftime("%d/%m/%Y")

    # 1. The lamp-room operator: the tag field has the focus, ready for the reader or the keyboard.
    _log_in(page, live_server, "den_a")
    page.goto(terminal)
    expect(page.get_by_test_id("tag")).to_be_focused()
    shot(page, "wf-01-lamp-room-terminal")

    # 2. Lê Văn Bình's safety training lapsed ten days ago: refused, the course and the day named, in red.
    _check_in(page, "1002")
    refused = page.get_by_test_id("result-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("KHÔNG ĐƯỢC XUỐNG LÒ")
    expect(page.get_by_test_id("reasons")).to_contain_text("Lê Văn Bình")
    expect(page.get_by_test_id("reasons")).to_contain_text(expired)
    expect(page.get_by_test_id("override-form")).to_have_count(0)  # the operator cannot override
    expect(page.get_by_test_id("tag")).to_be_focused()  # the next person's tag, at once
    assert refused.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(179, 38, 30)"
    shot(page, "wf-02-refused-training-lapsed")

    # A cleared person goes down: green, with name, trade and work position.
    _check_in(page, "1001")
    ok = page.get_by_test_id("result-ok")
    expect(ok).to_contain_text("Trần Văn An")
    expect(ok).to_contain_text("A-M1-K1-F1")
    assert ok.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(30, 125, 50)"
    shot(page, "wf-03-checked-in")
    assert not Presence.objects.filter(worker=lamp.lapsed).exists()

    # 3. The overman at the same terminal: the refusal offers the override; a reason lets the person down.
    page.context.clear_cookies()
    _log_in(page, live_server, "quan_doc_a")
    page.goto(terminal)
    _check_in(page, "1002")
    expect(page.get_by_test_id("override-form")).to_be_visible()
    shot(page, "wf-04-refused-overman-sees-override")
    page.get_by_test_id("override-reason").fill("Đã huấn luyện lại sáng nay, chờ cấp chứng chỉ")
    page.get_by_role("button", name="Cho phép xuống lò (quản đốc)").click()
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("result-ok")).to_contain_text("Lê Văn Bình")
    expect(page.get_by_test_id("result-override")).to_contain_text("quan_doc_a")
    expect(page.get_by_test_id("recent")).to_contain_text("A-0002")
    shot(page, "wf-05-overridden")
    presence = Presence.objects.get(worker=lamp.lapsed, checked_out_at__isnull=True)
    assert presence.override_by == staff.overman
    assert [r["type"] for r in presence.refusals] == ["training_lapsed"]

    # 4. The muster list of the mine: both people, by area and work position, with the total.
    page.goto(f"{live_server.url}/workforce/muster/A-M1/")
    expect(page.get_by_test_id("muster-total")).to_have_text("2")
    expect(page.get_by_test_id("muster-A-0002")).to_contain_text("Lê Văn Bình")
    expect(page.get_by_test_id("muster-A-0001")).to_contain_text("Trần Văn An")
    expect(page.get_by_test_id("muster-pdf")).to_have_text("Tải PDF")
    shot(page, "wf-06-muster-list")
    with page.expect_download() as download:
        page.get_by_test_id("muster-pdf").click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"

    # 5. The overview: the mine's count and the people, the lapsed certificate listed.
    page.goto(f"{live_server.url}/workforce/")
    expect(page.get_by_test_id("count-A-M1")).to_have_text("2")
    expect(page.get_by_test_id("person-A-0002")).to_be_visible()
    expect(page.get_by_test_id("expiring")).to_contain_text("Lê Văn Bình")
    shot(page, "wf-07-overview")

    # 6. The terminal on a phone at the shaft: nothing wider than the screen, the buttons stacked.
    page.set_viewport_size(PHONE)
    page.goto(terminal)
    _check_in(page, "1003")
    expect(page.get_by_test_id("override-form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "wf-08-lamp-room-phone")
