"""Alarms through ingest: raised once per condition, journalled, acked/shelved by the right people, durable."""

import threading

import pytest
from django.db import connection

from headframe.core.errors import Conflict, ValidationFailed
from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import Alarm, AlarmCondition, AlarmJournal, SensorState
from tests.factories import make_user
from tests.telemetry.conftest import NOW_MS

FACE_TRIP = (
    "ch4_face_return_trip"  # QCVN 01:2011/BCT default profile: CH4 >= 1.0 % at a face return, latching
)


def ch4(*points):
    return [("A1-CH4-01", NOW_MS - 60_000 + t * 1000, v) for t, v in points]


def condition(sensor, code=FACE_TRIP):
    return AlarmCondition.objects.get(sensor=sensor, limit_code=code)


def test_methane_over_the_trip_level_raises_one_urgent_alarm(mine, send):
    result = send(ch4((0, 0.3), (1, 1.2), (2, 1.4)))
    assert result.alarms_raised == 1
    alarm = Alarm.objects.get(limit_code=FACE_TRIP)
    assert (alarm.priority, alarm.raised_value, alarm.site_path) == ("urgent", 1.2, mine.site.path)
    assert "A1-CH4-01" in alarm.message and "1.2" in alarm.message
    assert list(AlarmJournal.objects.values_list("event", "state")) == [("raised", "active_unacked")]


def test_resending_the_same_readings_never_raises_a_second_alarm(mine, send):
    batch = ch4((0, 1.2), (1, 1.3))
    send(batch)
    send(batch)
    assert Alarm.objects.filter(limit_code=FACE_TRIP).count() == 1


def test_alarm_state_survives_a_restart(mine, send):
    send(ch4((0, 1.2)))
    directory.invalidate()  # a new process starts with nothing in memory; the state is in the database
    send(ch4((1, 1.3), (2, 1.5)))
    cond = condition(mine.ch4)
    assert cond.active and not cond.acked
    assert Alarm.objects.filter(limit_code=FACE_TRIP).count() == 1


def test_latched_trip_needs_reset_and_ack_to_close(mine, send, users):
    send(ch4((0, 1.2), (1, 0.3)))
    cond = condition(mine.ch4)
    assert cond.active and cond.latched
    services.alarm_reset(actor=users.admin_a, condition_id=cond.id, comment="quạt đã chạy lại")
    services.alarm_acknowledge(actor=users.admin_a, condition_id=cond.id, comment="đã kiểm tra")
    cond.refresh_from_db()
    assert not cond.active and cond.acked and cond.current_alarm_id is None
    alarm = Alarm.objects.get(limit_code=FACE_TRIP)
    assert alarm.closed_at is not None and alarm.acked_by == users.admin_a
    assert list(AlarmJournal.objects.filter(condition=cond).values_list("event", flat=True)) == [
        "raised",
        "returned",
        "reset",
        "acked",
        "closed",
    ]


def test_reset_while_still_over_the_limit_is_refused(mine, send, users):
    send(ch4((0, 1.2)))
    with pytest.raises(ValidationFailed):
        services.alarm_reset(actor=users.admin_a, condition_id=condition(mine.ch4).id)


def test_o2_low_returns_after_its_off_delay_and_ack_closes(mine, send, users):
    low = [("A1-O2-01", NOW_MS - 60_000 + i * 5_000, 19.2) for i in range(4)]  # 15 s: past the on-delay
    send([*low, ("A1-O2-01", NOW_MS - 40_000, 20.6), ("A1-O2-01", NOW_MS - 20_000, 20.6)])
    assert condition(mine.o2, "o2_workplace_low").active  # clear for 20 s: the 30 s off-delay still runs
    send([("A1-O2-01", NOW_MS - 5_000, 20.6)])
    cond = condition(mine.o2, "o2_workplace_low")
    assert not cond.active and not cond.acked
    assert services.alarm_acknowledge(actor=users.admin_a, condition_id=cond.id) == "closed"


def test_a_viewer_cannot_ack_and_another_company_cannot_see(mine, send, users, api):
    send(ch4((0, 1.2)))
    cond = condition(mine.ch4)
    assert (
        api(users.viewer_a).post(f"/api/v1/telemetry/alarms/{cond.id}/ack", {"comment": ""}).status_code
        == 403
    )
    assert (
        api(users.admin_b).post(f"/api/v1/telemetry/alarms/{cond.id}/ack", {"comment": ""}).status_code == 404
    )
    dispatcher = make_user("disp_a", ("dispatcher", "A-M1"))
    response = api(dispatcher).post(f"/api/v1/telemetry/alarms/{cond.id}/ack", {"comment": "đã biết"})
    assert response.status_code == 200 and response.json()["acked"] is True


def test_shelving_needs_a_reason_and_a_bounded_time(mine, send, users, api):
    send([("A1-O2-01", NOW_MS - 30_000 + i * 5_000, 19.2) for i in range(4)])
    cond = condition(mine.o2, "o2_workplace_low")
    url = f"/api/v1/telemetry/alarms/{cond.id}/shelve"
    bad = api(users.admin_a).post(url, {"minutes": 30, "reason": " "})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "reason"]
    assert api(users.admin_a).post(url, {"minutes": 100000, "reason": "hiệu chuẩn"}).status_code == 422
    ok = api(users.admin_a).post(url, {"minutes": 30, "reason": "hiệu chuẩn cảm biến"})
    assert ok.status_code == 200 and ok.json()["state"] == "shelved"
    assert api(users.admin_a).get("/api/v1/telemetry/alarms").json() == []  # hidden from the operator list


def test_a_methane_trip_cannot_be_shelved(mine, send, users):
    send(ch4((0, 1.2)))
    with pytest.raises(Conflict):
        services.alarm_shelve(
            actor=users.admin_a, condition_id=condition(mine.ch4).id, minutes=10, reason="x"
        )


def test_silent_sensor_raises_stale_and_fresh_data_clears_it(mine, send):
    others = [("A1-CO-01", 1), ("A1-O2-01", 20.8), ("A1-PUMP-01", 1)]
    send([(code, NOW_MS - 60_000 + 25_000, v) for code, v in others])  # fresh at every scan below
    send(ch4((0, 0.3)))
    last = NOW_MS - 60_000
    assert services.stale_scan(now_ms=last + 29_000) == 0  # period 10 s: stale after 30 s
    assert services.stale_scan(now_ms=last + 31_000) == 1
    assert services.stale_scan(now_ms=last + 40_000) == 0  # one alarm per condition, not one per scan
    stale = condition(mine.ch4, "stale")
    assert stale.active
    send([("A1-CH4-01", last + 45_000, 0.3)], now_ms=last + 46_000)
    stale.refresh_from_db()
    assert not stale.active and not stale.acked  # returned, still to be acknowledged


def test_sensors_that_never_reported_are_one_alarm_of_their_gateway_three_periods_after_registration(
    mine, send
):
    registered = int(SensorState.objects.get(sensor=mine.ch4).updated_at.timestamp() * 1000)
    send([("A1-PUMP-01", registered + 25_000, 1.0)], now_ms=registered + 26_000)  # its gateway is alive
    assert services.stale_scan(now_ms=registered + 29_000) == 0
    # The three sensors that never reported: ONE "never reported" alarm of their gateway naming them (a sensor's
    # own stale alarm starts with its first reading), high priority since gas sensors are among them.
    assert services.stale_scan(now_ms=registered + 31_000) == 1
    [alarm] = Alarm.objects.all()
    assert (alarm.limit_code, alarm.gateway.code, alarm.priority) == ("never_reported", "GW-A1", "high")
    assert "3 registered sensors have never reported (A1-CH4-01, A1-CO-01, A1-O2-01)" in alarm.message
    assert not AlarmCondition.objects.filter(limit_code="stale", active=True).exists()


def test_a_gateway_that_never_reported_is_one_alarm_once_all_its_sensors_are_due(mine):
    registered = int(SensorState.objects.get(sensor=mine.ch4).updated_at.timestamp() * 1000)
    assert services.stale_scan(now_ms=registered + 31_000) == 1
    assert list(Alarm.objects.values_list("limit_code", "gateway__code")) == [("gateway_lost", "GW-A1")]
    # Its sensors never reported: the lost gateway speaks for them (no stale row per sensor to suppress), and
    # no second "never reported" alarm while it is lost.
    assert not AlarmCondition.objects.filter(limit_code="stale").exists()
    assert services.stale_scan(now_ms=registered + 61_000) == 0


def test_gateway_death_is_one_alarm_for_all_its_sensors(mine, send):
    readings = [("A1-CH4-01", 0.3), ("A1-CO-01", 2.0), ("A1-O2-01", 20.8), ("A1-PUMP-01", 1.0)]
    send([(code, NOW_MS - 1000, v) for code, v in readings])
    raised = services.gateway_death(gateway_code="GW-A1", now_ms=NOW_MS)
    assert raised == 1  # one gateway alarm; its four sensors' stale conditions are suppressed by that rule
    assert AlarmCondition.objects.filter(limit_code="stale", active=True, suppressed=True).count() == 4
    mine.gateway.refresh_from_db()
    assert not mine.gateway.online


def test_out_of_service_sensor_raises_nothing(mine, send, users):
    officer = make_user("safety_a", ("safety_officer", "A-M1"))
    services.sensor_out_of_service(actor=officer, sensor=mine.ch4, reason="hiệu chuẩn")
    result = send(ch4((0, 1.5)))
    assert result.stored == 1 and result.alarms_raised == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent writers need PostgreSQL")
def test_two_ingest_writers_racing_on_one_sensor_raise_one_alarm(mine, indicator_catalogue):
    errors = []

    def worker(offset):
        try:
            directory.invalidate()
            services.ingest([services.Batch("GW-A1", ch4((offset, 1.2), (offset + 1, 1.3)))], now_ms=NOW_MS)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i % 2,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Alarm.objects.filter(limit_code=FACE_TRIP).count() == 1
    assert AlarmJournal.objects.filter(event="raised").count() == 1


def test_a_limit_disabled_while_active_returns_with_the_next_reading(mine, send, users):
    from headframe.telemetry.models import Limit, SiteLimitSetting

    send([("A1-CO-01", NOW_MS - 30_000 + i * 5_000, 40.0) for i in range(4)])  # CO ≥ 17 ppm past its on-delay
    cond = condition(mine.co, "co_workplace_high")
    assert cond.active
    limit = Limit.objects.get(profile__is_default=True, code="co_workplace_high")
    SiteLimitSetting.objects.create(site=mine.site, limit=limit, enabled=False, reason="thay đầu đo")
    directory.invalidate()
    send([("A1-CO-01", NOW_MS - 1000, 0.0)])
    cond.refresh_from_db()
    assert not cond.active and not cond.acked  # returned; the operator still acknowledges it
    assert services.alarm_acknowledge(actor=users.admin_a, condition_id=cond.id) == "closed"


def test_a_late_reading_over_the_trip_level_still_reaches_the_control_room(mine, send, users):
    send(ch4((10, 0.3)))
    result = send(
        ch4((5, 2.5))
    )  # older than the newest reading: stored as out of order, live state untouched
    assert result.out_of_order == 1 and result.alarms_raised == 1
    cond = condition(mine.ch4)
    assert not cond.active and not cond.acked  # over already, but it must be acknowledged
    alarm = Alarm.objects.get(limit_code=FACE_TRIP)
    assert alarm.raised_value == 2.5 and alarm.returned_at == alarm.raised_at
    assert services.alarm_acknowledge(actor=users.admin_a, condition_id=cond.id) == "closed"


def test_a_historical_value_over_the_trip_level_is_reported_once(mine, send):
    send(ch4((10, 0.3)))
    send(ch4((11, 1.8)), historical=True)
    send(ch4((12, 1.9)), historical=True)  # the first late excursion is still unacknowledged
    assert Alarm.objects.filter(limit_code=FACE_TRIP).count() == 1
    assert SensorState.objects.get(sensor=mine.ch4).last_value == 0.3


def test_a_steady_co_rise_raises_the_rate_of_rise_alarm_long_before_the_fixed_limit(mine, send):
    start = NOW_MS - 20 * 60_000
    rising = [("A1-CO-01", start + minute * 60_000, 2.0 + 0.5 * minute) for minute in range(15)]
    for reading in rising:  # one reading per message, as a gateway sends them
        send([reading])
    cond = condition(mine.co, "co_rate_of_rise")
    alarm = Alarm.objects.get(condition=cond)
    assert cond.active and alarm.priority == "high"
    assert alarm.raised_value == 7.0  # +5 ppm within the 15-minute window, far under the 17 ppm limit
    assert not AlarmCondition.objects.filter(limit_code="co_workplace_high", active=True).exists()


def test_a_flat_co_level_raises_no_rate_of_rise_alarm(mine, send):
    for minute in range(20):
        send([("A1-CO-01", NOW_MS - 30 * 60_000 + minute * 60_000, 9.0 + (minute % 2) * 0.5)])
    assert not Alarm.objects.filter(limit_code="co_rate_of_rise").exists()


def test_an_o2_value_hovering_at_its_limit_raises_one_alarm_not_a_chatter(mine, send):
    readings = []
    for cycle in range(4):  # 15 s just under the limit, 15 s just over it, four times
        base = NOW_MS - 240_000 + cycle * 30_000
        readings += [("A1-O2-01", base + i * 5_000, 19.95) for i in range(3)]
        readings += [("A1-O2-01", base + 15_000 + i * 5_000, 20.2) for i in range(3)]
    for reading in readings:
        send([reading])
    assert Alarm.objects.filter(limit_code="o2_workplace_low").count() == 1  # the 30 s off-delay holds it
