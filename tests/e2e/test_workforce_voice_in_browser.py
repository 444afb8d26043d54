"""Workers' voice in Debian's Chromium, in Vietnamese: the personnel officer records an anonymous grievance ("Ẩn
danh": the worker named is not kept), answers it and closes it; the training matrix and the income page of the
same unit, looked at. Plain form posts. Screenshots go to var/screenshots/ (wf-voice-*.png)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from headframe.workforce.models import Grievance, PayrollMonth
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.workforce.test_api import build_lamp, build_staff

pytestmark = pytest.mark.e2e


def test_anonymous_grievance_answered_and_closed(page, live_server, tree):
    build_lamp(tree)
    build_staff()
    month = timezone.localdate().replace(day=1)
    PayrollMonth.objects.create(
        unit=tree.a_m1, month=month, headcount=120, total_income=Decimal(1_860_000_000)
    )
    PayrollMonth.objects.create(
        unit=tree.a_m1,
        month=month.replace(year=month.year - 1),
        headcount=110,
        total_income=Decimal(1_540_000_000),
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "to_chuc_a")

    page.goto(f"{live_server.url}/workforce/voice/?unit=A-M1")
    page.get_by_test_id("voice-category").select_option("welfare")
    page.get_by_test_id("voice-text").fill("Nhà tắm ca ba thiếu nước nóng")
    page.get_by_test_id("voice-employee").fill("A-0001")
    page.get_by_text("Ẩn danh (không ghi người gửi)").click()
    page.get_by_test_id("voice-submit").click()
    page.wait_for_load_state("load")
    expect(page.locator(".messages")).to_contain_text("Đã ghi nhận kiến nghị")
    grievance = Grievance.objects.get()
    assert grievance.anonymous and grievance.worker is None
    row = page.get_by_test_id(f"grievance-{grievance.pk}")
    expect(row).to_contain_text("Ẩn danh")
    expect(row).to_contain_text((grievance.received_on + dt.timedelta(days=15)).strftime("%d/%m/%Y"))
    shot(page, "wf-voice-01-recorded")

    row.locator("textarea[name=answer]").fill("Đã sửa bình nước nóng trung tâm")
    row.get_by_role("button", name="Gửi trả lời").click()
    page.wait_for_load_state("load")
    page.get_by_test_id(f"close-{grievance.pk}").click()
    page.wait_for_load_state("load")
    expect(page.locator(".messages")).to_contain_text("Đã đóng kiến nghị")
    expect(page.get_by_test_id("voice-on-time")).to_have_text("100,0 %")
    shot(page, "wf-voice-02-closed")

    page.goto(f"{live_server.url}/workforce/training/?unit=A-M1")
    expect(page.get_by_test_id("training-matrix")).to_be_visible()
    shot(page, "wf-voice-03-training-matrix")
    page.goto(f"{live_server.url}/workforce/income/?unit=A")
    expect(page.get_by_test_id("income-average")).to_have_text("15.500.000")
    shot(page, "wf-voice-04-income")
