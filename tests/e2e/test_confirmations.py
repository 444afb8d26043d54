"""Irreversible actions ask first: closing a meeting, locking a month and marking a directive done open a native
<dialog> (static JS, no inline script under the CSP); going back leaves everything as it was, and only "yes"
does it. Screenshots of each question go to var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from headframe.briefing import services as briefing
from headframe.briefing.models import Directive, Meeting, MeetingStatus
from headframe.production.models import PeriodLock
from tests.e2e.servers import log_in, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone_free_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield context.new_page()
    context.close()


def _ask_and_go_back(page, trigger, name: str) -> None:
    dialog = page.get_by_test_id("confirm-dialog")
    trigger.click()
    expect(dialog).to_be_visible()
    shot(page, f"confirm-{name}")
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()


def test_closing_a_meeting_asks_first(small_demo, live_server, phone_free_page):
    page = phone_free_page
    meeting = Meeting.objects.get(title="Giao ban tuần")
    briefing.meeting_start(actor=small_demo["planner"], meeting=meeting)
    log_in(page, live_server.url, "planner")
    page.goto(f"{live_server.url}/briefing/meetings/{meeting.pk}/")
    _ask_and_go_back(page, page.get_by_test_id("meeting-close"), "meeting-close")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.IN_SESSION  # nothing happened

    page.get_by_test_id("meeting-close").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("meeting-status")).to_contain_text("Đã kết thúc")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CLOSED


def test_locking_a_month_asks_first(small_demo, live_server, phone_free_page):
    page = phone_free_page
    log_in(page, live_server.url, "planner")
    page.goto(f"{live_server.url}/production/u/A-M1/")
    _ask_and_go_back(page, page.get_by_test_id("lock-month"), "lock-month")
    assert not PeriodLock.objects.exists()

    page.get_by_test_id("lock-month").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("month-locked")).to_be_visible()
    assert PeriodLock.objects.filter(unit__code="A-M1").count() == 1


def test_marking_a_directive_done_asks_first_other_progress_does_not(
    small_demo, live_server, phone_free_page
):
    page = phone_free_page
    directive = Directive.objects.get(text="Gia cố lò chợ")
    log_in(page, live_server.url, "reporter")
    page.goto(f"{live_server.url}/briefing/directives/{directive.pk}/")

    # Progress that can be changed again saves at once.
    page.get_by_test_id("progress-status").select_option("in_progress")
    page.get_by_test_id("progress-save").click()
    expect(page.get_by_test_id("directive-status")).to_contain_text("Đang thực hiện")
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()

    # Done (which only the issuer may undo) asks first; going back records nothing.
    page.get_by_test_id("progress-status").select_option("done")
    page.get_by_test_id("progress-evidence").fill("Đã gia cố 12 m, biên bản nghiệm thu")
    _ask_and_go_back(page, page.get_by_test_id("progress-save"), "directive-done")
    directive.refresh_from_db()
    assert directive.status == "in_progress"
    assert page.get_by_test_id("progress-evidence").input_value() == "Đã gia cố 12 m, biên bản nghiệm thu"

    page.get_by_test_id("progress-save").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("directive-status")).to_contain_text("Đã hoàn thành")
    directive.refresh_from_db()
    assert directive.status == "done"
