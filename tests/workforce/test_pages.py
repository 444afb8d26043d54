"""The workforce pages, in Vietnamese: who is underground now (overdue first, marked), the lamp-room terminal
(check-in, refusal with every reason, the overman's override, check-out; plain form posts that redirect), and the
muster list (page and PDF). Another company's mine answers 404; no English service message reaches the page."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.utils import timezone

from headframe.workforce.models import Presence
from tests.factories import PASSWORD, make_user
from tests.workforce.test_api import _down, build_lamp, build_staff


@pytest.fixture
def lamp(daytime, tree):
    """A-M1's people, course and rosters (see tests/workforce/test_api.py build_lamp)."""
    return build_lamp(tree)


@pytest.fixture
def staff(tree):
    return build_staff()


pytestmark = pytest.mark.django_db

# English service messages that must never reach a Vietnamese page (as the crawl checks them).
ENGLISH = ["unknown", "not found", "you may not", "outside your scope", "required", "expired on", "rostered"]


@pytest.fixture
def as_user(client):
    def log_in(user, language: str = "vi"):
        client.logout()
        client.login(username=user.username, password=PASSWORD)
        client.cookies["django_language"] = language
        return client

    return log_in


def _text(response) -> str:
    """The page's visible text (tags and attribute values dropped)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _no_english(text: str) -> None:
    for phrase in ENGLISH:
        assert not re.search(rf"\b{re.escape(phrase)}\b", text), phrase


def _post(client, site: str, **data):
    return client.post(f"/workforce/lamp-room/{site}/", data)


# --- who is underground now ---------------------------------------------------------------------------------


def test_overview_lists_the_overdue_first_and_marked(as_user, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 0.5)
    _down(lamp.other, tree.a_m1, 30)
    client = as_user(staff.viewer)
    response = client.get("/workforce/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="count-A-M1">2<' in html
    overdue = html.index('data-testid="person-A-0004"')
    assert overdue < html.index('data-testid="person-A-0001"')
    assert 'class="overdue" data-testid="person-A-0004"' in html
    text = _text(response)
    assert "Đang dưới lò" in text and "quá giờ" in text and "thợ" in text.lower()
    _no_english(text)


def test_overview_lists_certificates_lapsed_and_expiring(as_user, lamp, staff):
    response = as_user(staff.viewer).get("/workforce/")
    html = response.content.decode()
    assert 'data-testid="expiring-count-0">1<' in html  # Lê Văn Bình's training lapsed ten days ago
    assert "Lê Văn Bình" in html and "Chứng chỉ sắp hết hạn" in html
    expired = (lamp.today - dt.timedelta(days=10)).strftime("%d/%m/%Y")
    assert expired in html


def test_overview_shows_nothing_of_another_company(as_user, lamp, staff, tree):
    _down(lamp.b, tree.b_m1, 1)
    html = as_user(staff.viewer).get("/workforce/").content.decode()
    assert "Hoàng Thị Bé" not in html and "B-M1" not in html


def test_overview_follows_the_unit_picked_in_the_shell(as_user, lamp, tree):
    _down(lamp.ok, tree.a_m1, 1)
    _down(lamp.b, tree.b_m1, 1)
    client = as_user(make_user("xem_tap_doan", ("viewer", "G")))
    everything = client.get("/workforce/").content.decode()
    assert "Hoàng Thị Bé" in everything and "Trần Văn An" in everything
    client.post("/unit-picker/", {"unit": "A", "next": "/workforce/"})
    picked = client.get("/workforce/").content.decode()
    assert "Trần Văn An" in picked and "Hoàng Thị Bé" not in picked
    assert "Còn 1 người dưới lò ở các mỏ ngoài đơn vị đang chọn." in picked


def test_navigation_leads_to_the_workforce_pages(as_user, staff):
    html = as_user(staff.viewer).get("/workforce/").content.decode()
    assert 'data-testid="nav-workforce"' in html and 'href="/workforce/"' in html


# --- the lamp room ------------------------------------------------------------------------------------------


def test_lamp_room_terminal_has_one_big_field_with_autofocus(as_user, lamp, staff):
    response = as_user(staff.lamp).get("/workforce/lamp-room/A-M1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<input id="tag"[^>]*autofocus', html)
    assert "Vào lò" in html and "Ra lò" in html
    assert "<script>" not in html and "style=" not in html  # CSP: 'self' only


def test_check_in_shows_the_person_in_green(as_user, lamp, staff):
    client = as_user(staff.lamp)
    response = _post(client, "A-M1", tag="1001", action="in")
    assert response.status_code == 302 and response["Location"] == "/workforce/lamp-room/A-M1/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'data-testid="result-ok"' in html and "Trần Văn An" in html
    assert "thợ lò" in html.lower() and "A-M1-K1-F1" in html
    assert Presence.objects.get(worker=lamp.ok).checked_in_by == staff.lamp
    # the answer is shown once: a reload shows the empty terminal
    assert 'data-testid="result-ok"' not in client.get("/workforce/lamp-room/A-M1/").content.decode()


def test_refusal_shows_every_reason_in_vietnamese(as_user, lamp, staff):
    client = as_user(staff.lamp)
    page = client.get(_post(client, "A-M1", tag="1003", action="in")["Location"])
    html = page.content.decode()
    assert 'data-testid="result-refused"' in html and "KHÔNG ĐƯỢC XUỐNG LÒ" in html
    reasons = re.search(r'data-testid="reasons">(.*?)</ul>', html, re.S).group(1)
    assert reasons.count("<li>") == 3
    assert "Phạm Văn Cường" in reasons and ("ATVSLD-N3" in reasons or "an toàn" in reasons)
    assert " V" in reasons  # health class V, in Roman numerals
    _no_english(_text(page))
    assert 'data-testid="override-form"' not in html  # a lamp-room operator cannot override
    assert not Presence.objects.exists()


def test_lapsed_training_is_named_with_its_day(as_user, lamp, staff):
    client = as_user(staff.lamp)
    html = client.get(_post(client, "A-M1", tag="1002", action="in")["Location"]).content.decode()
    expired = (lamp.today - dt.timedelta(days=10)).strftime("%d/%m/%Y")
    assert expired in html and "Lê Văn Bình" in html


def test_overman_overrides_with_a_reason(as_user, lamp, staff):
    client = as_user(staff.overman)
    refused = client.get(_post(client, "A-M1", tag="1002", action="in")["Location"]).content.decode()
    assert 'data-testid="override-form"' in refused and "Cho phép xuống lò (quản đốc)" in refused
    response = _post(
        client, "A-M1", tag="1002", action="override", override_reason="Đã huấn luyện lại, chờ cấp chứng chỉ"
    )
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="result-ok"' in html and 'data-testid="result-override"' in html
    presence = Presence.objects.get(worker=lamp.lapsed)
    assert presence.override_by == staff.overman
    assert presence.override_reason == "Đã huấn luyện lại, chờ cấp chứng chỉ"
    assert [r["type"] for r in presence.refusals] == ["training_lapsed"]


def test_override_without_a_reason_lets_no_one_down(as_user, lamp, staff):
    client = as_user(staff.overman)
    html = client.get(
        _post(client, "A-M1", tag="1002", action="override", override_reason="  ")["Location"]
    ).content.decode()
    assert "Hãy ghi lý do cho phép xuống lò." in html
    assert not Presence.objects.exists()


def test_unknown_tag_is_shown_in_red_in_vietnamese(as_user, lamp, staff):
    client = as_user(staff.lamp)
    page = client.get(_post(client, "A-M1", tag="9999", action="in")["Location"])
    assert 'data-testid="result-refused"' in page.content.decode() and "9999" in page.content.decode()
    _no_english(_text(page))


def test_empty_tag_asks_for_the_number(as_user, lamp, staff):
    client = as_user(staff.lamp)
    html = client.get(_post(client, "A-M1", tag=" ", action="in")["Location"]).content.decode()
    assert "Hãy nhập số thẻ đèn." in html


def test_check_out_and_the_latest_list(as_user, lamp, staff):
    client = as_user(staff.lamp)
    _post(client, "A-M1", tag="1001", action="in")
    page = client.get(_post(client, "A-M1", tag="1001", action="out")["Location"])
    html = page.content.decode()
    assert 'data-testid="result-ok"' in html and "Đã ra lò" in html
    recent = re.search(r'data-testid="recent">(.*?)</table>', html, re.S).group(1)
    assert recent.count("A-0001") == 2  # the check-in and the check-out
    assert Presence.objects.get(worker=lamp.ok).checked_out_at is not None


def test_check_out_of_someone_not_underground_is_refused(as_user, lamp, staff):
    client = as_user(staff.lamp)
    page = client.get(_post(client, "A-M1", tag="1001", action="out")["Location"])
    assert 'data-testid="result-refused"' in page.content.decode()
    _no_english(_text(page))


def test_lamp_room_needs_the_lamp_room_role(as_user, lamp, staff):
    client = as_user(staff.viewer)
    refused = client.get("/workforce/lamp-room/A-M1/")
    assert refused.status_code == 403 and "Không có quyền truy cập" in refused.content.decode()
    _no_english(_text(refused))
    assert client.post("/workforce/lamp-room/A-M1/", {"tag": "1001", "action": "in"}).status_code == 403
    assert not Presence.objects.exists()


def test_lamp_room_of_another_companys_mine_is_404(as_user, lamp, staff):
    client = as_user(staff.lamp)
    assert client.get("/workforce/lamp-room/B-M1/").status_code == 404
    assert client.get("/workforce/lamp-room/Z-M1/").status_code == 404
    assert client.post("/workforce/lamp-room/B-M1/", {"tag": "2001", "action": "in"}).status_code == 404
    assert not Presence.objects.exists()


# --- the muster list ----------------------------------------------------------------------------------------


def test_muster_list_page(as_user, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 1)
    _down(lamp.bad, tree.a_m1, 1)
    response = as_user(staff.viewer).get("/workforce/muster/A-M1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="muster-total">2<' in html
    assert "A-M1-K1-F1" in html and "Trần Văn An" in html and "Phạm Văn Cường" in html
    assert "Tải PDF" in html and 'href="/workforce/muster/A-M1.pdf"' in html
    generated = timezone.localtime().strftime("%d/%m/%Y")
    assert generated in html
    _no_english(_text(response))


def test_muster_pdf(as_user, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 1)
    response = as_user(staff.viewer).get("/workforce/muster/A-M1.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert "muster-A-M1-" in response["Content-Disposition"]
    if shutil.which("pdftotext"):  # the vendored Noto Sans keeps the Vietnamese diacritics
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
        ).stdout.decode()
        assert "Danh sách người dưới lò" in text and "Trần Văn An" in text and "A-M1-K1-F1" in text


def test_muster_of_another_companys_mine_is_404(as_user, lamp, staff, tree):
    _down(lamp.b, tree.b_m1, 1)
    client = as_user(staff.viewer)
    assert client.get("/workforce/muster/B-M1/").status_code == 404
    assert client.get("/workforce/muster/B-M1.pdf").status_code == 404


def test_pages_in_english_when_chosen(as_user, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 1)
    client = as_user(staff.lamp, language="en")
    assert "Underground now" in client.get("/workforce/").content.decode()
    assert "Check in" in client.get("/workforce/lamp-room/A-M1/").content.decode()
    assert "Muster list" in client.get("/workforce/muster/A-M1/").content.decode()
