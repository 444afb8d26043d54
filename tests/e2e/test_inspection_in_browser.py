"""The tablet inspection never loses work: answers survive a photo upload (which never leaves the page), a
reload, a dropped connection and its return, and all of them reach the server. Then the phone layout. Debian's
Chromium, in Vietnamese; screenshots go to var/screenshots/."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from headframe.safety import services
from headframe.safety.models import (
    Answer,
    Inspection,
    Photo,
)
from tests.e2e.servers import SCREENSHOTS, shot
from tests.e2e.test_shell_in_browser import _log_in
from tests.factories import make_user
from tests.safety.conftest import restart_campaign_from_yesterday

pytestmark = pytest.mark.e2e

TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def inspection(tree):
    restart_campaign_from_yesterday(make_user("an_toan", ("safety_officer", "A")))
    return Inspection.objects.get(position__code="A-M1-K1-F1")


def _choose(page, code, value):
    page.locator(f"label:has([data-testid='{value}-{code}'])").click()


def _stored(inspection) -> dict:
    out = {}
    for a in Answer.objects.filter(inspection=inspection).select_related("item"):
        value = a.choice or (f"{a.number:g}" if a.number is not None else a.text)
        out[a.item.code] = (value, a.note)
    return out


def _wait_stored(page, inspection, expected: dict) -> dict:
    """What the server holds, once it holds what is expected (or after ~15 s of trying)."""
    stored = {}
    for _ in range(60):
        stored = _stored(inspection)
        if all(stored.get(k) == v for k, v in expected.items()):
            break
        page.wait_for_timeout(250)
    return stored


def test_no_answer_is_lost_across_upload_reload_and_offline(page, live_server, inspection):
    page.set_viewport_size(TABLET)
    _log_in(page, live_server, "an_toan")
    page.goto(f"{live_server.url}/safety/inspections/{inspection.pk}/")
    expect(page.get_by_test_id("inspection-form")).to_be_visible()

    # 1. Answer a few items, then attach a photo: the page must not navigate away.
    _choose(page, "G-METER", "pass")
    page.get_by_test_id("number-G-CH4").fill("0,4")
    _choose(page, "R-SHIELDS", "fail")
    page.get_by_test_id("note-R-SHIELDS").fill("Cột chống số 35–38 tụt áp")
    url_before = page.url
    photo_item = page.locator("#q-R-PHOTO")
    photo_item.locator("input[type=file]").set_input_files(
        files=[{"name": "noc.png", "mimeType": "image/png", "buffer": _png()}]
    )
    button = photo_item.locator("button").first
    if button.is_visible():  # without the script (or on the old page) the photo goes with a button
        button.click()
    expect(photo_item.locator(".photos img")).to_have_count(1)
    assert page.url == url_before
    expect(page.get_by_test_id("pass-G-METER")).to_be_checked()
    expect(page.get_by_test_id("number-G-CH4")).to_have_value("0,4")
    shot(page, "70-inspection-after-upload")

    # 2. Reload: everything is still there.
    page.reload()
    expect(page.get_by_test_id("pass-G-METER")).to_be_checked()
    expect(page.get_by_test_id("fail-R-SHIELDS")).to_be_checked()
    expect(page.get_by_test_id("note-R-SHIELDS")).to_have_value("Cột chống số 35–38 tụt áp")
    expect(page.get_by_test_id("number-G-CH4")).to_have_value("0,4")

    # 3. The connection drops: answer more, they are kept on the tablet.
    page.context.set_offline(True)
    page.get_by_test_id("number-G-CO").fill("3")
    _choose(page, "V-FAN", "pass")
    _choose(page, "G-SENSORS", "pass")
    page.get_by_test_id("note-G-SENSORS").fill("Đã so với trung tâm")
    shot(page, "71-inspection-offline")

    # 4. Back online: every answer reaches the server.
    page.context.set_offline(False)
    expected = {
        "G-METER": ("pass", ""),
        "G-CH4": ("0.4", ""),
        "R-SHIELDS": ("fail", "Cột chống số 35–38 tụt áp"),
        "G-CO": ("3", ""),
        "V-FAN": ("pass", ""),
        "G-SENSORS": ("pass", "Đã so với trung tâm"),
    }
    stored = _wait_stored(page, inspection, expected)
    assert {k: stored.get(k) for k in expected} == expected
    assert Photo.objects.filter(inspection=inspection, item__code="R-PHOTO").count() == 1
    page.reload()
    expect(page.get_by_test_id("number-G-CO")).to_have_value("3")
    shot(page, "72-inspection-back-online")


def test_a_photo_taken_offline_waits_on_the_tablet_and_goes_when_back(page, live_server, inspection):
    page.set_viewport_size(TABLET)
    _log_in(page, live_server, "an_toan")
    url = f"{live_server.url}/safety/inspections/{inspection.pk}/"
    page.goto(url)
    expect(page.get_by_test_id("inspection-form")).to_be_visible()
    context = page.context
    context.set_offline(True)
    page.get_by_test_id("photo-file-R-SHIELDS").set_input_files(
        files=[{"name": "cot-chong.png", "mimeType": "image/png", "buffer": _png()}]
    )
    queued = page.get_by_test_id("photos-R-SHIELDS").locator("[data-queued-photo] img")
    expect(queued).to_have_count(1, timeout=15_000)
    expect(page.get_by_test_id("photo-queue")).to_be_visible()
    expect(page.get_by_test_id("photo-queue")).to_contain_text("1")
    shot(page, "73-inspection-photo-kept-offline")
    page.get_by_test_id("q-R-SHIELDS").screenshot(
        path=str(SCREENSHOTS / "73-inspection-photo-kept-offline-item.png")
    )
    assert not Photo.objects.filter(inspection=inspection).exists()

    # The inspector closes the page while still offline; later, online, opens it again: the photo was kept on
    # the tablet and is sent by itself.
    page.close()
    context.set_offline(False)
    again = context.new_page()
    again.goto(url)
    photos = again.get_by_test_id("photos-R-SHIELDS")
    expect(photos.locator("a img")).to_have_count(1, timeout=20_000)
    expect(photos.locator("[data-queued-photo]")).to_have_count(0, timeout=20_000)
    expect(again.get_by_test_id("photo-queue")).to_be_hidden()
    stored = []
    for _ in range(80):
        stored = list(Photo.objects.filter(inspection=inspection).values_list("item__code", flat=True))
        if stored:
            break
        again.wait_for_timeout(250)
    assert stored == ["R-SHIELDS"]
    again.reload()  # sent once: nothing is left in the queue to send twice
    expect(again.get_by_test_id("photos-R-SHIELDS").locator("img")).to_have_count(1)
    assert Photo.objects.filter(inspection=inspection).count() == 1
    shot(again, "74-inspection-photo-sent-when-back")


def _wider_than_viewport(page) -> list[str]:
    return page.evaluate(
        """() => { const w = document.documentElement.clientWidth; const out = [];
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.width > 0 && (r.right > w + 1 || r.left < -1) && getComputedStyle(el).position !== 'fixed')
            out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
        } return out.slice(0, 10); }"""
    )


def test_phone_photo_on_any_item_signature_and_pdf(page, live_server, inspection):
    page.set_viewport_size(PHONE)
    _log_in(page, live_server, "an_toan")
    page.goto(f"{live_server.url}/safety/inspections/{inspection.pk}/")
    expect(page.get_by_test_id("inspection-form")).to_be_visible()
    total = inspection.template.items.count()
    expect(page.get_by_test_id("progress")).to_have_text(f"Đã trả lời 0/{total}")

    # No sideways scrolling on a 390 px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _wider_than_viewport(page) == []
    shot(page, "73-inspection-phone")

    # A photo that is not an image is refused in place; nothing leaves the page.
    page.get_by_test_id("photo-file-R-SHIELDS").set_input_files(
        files=[{"name": "bao-cao.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4 not a photo"}]
    )
    expect(page.locator("[data-photo-item='R-SHIELDS'] [data-upload-error]")).to_contain_text("JPEG")
    # A real photo on a pass/fail item (not a photo item), with a note.
    _choose(page, "R-SHIELDS", "fail")
    page.get_by_test_id("note-R-SHIELDS").fill("Cột 35 tụt áp")
    page.get_by_test_id("photo-file-R-SHIELDS").set_input_files(
        files=[{"name": "cot.png", "mimeType": "image/png", "buffer": _png()}]
    )
    expect(page.get_by_test_id("photos-R-SHIELDS").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("progress")).to_have_text(f"Đã trả lời 1/{total}")

    # Answer the rest, draw the signature, sign: every button is reachable on the phone.
    numbers = {"G-CH4": "0,4", "G-CO": "3", "G-O2": "20,8", "V-VEL": "1,2", "V-FLOW": "420", "E-EARTH": "1,1"}
    for item in inspection.template.items.order_by("section__order", "order"):
        if item.answer_type == "pass_fail_na" and item.code != "R-SHIELDS":
            _choose(page, item.code, "pass")
        elif item.answer_type == "number":
            page.get_by_test_id(f"number-{item.code}").fill(numbers[item.code])
    pad = page.get_by_test_id("signature-pad")
    pad.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = pad.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + box["height"] * (0.7 - 0.04 * (step % 5)))
    page.mouse.up()
    shot(page, "74-inspection-phone-signature")
    sign = page.get_by_test_id("sign")
    sign_box = sign.bounding_box()
    assert sign_box["x"] >= 0 and sign_box["x"] + sign_box["width"] <= PHONE["width"]
    sign.click()
    expect(page.get_by_test_id("inspection-result")).to_have_text("Không đạt")
    expect(page.get_by_test_id("signature-image")).to_be_visible()
    inspection.refresh_from_db()
    assert inspection.signature is not None
    shot(page, "75-inspection-phone-signed")

    # The PDF of the inspection.
    with page.expect_download() as download:
        page.get_by_test_id("inspection-pdf").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_finding_responsible_deadline_and_priority_on_a_tablet(page, live_server, inspection):
    from headframe.safety.models import Finding
    from headframe.safety.services import AnswerIn

    safety = inspection.campaign.created_by if hasattr(inspection.campaign, "created_by") else None
    safety = safety or make_user("an_toan_2", ("safety_officer", "A"))
    make_user("to_truong", ("reporter", "A-M1-K1"))
    make_user("ngoai", ("reporter", "B"))
    services.answers_save(
        actor=safety,
        inspection_id=inspection.pk,
        answers=[AnswerIn("V-FAN", choice="fail", note="quạt rung")],
    )
    finding = Finding.objects.create(
        position=inspection.position,
        severity="major",
        title="V-FAN: quạt rung",
        deadline=timezone.localdate() + dt.timedelta(days=3),
    )
    page.set_viewport_size(TABLET)
    _log_in(page, live_server, "an_toan")
    page.goto(f"{live_server.url}/safety/findings/{finding.pk}/")
    # A deadline in the past is refused at the field, nothing changes.
    page.get_by_test_id("edit-deadline").fill((timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.get_by_test_id("edit-finding").click()
    expect(page.get_by_test_id("edit-error-deadline")).to_contain_text("đã qua")
    shot(page, "76-finding-edit-error")
    # The person outside the unit is not offered; someone of the unit is.
    assert page.get_by_test_id("edit-responsible-user").locator("option[value='ngoai']").count() == 0
    page.get_by_test_id("edit-responsible-user").select_option("to_truong")
    new = timezone.localdate() + dt.timedelta(days=6)
    page.get_by_test_id("edit-deadline").fill(new.isoformat())
    page.get_by_test_id("edit-severity").select_option("critical")
    page.get_by_test_id("edit-finding").click()
    expect(page.get_by_test_id("finding-deadline")).to_have_text(new.strftime("%d/%m/%Y"))
    expect(page.get_by_test_id("finding-responsible")).to_contain_text("to_truong")
    finding.refresh_from_db()
    assert (finding.severity, finding.responsible_user.username, finding.deadline) == (
        "critical",
        "to_truong",
        new,
    )
    shot(page, "77-finding-edited")
