"""Monitoring pages: what each user may see and do, values in Vietnamese, the live stream."""

import json
import re
import time
from functools import partial
from html.parser import HTMLParser

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone, translation

from headframe.telemetry import services
from headframe.telemetry.models import Alarm, AlarmCondition, AlarmJournal, Limit
from headframe.telemetry.views import live, pages
from tests import seeds
from tests.factories import make_user
from tests.telemetry.streams import in_a_thread_of_its_own


def now_ms() -> int:
    return int(time.time() * 1000)


def banner_hidden(html: str) -> bool:
    tag = re.search(r'<div class="alarm-banner"[^>]*>', html).group(0)
    return " hidden" in tag


@pytest.fixture(autouse=True)
def limit_profiles(db):
    """A transactional test elsewhere may have flushed what migration telemetry/0002 loads: put it back."""
    seeds.limit_profiles()


@pytest.fixture
def people(users):
    users.dispatcher_a = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    users.safety_a = make_user("an_toan_a", ("safety_officer", "A"))
    users.viewer_b = make_user("viewer_b", ("viewer", "B"))
    return users


@pytest.fixture
def methane_trip(mine, send):
    """CH₄ 1,25 % at the face for 12 s: the urgent trip (≥ 1,0 %) and the high warning (≥ 0,8 %) raise."""
    t = now_ms()
    send([("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t)
    send([("A1-CO-01", t - 1000, 4.0), ("A1-O2-01", t - 1000, 20.7), ("A1-PUMP-01", t - 1000, 1.0)], now_ms=t)
    return AlarmCondition.objects.get(sensor=mine.ch4, limit_code="ch4_face_return_trip")


def test_group_page_lists_each_mine_with_its_worst_state_and_alarm_counts(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    page = client.get("/telemetry/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="mine-A-M1" data-worst="alarm"' in html
    assert 'data-testid="active-A-M1">2<' in html
    assert 'href="/telemetry/A-M1/"' in html


def test_a_user_of_another_company_cannot_open_the_mine(client, people, methane_trip):
    client.force_login(people.viewer_b)
    assert client.get("/telemetry/A-M1/").status_code == 404
    assert client.get("/telemetry/A-M1/alarms/").status_code == 404
    assert client.get("/telemetry/A-M1/stream").status_code == 404
    assert client.get("/telemetry/sensor/A1-CH4-01/").status_code == 404
    assert client.post(f"/telemetry/alarms/{methane_trip.id}/ack/", {"comment": "x"}).status_code == 404
    assert "A-M1" not in client.get("/telemetry/").content.decode()


def test_pages_need_a_login(client, mine):
    assert client.get("/telemetry/A-M1/").status_code == 302
    assert client.get("/telemetry/A-M1/stream").status_code == 401


def test_a_company_unit_is_not_a_mine_page(client, people, mine):
    client.force_login(people.viewer_a)
    assert client.get("/telemetry/A/").status_code == 404


def test_viewer_sees_the_alarms_but_no_buttons_to_handle_them(client, people, methane_trip):
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'data-testid="alarm-A1-CH4-01-ch4_face_return_trip"' in html
    assert 'data-testid="ack-' not in html and 'data-testid="shelve-' not in html


def test_dispatcher_may_ack_and_shelve_but_not_shelve_a_methane_trip(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    trip = methane_trip.id
    warn = AlarmCondition.objects.get(sensor=methane_trip.sensor, limit_code="ch4_face_return_warn").id
    assert f'data-testid="ack-{trip}"' in html and f'data-testid="ack-{warn}"' in html
    assert f'data-testid="shelve-{warn}"' in html
    assert f'data-testid="shelve-{trip}"' not in html  # a methane trip limit cannot be shelved


def test_values_are_shown_the_vietnamese_way_and_in_english_on_request(client, people, methane_trip):
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'data-testid="value-A1-CH4-01">1,25<' in html
    assert 'data-testid="value-A1-O2-01">20,7<' in html
    assert 'data-testid="value-A1-PUMP-01">chạy<' in html
    client.cookies["django_language"] = "en"
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'data-testid="value-A1-CH4-01">1.25<' in html
    assert 'data-testid="value-A1-PUMP-01">running<' in html


def test_unacknowledged_alarm_flashes_its_sensor_and_shows_the_banner(client, people, methane_trip):
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'class="sensor st-alarm flash" role="button" tabindex="0" data-sensor="A1-CH4-01"' in html
    assert 'class="sensor st-normal" role="button" tabindex="0" data-sensor="A1-CO-01"' in html
    assert not banner_hidden(html)


def test_a_silent_sensor_is_grey(client, people, mine, send):
    t = now_ms()
    send([("A1-CO-01", t - 10 * 60_000, 4.0)], now_ms=t)  # ten minutes ago, period 10 s
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'class="sensor st-stale is-stale" role="button" tabindex="0" data-sensor="A1-CO-01"' in html
    assert banner_hidden(html)  # nothing to acknowledge


def test_ack_from_the_page_keeps_the_comment_and_answers_the_fresh_list(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    answer = client.post(
        f"/telemetry/alarms/{methane_trip.id}/ack/",
        {"comment": "Đã cắt điện, đưa người ra"},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 200
    alarm = Alarm.objects.get(condition=methane_trip, closed_at__isnull=True)
    assert (alarm.acked_by, alarm.ack_comment) == (people.dispatcher_a, "Đã cắt điện, đưa người ra")
    html = answer.content.decode()
    assert 'id="alarm-list"' in html and "<html" not in html
    assert f'data-testid="ack-{methane_trip.id}"' not in html
    assert "Đang hoạt động, đã xác nhận" in html


def test_ack_without_script_redirects_back_to_the_mine(client, people, methane_trip):
    client.force_login(people.safety_a)
    answer = client.post(f"/telemetry/alarms/{methane_trip.id}/ack/", {"comment": ""})
    assert answer.status_code == 302 and answer["Location"] == "/telemetry/A-M1/"


def test_viewer_cannot_ack_from_the_page(client, people, methane_trip):
    client.force_login(people.viewer_a)
    assert client.post(f"/telemetry/alarms/{methane_trip.id}/ack/", {"comment": "x"}).status_code == 403
    assert not AlarmCondition.objects.get(pk=methane_trip.id).acked


def test_shelving_needs_a_reason_and_a_methane_trip_cannot_be_shelved(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    warn = AlarmCondition.objects.get(sensor=methane_trip.sensor, limit_code="ch4_face_return_warn")
    fetch = {"X-Requested-With": "fetch"}
    answer = client.post(
        f"/telemetry/alarms/{methane_trip.id}/shelve/", {"minutes": 30, "reason": "x"}, headers=fetch
    )
    assert 'data-testid="alarm-error"' in answer.content.decode()
    answer = client.post(
        f"/telemetry/alarms/{warn.id}/shelve/", {"minutes": 30, "reason": " "}, headers=fetch
    )
    assert 'data-testid="alarm-error"' in answer.content.decode()
    answer = client.post(
        f"/telemetry/alarms/{warn.id}/shelve/", {"minutes": 30, "reason": "hiệu chuẩn đầu đo"}, headers=fetch
    )
    assert 'data-testid="alarm-error"' not in answer.content.decode()
    assert 'data-testid="alarm-A1-CH4-01-ch4_face_return_warn"' not in answer.content.decode()
    assert AlarmCondition.objects.get(pk=warn.id).shelved_until is not None


def test_history_page_shows_limits_and_the_sensors_alarm_journal(client, people, methane_trip):
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/sensor/A1-CH4-01/").content.decode()
    assert "CH₄ ngắt điện" in html and "≥ 1,00 %" in html
    journal = html.split('data-testid="journal"')[1]
    assert journal.count("<tr>") == 3  # header + the two raised alarms


async def _first_events(path: str, user, headers=None, wanted=("journal", "sensors")) -> str:
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(path, headers=headers or {})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    text = ""
    async for chunk in response.streaming_content:
        text += chunk.decode()
        if all(f"event: {w}" in text for w in wanted):
            break
    await response.streaming_content.aclose()
    return text


@pytest.mark.django_db(transaction=True)  # the stream reads the journal on threads of its own
def test_stream_sends_new_journal_entries_with_their_id_and_sensor_values(people, methane_trip, monkeypatch):
    monkeypatch.setattr(live, "STREAM_TICK_S", 0.01)
    first = AlarmJournal.objects.filter(condition=methane_trip).order_by("id").first()
    text = in_a_thread_of_its_own(
        partial(_first_events, f"/telemetry/A-M1/stream?after={first.id - 1}", people.viewer_a)
    )
    assert f"id: {first.id}\nevent: journal\n" in text
    assert '"sensor":"A1-CH4-01","limit":"ch4_face_return_trip","event":"raised"' in text
    assert '"code":"A1-CH4-01"' in text and '"text":"1,25"' in text and '"flash":true' in text


@pytest.mark.django_db(transaction=True)  # the stream reads the journal on threads of its own
def test_a_reconnect_resumes_after_the_last_event_id(people, methane_trip, monkeypatch):
    monkeypatch.setattr(live, "STREAM_TICK_S", 0.01)
    ids = list(AlarmJournal.objects.order_by("id").values_list("id", flat=True))
    text = in_a_thread_of_its_own(
        partial(
            _first_events,
            "/telemetry/A-M1/stream?after=0",
            people.viewer_a,
            headers={"Last-Event-ID": str(ids[0])},
        )
    )
    assert f"id: {ids[0]}\n" not in text and f"id: {ids[1]}\n" in text


def test_a_stream_without_a_cursor_starts_at_the_newest_entry(people, methane_trip, monkeypatch):
    monkeypatch.setattr(live, "STREAM_TICK_S", 0.01)
    text = async_to_sync(_first_events)("/telemetry/A-M1/stream", people.viewer_a, wanted=("sensors",))
    assert "event: journal" not in text  # the page rendered those already
    assert text.startswith("retry: ")


# ---------------------------------------------------------------- the alarm console


class _VisibleText(HTMLParser):
    """What a person reads on a page: text outside script/style, and the attributes a browser shows."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


INTERNAL_CODES = (
    "gateway_lost",
    "over_range",
    "sensor_fault",
    "stale",
    "active_unacked",
    "active_acked",
    "returned_unacked",
    "out_of_service",
    "no_operator_override",
)


def _internal_codes_in(text: str) -> list[str]:
    codes = list(INTERNAL_CODES) + list(Limit.objects.values_list("code", flat=True).distinct())
    return sorted({c for c in codes if re.search(rf"\b{re.escape(c)}\b", text)})


def _row(html: str, testid: str) -> str:
    """The <tr> of one alarm in the console."""
    start = html.rindex("<tr", 0, html.index(f'data-testid="{testid}"'))
    return html[start : html.index("</tr>", start)]


def _banner(html: str) -> str:
    start = html.index('<div class="alarm-banner"')
    return html[start : html.index("</ul>", start)]


def held(send, values, seconds: int = 11) -> None:
    """Each (sensor, value) held for a few seconds (past a warning's on-delay), after the readings so far."""
    start = now_ms() + 1000
    for ts in (start, start + seconds * 1000):
        send([(code, ts, value) for code, value in values], now_ms=ts)


def _condition(sensor, limit_code):
    return AlarmCondition.objects.get(sensor=sensor, limit_code=limit_code)


def test_acknowledge_selected_acks_only_the_ticked_alarms_with_one_comment(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    warn = _condition(methane_trip.sensor, "ch4_face_return_warn")
    answer = client.post(
        "/telemetry/A-M1/alarms/ack/",
        {"scope": "selected", "conditions": [methane_trip.id], "comment": "Đã cắt điện"},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 200
    assert AlarmCondition.objects.get(pk=methane_trip.id).acked
    assert not AlarmCondition.objects.get(pk=warn.id).acked
    acks = AlarmJournal.objects.filter(event="acked")
    assert [(j.condition_id, j.comment, j.user) for j in acks] == [
        (methane_trip.id, "Đã cắt điện", people.dispatcher_a)
    ]
    html = answer.content.decode()
    assert 'data-testid="alarm-console"' in html and "<html" not in html
    assert f'data-testid="select-{methane_trip.id}"' not in html  # nothing left to acknowledge on it
    assert f'data-testid="select-{warn.id}"' in html


def test_acknowledge_all_shown_acks_what_the_page_showed_and_not_an_alarm_raised_since(
    client, people, methane_trip, mine, send
):
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    shown = [int(i) for i in re.findall(r'name="visible" value="(\d+)"', html)]
    assert len(shown) == 2
    held(send, [("A1-CO-01", 40.0)])  # CO above 17 ppm for its on-delay: raised after the page was drawn
    assert not _condition(mine.co, "co_workplace_high").acked
    answer = client.post(
        "/telemetry/A-M1/alarms/ack/", {"scope": "visible", "visible": shown, "comment": "Ca 1 đã xử lý"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/telemetry/A-M1/"
    acks = AlarmJournal.objects.filter(event="acked")
    assert sorted(j.condition_id for j in acks) == sorted(shown)  # one journal entry each
    assert {j.comment for j in acks} == {"Ca 1 đã xử lý"}
    assert not _condition(mine.co, "co_workplace_high").acked


def test_acknowledging_nothing_says_so_in_vietnamese(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    answer = client.post(
        "/telemetry/A-M1/alarms/ack/", {"scope": "selected"}, headers={"X-Requested-With": "fetch"}
    )
    html = answer.content.decode()
    assert 'data-testid="alarm-error"' in html
    assert "Chọn ít nhất một cảnh báo" in html


def test_a_viewer_sees_no_action_and_every_console_post_is_forbidden(client, people, methane_trip, mine):
    warn = _condition(mine.ch4, "ch4_face_return_warn")
    services.alarm_shelve(actor=people.dispatcher_a, condition_id=warn.id, minutes=30, reason="hiệu chuẩn")
    services.sensor_out_of_service(actor=people.safety_a, sensor=mine.o2, reason="thay đầu đo", hours=2)
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    console = html[html.index('id="alarm-console"') : html.index('class="live-grid"')]
    assert 'data-testid="shelved-' in console and 'data-testid="oos-A1-O2-01"' in console
    assert re.findall(r"<button[^>]*>", console) == [
        re.search(r"<button[^>]*silence[^>]*>", console).group(0)
    ]
    assert "<form" not in console and 'type="checkbox"' not in console
    posts = [
        ("/telemetry/A-M1/alarms/ack/", {"scope": "visible", "visible": [methane_trip.id]}),
        (f"/telemetry/alarms/{methane_trip.id}/ack/", {}),
        (f"/telemetry/alarms/{warn.id}/unshelve/", {}),
        (f"/telemetry/alarms/{methane_trip.id}/reset/", {}),
        ("/telemetry/sensor/A1-CO-01/out-of-service/", {"reason": "x", "hours": 8}),
        ("/telemetry/sensor/A1-O2-01/return-to-service/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not AlarmCondition.objects.get(pk=methane_trip.id).acked
    assert AlarmCondition.objects.get(pk=warn.id).shelved_until is not None
    mine.co.refresh_from_db()
    mine.o2.refresh_from_db()
    assert mine.co.in_service and not mine.o2.in_service


def test_shelved_alarms_are_listed_with_who_why_and_until_and_can_be_unshelved(client, people, methane_trip):
    warn = _condition(methane_trip.sensor, "ch4_face_return_warn")
    services.alarm_shelve(
        actor=people.dispatcher_a, condition_id=warn.id, minutes=60, reason="hiệu chuẩn đầu đo"
    )
    until = timezone.localtime(AlarmCondition.objects.get(pk=warn.id).shelved_until)
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'data-testid="alarm-A1-CH4-01-ch4_face_return_warn"' not in html  # not in the open list
    item = html[html.index(f'data-testid="shelved-{warn.id}"') :]
    item = item[: item.index("</form>")]
    assert "CH₄ cảnh báo sớm" in item and "hiệu chuẩn đầu đo" in item
    assert f"Bởi dieu_do_a, đến {until:%d/%m/%Y %H:%M}" in item
    answer = client.post(f"/telemetry/alarms/{warn.id}/unshelve/", headers={"X-Requested-With": "fetch"})
    assert 'data-testid="alarm-A1-CH4-01-ch4_face_return_warn"' in answer.content.decode()
    assert AlarmCondition.objects.get(pk=warn.id).shelved_until is None


def test_a_methane_trip_has_no_shelve_button_and_a_refusal_reads_in_vietnamese(client, people, methane_trip):
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert f'data-testid="shelve-open-{methane_trip.id}"' not in _row(
        html, "alarm-A1-CH4-01-ch4_face_return_trip"
    )
    answer = client.post(
        f"/telemetry/alarms/{methane_trip.id}/shelve/",
        {"minutes": 30, "reason": "thử"},
        headers={"X-Requested-With": "fetch"},
    )
    error = re.search(r'data-testid="alarm-error">([^<]*)<', answer.content.decode()).group(1)
    assert "không thể tạm ẩn" in error


def test_a_latched_trip_shows_its_acknowledgement_and_what_reset_needs(client, people, methane_trip, send):
    client.force_login(people.dispatcher_a)
    row = _row(client.get("/telemetry/A-M1/").content.decode(), "alarm-A1-CH4-01-ch4_face_return_trip")
    assert "chưa xác nhận" in row
    assert "Đã chốt — chờ giá trị xuống dưới ngưỡng để đặt lại" in row
    assert f'data-testid="reset-{methane_trip.id}"' not in row  # still beyond the trip: cannot be reset
    services.alarm_acknowledge(actor=people.dispatcher_a, condition_id=methane_trip.id, comment="đã cắt điện")
    t = now_ms()
    send([("A1-CH4-01", t - 200, 0.3)], now_ms=t)
    row = _row(client.get("/telemetry/A-M1/").content.decode(), "alarm-A1-CH4-01-ch4_face_return_trip")
    assert "Đã chốt, cần đặt lại" in row
    assert "✓ đã xác nhận" in row and "dieu_do_a: đã cắt điện" in row
    assert "Đã chốt — có thể đặt lại" in row
    assert f'data-testid="reset-{methane_trip.id}"' in row


def test_a_new_excursion_of_an_acknowledged_latched_trip_is_back_in_the_banner(
    client, people, methane_trip, send
):
    services.alarm_acknowledge(actor=people.dispatcher_a, condition_id=methane_trip.id, comment="")
    warn = _condition(methane_trip.sensor, "ch4_face_return_warn")
    services.alarm_acknowledge(actor=people.dispatcher_a, condition_id=warn.id, comment="")
    t = now_ms() + 1000  # after the fixture's readings
    send([("A1-CH4-01", t, 0.3)], now_ms=t)
    client.force_login(people.dispatcher_a)
    assert banner_hidden(client.get("/telemetry/A-M1/").content.decode())
    send([("A1-CH4-01", t + 1000, 2.2)], now_ms=t + 1000)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert not banner_hidden(html)
    assert f'data-testid="banner-{methane_trip.id}"' in _banner(html)
    assert "CH₄ ngắt điện: CH₄ 2,20 % ≥ 1,00 %" in _banner(html)
    assert 'data-unacked="1"' in _row(html, "alarm-A1-CH4-01-ch4_face_return_trip")


def test_the_banner_names_at_most_three_alarms_and_counts_the_rest(client, people, methane_trip, send):
    held(send, [("A1-CO-01", 40.0), ("A1-O2-01", 18.0)])
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    banner = html[html.index('<div class="alarm-banner"') : html.index('id="alarm-list"')]
    alerts = int(re.search(r'data-count="(\d+)"', banner).group(1))
    assert alerts >= 4  # CH₄ trip and warning, CO high, O₂ low (and CO rising fast)
    assert len(re.findall(r'data-testid="banner-\d+"', banner)) == 3
    assert f"+{alerts - 3} cảnh báo khác" in banner
    assert 'data-testid="banner-more"' in banner


def test_a_lost_gateway_is_one_row_and_its_sensors_are_listed_as_suppressed(client, people, mine, send):
    t = now_ms()
    readings = (("A1-CH4-01", 0.4), ("A1-CO-01", 4.0), ("A1-O2-01", 20.7), ("A1-PUMP-01", 1.0))
    send([(code, t - 1000, v) for code, v in readings], now_ms=t)  # all four have reported
    services.gateway_lost(gateway_code="GW-A1", now_ms=t + 40_000)
    services.stale_scan(now_ms=t + 60_000)
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    rows = re.findall(r'<tr id="alarm-row-\d+"[^>]*data-testid="([^"]+)"', html)
    assert rows == ["alarm-GW-A1-gateway_lost"]
    row = _row(html, "alarm-GW-A1-gateway_lost")
    assert "Mất kết nối trạm thu thập GW-A1" in row
    assert "4 cảm biến không có số liệu" in row
    assert "shelve-open-" not in row  # a lost gateway can be neither shelved nor suppressed
    suppressed = html[
        html.index('data-testid="suppressed-list"') : html.index('data-testid="out-of-service-list"')
    ]
    assert (
        "Mất kết nối trạm thu thập GW-A1" in suppressed
        and "cho đến khi trạm thu thập GW-A1 kết nối lại" in suppressed
    )
    for code in ("A1-CH4-01", "A1-CO-01", "A1-O2-01", "A1-PUMP-01"):
        assert f'data-testid="suppressed-{code}"' in suppressed
    assert 'class="sensor st-stale is-stale" role="button" tabindex="0" data-sensor="A1-CH4-01"' in html
    group = client.get("/telemetry/").content.decode()
    assert 'data-testid="gateways-lost-A-M1"' in group


@pytest.mark.django_db(transaction=True)  # the stream reads the journal on threads of its own
def test_the_stream_carries_a_gateway_alarm(people, mine, send, monkeypatch):
    monkeypatch.setattr(live, "STREAM_TICK_S", 0.01)
    services.gateway_lost(gateway_code="GW-A1", now_ms=now_ms())
    text = in_a_thread_of_its_own(partial(_first_events, "/telemetry/A-M1/stream?after=0", people.viewer_a))
    assert '"sensor":"GW-A1","limit":"gateway_lost","event":"raised"' in text


def test_an_over_range_methane_value_reads_over_range_and_cannot_be_shelved(client, people, mine, send):
    mine.add_sensor("A1-CH4-05", range_max=5.0)
    t = now_ms()
    send([("A1-CH4-05", t - 1000, 6.0)], now_ms=t)
    client.force_login(people.dispatcher_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    row = _row(html, "alarm-A1-CH4-05-over_range")
    assert "CH₄ vượt dải đo" in row and "CH₄ 6,00 % &gt; 5,00 %" in row
    assert "shelve-open-" not in row


def test_no_internal_code_is_visible_on_the_vietnamese_pages(client, people, methane_trip, mine, send):
    services.sensor_out_of_service(actor=people.safety_a, sensor=mine.o2, reason="thay đầu đo", hours=2)
    services.gateway_lost(gateway_code="GW-A1", now_ms=now_ms())
    client.force_login(people.safety_a)
    for url in ("/telemetry/", "/telemetry/A-M1/", "/telemetry/A-M1/alarms/", "/telemetry/sensor/A1-CH4-01/"):
        text = visible_text(client.get(url).content.decode())
        assert _internal_codes_in(text) == [], url
    text = visible_text(client.get("/telemetry/A-M1/").content.decode())
    assert "CH₄ ngắt điện" in text and "Mất kết nối trạm thu thập GW-A1" in text


def test_a_safety_officer_takes_a_sensor_out_of_service_and_it_is_listed_until_it_returns(
    client, people, mine
):
    client.force_login(people.dispatcher_a)
    assert 'data-testid="oos-form"' not in client.get("/telemetry/sensor/A1-CO-01/").content.decode()
    assert client.post("/telemetry/sensor/A1-CO-01/out-of-service/", {"reason": "x"}).status_code == 403
    client.force_login(people.safety_a)
    page = client.get("/telemetry/sensor/A1-CO-01/").content.decode()
    assert 'data-testid="oos-form"' in page and '<option value="8" selected>' in page
    answer = client.post(
        "/telemetry/sensor/A1-CO-01/out-of-service/", {"reason": "hiệu chuẩn định kỳ", "hours": "4"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/telemetry/sensor/A1-CO-01/"
    mine.co.refresh_from_db()
    assert not mine.co.in_service
    until = timezone.localtime(mine.co.out_of_service_until)
    assert abs((until - timezone.localtime()).total_seconds() - 4 * 3600) < 60
    html = client.get("/telemetry/A-M1/").content.decode()
    item = html[html.index('data-testid="oos-A1-CO-01"') :]
    item = item[: item.index("</form>")]
    assert "hiệu chuẩn định kỳ" in item and f"Bởi an_toan_a, đến {until:%d/%m/%Y %H:%M}" in item
    answer = client.post(
        "/telemetry/sensor/A1-CO-01/return-to-service/",
        {"next": "/telemetry/A-M1/"},
        headers={"X-Requested-With": "fetch"},
    )
    assert 'data-testid="oos-A1-CO-01"' not in answer.content.decode()
    mine.co.refresh_from_db()
    assert mine.co.in_service


def test_out_of_service_needs_a_reason_and_at_most_24_hours(client, people, mine):
    client.force_login(people.safety_a)
    for data, said in (
        ({"reason": " ", "hours": "8"}, "Nêu lý do ngừng sử dụng cảm biến."),
        ({"reason": "x", "hours": "30"}, "Ngừng sử dụng từ 1 đến 24 giờ."),
    ):
        answer = client.post("/telemetry/sensor/A1-CO-01/out-of-service/", data, follow=True)
        assert said in answer.content.decode()
        mine.co.refresh_from_db()
        assert mine.co.in_service


def test_history_by_calendar_dates_in_vietnam_time(client, people, mine):
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/sensor/A1-CH4-01/?from=01/12/2026&to=03/12/2026").content.decode()
    config = json.loads(
        re.search(r'id="history-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["period"]["from"] == "2026-12-01T00:00:00+07:00"
    assert config["period"]["to"] == "2026-12-04T00:00:00+07:00"
    assert "Từ 01/12/2026 00:00 đến 03/12/2026 24:00" in html
    assert 'value="01/12/2026"' in html
    html = client.get("/telemetry/sensor/A1-CH4-01/?from=03/12/2026&to=01/12/2026").content.decode()
    assert 'data-testid="period-error"' in html
    html = client.get("/telemetry/sensor/A1-CH4-01/?from=2026-13-01&to=x").content.decode()
    assert "dd/mm/yyyy" in html and 'data-testid="period-error"' in html


def _live_config(html: str) -> dict:
    raw = re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_each_sensors_chart_on_the_mine_page_carries_its_own_limits(client, people, mine):
    """The page works its charts' limits out once per shared rule set: each sensor still gets exactly what its
    own history page draws — two methane heads alike, carbon monoxide its own, in Vietnamese."""
    mine.add_sensor("A1-CH4-02", period_s=10)
    client.force_login(people.viewer_a)
    charts = _live_config(client.get("/telemetry/A-M1/").content.decode())["sensors"]
    for code in ("A1-CH4-01", "A1-CH4-02", "A1-CO-01"):
        with translation.override("vi"):  # as the sensor's own page works them out, one sensor at a time
            own = [
                {k: v for k, v in limit.items() if k != "action"}
                for limit in pages._limits(code)
                if limit["direction"] != "rise"
            ]
        assert charts[code]["limits"] == own
    assert charts["A1-CH4-01"]["limits"] == charts["A1-CH4-02"]["limits"] != charts["A1-CO-01"]["limits"]
    assert {limit["code"] for limit in charts["A1-CH4-01"]["limits"]} >= {"ch4_face_return_trip"}
    assert {limit["code"] for limit in charts["A1-CO-01"]["limits"]}.isdisjoint({"ch4_face_return_trip"})
