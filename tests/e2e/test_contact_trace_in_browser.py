"""The contact trace in Debian's Chromium, in Vietnamese: a medical officer opens the epidemic register, goes to a
case's trace, sees the contacts (same shift at the same face; same cage down and up), widens the cage window and
downloads the trace as a workbook. Screenshots go to var/screenshots/ (epi-*.png)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from headframe.workforce.models import Presence
from headframe.workforce.services import epidemic
from tests.e2e.servers import shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_user
from tests.workforce.conftest import make_worker, roster

pytestmark = pytest.mark.e2e


@pytest.fixture
def outbreak(tree):
    """An is the case (isolated from today); three days ago Bình worked her shift at her face, Cường went down and
    came up in her cage, Dũng went down 25 minutes after her."""
    today = timezone.localdate()
    day = today - dt.timedelta(days=3)
    face = tree.a_m1_k1_f1
    ann = make_worker("A001", tree.a_m1_k1, tag="T-A1", name="Nguyễn Thị An")
    binh = make_worker("A002", tree.a_m1_k1, tag="T-A2", name="Trần Văn Bình")
    cuong = make_worker("A003", tree.a_m1_k2, tag="T-A3", name="Lê Văn Cường")
    dung = make_worker("A004", tree.a_m1_k2, tag="T-A4", name="Đỗ Văn Dũng")
    for worker, shift in ((ann, 1), (binh, 1), (cuong, 2)):
        roster(worker, face, day, shift)
    for worker, (down, up) in {ann: (350, 850), cuong: (356, 855), dung: (375, 920)}.items():
        start = timezone.make_aware(dt.datetime.combine(day, dt.time(0)))
        Presence.objects.create(
            worker=worker,
            site=tree.a_m1,
            checked_in_at=start + dt.timedelta(minutes=down),
            checked_out_at=start + dt.timedelta(minutes=up),
        )
    medical = make_user("y_te_a", ("medical", "A"))
    case = epidemic.case_record(
        actor=medical, employee_no="A001", confirmed_on=today, isolation_from=today, note="Sốt, ho"
    )
    return case


def test_medical_officer_traces_a_case_and_downloads_the_workbook(page, live_server, outbreak):
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "y_te_a")
    page.goto(f"{live_server.url}/workforce/epidemic/?unit=A")
    expect(page.get_by_test_id(f"case-{outbreak.pk}")).to_contain_text("Nguyễn Thị An")
    expect(page.get_by_test_id("epi-isolating")).to_have_text("1")
    shot(page, "epi-01-register")

    page.get_by_test_id(f"trace-link-{outbreak.pk}").click()
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("trace-total")).to_have_text("2")
    expect(page.get_by_test_id("contact-A002")).to_contain_text("cùng ca")
    expect(page.get_by_test_id("contact-A002")).to_contain_text("A-M1-K1-F1")
    expect(page.get_by_test_id("contact-A003")).to_contain_text("cùng chuyến xuống lò")
    expect(page.get_by_test_id("contact-A004")).to_have_count(0)
    shot(page, "epi-02-trace")

    page.get_by_test_id("trace-cage").fill("30")
    page.get_by_test_id("trace-run").click()
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("trace-total")).to_have_text("3")
    expect(page.get_by_test_id("contact-A004")).to_contain_text("Đỗ Văn Dũng")
    shot(page, "epi-03-trace-wider-cage")

    with page.expect_download() as download:
        page.get_by_test_id("trace-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as stream:
        sheet = load_workbook(io.BytesIO(stream.read())).active
    assert [c.value for c in sheet[1]][:2] == ["Mã nhân viên", "Họ và tên"]
    assert sorted(c.value for c in sheet["A"][1:]) == ["A002", "A003", "A004"]
