"""Forms without dead ends, in Debian's Chromium at 1366×768 in Vietnamese: the day form shows a whole-day
figure and converts it to shifts, moves with Enter without saving half a form and says a safety hold once before
typing; the meeting's directive form keeps what was typed and lists the owner unit's people; a bad date in an
address gives a Vietnamese page with the navigation. Screenshots go to var/screenshots/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from headframe.org import services as org_services
from headframe.production import services
from headframe.production.models import Actual
from tests.briefing.helpers_meetings import bridge_points, meeting
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_user

pytestmark = pytest.mark.e2e

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def day_form(tree, indicator_catalogue):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    services.plan_version_create(
        actor=None,
        unit_code="A-M1-K1-F1",
        year=yesterday.year,
        effective_from=dt.date(yesterday.year, 1, 1),
        values={"raw_coal_t": 730000},
    )
    services.actuals_upsert(
        actor=None,
        rows=[services.ActualRow("A-M1-K1-F1", "raw_coal_t", yesterday, 0, 1800)],
        source="xlsx",
    )
    make_user("to_truong", ("reporter", "A-M1"))
    return yesterday


def test_day_form_converts_a_whole_day_to_shifts_and_enter_never_saves(page, live_server, day_form):
    yesterday = day_form
    page.set_viewport_size(SCREEN)
    _log_in(page, live_server, "to_truong")
    page.goto(f"{live_server.url}/production/entry/?unit=A-M1-K1-F1&date={yesterday:%d/%m/%Y}")
    whole = page.get_by_test_id("v-0-raw_coal_t")
    expect(whole).to_have_value("1.800")  # the template's whole-day figure, on the form
    expect(page.get_by_test_id("plan-raw_coal_t")).to_have_text("2.000,0")
    expect(page.get_by_test_id("total-raw_coal_t")).to_have_text("1.800,0")
    shot(page, "forms-01-day-form-whole-day")

    whole.fill("")
    whole.press("Enter")
    expect(page.get_by_test_id("v-1-raw_coal_t")).to_be_focused()
    page.keyboard.type("700")
    page.keyboard.press("Enter")
    page.keyboard.type("650,5")
    page.keyboard.press("Enter")
    page.keyboard.type("500")
    expect(page.get_by_test_id("v-3-raw_coal_t")).to_be_focused()  # the last row
    page.keyboard.press("Enter")  # moves on, like a spreadsheet: nothing is saved
    expect(page.get_by_test_id("v-3-raw_coal_t")).not_to_be_focused()
    expect(page.locator(".messages")).to_have_count(0)
    expect(page.get_by_test_id("total-raw_coal_t")).to_have_text("1.850,5")  # the running total
    assert set(Actual.objects.values_list("shift", flat=True)) == {0}
    shot(page, "forms-02-day-form-shifts-typed")

    page.get_by_test_id("entry-save").click()
    expect(page.locator(".messages")).to_contain_text("3")
    expect(page.get_by_test_id("v-0-raw_coal_t")).to_have_value("")
    expect(page.get_by_test_id("v-2-raw_coal_t")).to_have_value("650,5")
    assert dict(Actual.objects.values_list("shift", "value")) == {
        1: Decimal("700"),
        2: Decimal("650.5"),
        3: Decimal("500"),
    }
    shot(page, "forms-03-day-form-converted")


def test_day_form_says_a_safety_hold_once_before_typing(page, live_server, day_form):
    from headframe.safety import services as safety
    from headframe.safety.checklists import load_restart_templates
    from headframe.safety.models import ChecklistTemplate, TemplateItem, TemplateSection

    yesterday = day_form
    if not ChecklistTemplate.objects.exists():  # a live_server test runs on a flushed database
        load_restart_templates(ChecklistTemplate, TemplateSection, TemplateItem)
    officer = make_user("an_toan", ("safety_officer", "A"))
    safety.campaign_create(
        actor=officer,
        code="KHOI-DONG",
        title_vi="Kiểm tra trước khi sản xuất trở lại",
        title_en="Restart check",
        unit_codes=["A-M1"],
        starts_on=yesterday - dt.timedelta(days=1),
        due_on=yesterday + dt.timedelta(days=3),
        teams={"A-M1": "Tổ kiểm tra"},
        now=timezone.now() - dt.timedelta(days=2),
    )
    page.set_viewport_size(SCREEN)
    _log_in(page, live_server, "to_truong")
    page.goto(f"{live_server.url}/production/entry/?unit=A-M1-K1-F1&date={yesterday:%d/%m/%Y}")
    notice = page.get_by_test_id("entry-gate")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Không thể nhập số liệu cho vị trí này")
    expect(page.get_by_test_id("v-1-raw_coal_t")).to_be_disabled()
    expect(page.get_by_test_id("entry-save")).to_be_disabled()
    shot(page, "forms-04-day-form-safety-hold")
    page.get_by_test_id("entry-gate-link").click()
    expect(page).to_have_url(f"{live_server.url}/safety/readiness/")


@pytest.fixture
def meeting_room(tree):
    bridge_points(tree)
    org_services.person_create(actor=None, employee_no="P-A", full_name="Nguyễn Văn An", unit_code="A-M1")
    org_services.person_create(actor=None, employee_no="P-B", full_name="Trần Thị Bình", unit_code="B")
    chair = make_user("chu_tri", ("planner", "G"))
    return meeting(unit="G", actor=chair)


def test_directive_form_keeps_what_was_typed_and_follows_the_owner(page, live_server, meeting_room):
    page.set_viewport_size(SCREEN)
    _log_in(page, live_server, "chu_tri")
    page.goto(f"{live_server.url}/briefing/meetings/{meeting_room.pk}/")
    person = page.get_by_test_id("directive-person")
    page.get_by_test_id("directive-owner").select_option("B")
    expect(person.locator("option")).to_have_count(2)  # "—" and the one person of B
    expect(person.locator("option").nth(1)).to_have_text("B · Trần Thị Bình")
    page.get_by_test_id("directive-owner").select_option("A")
    expect(person.locator("option").nth(1)).to_have_text("A-M1 · Nguyễn Văn An")
    expect(person.locator("option")).to_have_count(2)
    person.select_option("P-A")
    page.get_by_test_id("directive-text").fill("Kiểm tra lại băng tải số 3")
    page.get_by_test_id("directive-deadline").fill("31/31/2026")
    page.get_by_test_id("directive-form").locator("select[name=priority]").select_option("high")
    page.get_by_test_id("directive-form").scroll_into_view_if_needed()
    shot(page, "forms-05-directive-typed")
    page.get_by_test_id("directive-save").click()

    expect(page.get_by_test_id("directive-error-deadline")).to_have_count(1)
    expect(page.get_by_test_id("directive-error-deadline")).to_contain_text("dd/mm/yyyy")
    expect(page.locator(".messages")).to_have_count(0)  # said once, next to its field
    expect(page.get_by_test_id("directive-text")).to_have_value("Kiểm tra lại băng tải số 3")
    expect(page.get_by_test_id("directive-owner")).to_have_value("A")
    expect(person).to_have_value("P-A")
    expect(page.get_by_test_id("directive-deadline")).to_have_value("31/31/2026")
    shot(page, "forms-06-directive-refused-kept")

    page.get_by_test_id("directive-deadline").fill(f"{timezone.localdate() + dt.timedelta(days=10):%d/%m/%Y}")
    page.get_by_test_id("directive-save").click()
    expect(page.get_by_test_id("meeting-directives")).to_contain_text("Kiểm tra lại băng tải số 3")


def test_bad_date_in_an_address_is_a_vietnamese_page_with_the_way_back(page, live_server, tree):
    make_user("xem", ("viewer", "A"))
    page.set_viewport_size(SCREEN)
    _log_in(page, live_server, "xem")
    response = page.goto(f"{live_server.url}/production/u/A/?date=99/99/2026")
    assert response.status == 400
    expect(page.get_by_test_id("bad-request-page")).to_contain_text("Địa chỉ không hợp lệ")
    expect(page.get_by_test_id("bad-parameter")).to_contain_text("“date”")
    expect(page.get_by_test_id("bad-parameter")).to_contain_text("99/99/2026")
    expect(page.locator("body")).not_to_contain_text("Bad Request")
    shot(page, "forms-07-bad-date")
    page.get_by_test_id("bad-request-back").click()
    expect(page).to_have_url(f"{live_server.url}/production/u/A/")
