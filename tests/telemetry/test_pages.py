"""Monitoring pages: what each user may see and do, values in Vietnamese, the live stream."""

import time

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from headframe.telemetry import views
from headframe.telemetry.limits import load_limit_profiles
from headframe.telemetry.models import Alarm, AlarmCondition, AlarmJournal, Limit, LimitProfile
from tests.factories import make_user


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(autouse=True)
def limit_profiles(db):
    """A transactional test elsewhere may have flushed what migration telemetry/0002 loads: put it back."""
    if not LimitProfile.objects.exists():
        load_limit_profiles(LimitProfile, Limit)


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
    assert 'data-testid="alarm-banner">' in html  # not hidden


def test_a_silent_sensor_is_grey(client, people, mine, send):
    t = now_ms()
    send([("A1-CO-01", t - 10 * 60_000, 4.0)], now_ms=t)  # ten minutes ago, period 10 s
    client.force_login(people.viewer_a)
    html = client.get("/telemetry/A-M1/").content.decode()
    assert 'class="sensor st-stale is-stale" role="button" tabindex="0" data-sensor="A1-CO-01"' in html
    assert 'data-testid="alarm-banner" hidden>' in html  # nothing to acknowledge


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
    assert "ch4_face_return_trip" in html and "≥ 1,00 %" in html
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


def test_stream_sends_new_journal_entries_with_their_id_and_sensor_values(people, methane_trip, monkeypatch):
    monkeypatch.setattr(views, "STREAM_TICK_S", 0.01)
    first = AlarmJournal.objects.filter(condition=methane_trip).order_by("id").first()
    text = async_to_sync(_first_events)(f"/telemetry/A-M1/stream?after={first.id - 1}", people.viewer_a)
    assert f"id: {first.id}\nevent: journal\n" in text
    assert '"sensor":"A1-CH4-01","limit":"ch4_face_return_trip","event":"raised"' in text
    assert '"code":"A1-CH4-01"' in text and '"text":"1,25"' in text and '"flash":true' in text


def test_a_reconnect_resumes_after_the_last_event_id(people, methane_trip, monkeypatch):
    monkeypatch.setattr(views, "STREAM_TICK_S", 0.01)
    ids = list(AlarmJournal.objects.order_by("id").values_list("id", flat=True))
    text = async_to_sync(_first_events)(
        "/telemetry/A-M1/stream?after=0", people.viewer_a, headers={"Last-Event-ID": str(ids[0])}
    )
    assert f"id: {ids[0]}\n" not in text and f"id: {ids[1]}\n" in text


def test_a_stream_without_a_cursor_starts_at_the_newest_entry(people, methane_trip, monkeypatch):
    monkeypatch.setattr(views, "STREAM_TICK_S", 0.01)
    text = async_to_sync(_first_events)("/telemetry/A-M1/stream", people.viewer_a, wanted=("sensors",))
    assert "event: journal" not in text  # the page rendered those already
    assert text.startswith("retry: ")
