"""Issue 10's five fail-unsafe defects, each through the public paths: HTTP readings and the alarm API.

1. a methane trip can be neither shelved nor suppressed from the console or the API;
2. an acknowledged latched trip re-annunciates on a new excursion;
3. over-range gas values are stored and raise an urgent alarm (at least the highest trip), below-range and
   non-numbers raise a sensor fault;
4. out of service needs a safety officer, a reason and an expiry, and returns by itself;
5. a lost gateway is ONE alarm; its sensors' stale alarms are suppressed by that rule, not a flood.
"""

import datetime as dt
import io
import time

import pytest
from django.db.models import F
from django.utils import timezone

from headframe.telemetry import selectors, services
from headframe.telemetry.models import Alarm, AlarmCondition, AlarmJournal, Reading, Sensor
from tests.factories import make_user

FACE_TRIP = "ch4_face_return_trip"
FACE_WARN = "ch4_face_return_warn"


@pytest.fixture
def http(mine, api):
    """post(readings) sends [(sensor, offset ms from now, value)] as gateway GW-A1 over the HTTP API."""
    gateway_user = make_user("gw_a", ("gateway", "A-M1"))
    caller = api(gateway_user)
    start = int(time.time() * 1000) - 120_000  # the API checks times against the real clock
    seq = iter(range(1, 10_000))

    def post(readings, gateway="GW-A1"):
        body = {
            "gateway": gateway,
            "seq": next(seq),
            "readings": [{"sensor": code, "ts": start + offset, "value": v} for code, offset, v in readings],
        }
        response = caller.post("/api/v1/telemetry/readings", body)
        assert response.status_code == 200, response.content
        return response.json()

    post.start = start
    return post


@pytest.fixture
def operator(mine):
    return make_user("disp_a", ("dispatcher", "A-M1"))


@pytest.fixture
def safety_officer(mine):
    return make_user("safety_a", ("safety_officer", "A-M1"))


def open_alarms(api, user, **params):
    response = api(user).get("/api/v1/telemetry/alarms", **params)
    assert response.status_code == 200, response.content
    return response.json()


def condition(sensor, code=FACE_TRIP):
    return AlarmCondition.objects.get(sensor=sensor, limit_code=code)


# ---------------------------------------------------------------- 1. no operator override of a methane trip


def test_a_methane_trip_can_be_neither_shelved_nor_suppressed_from_the_api(mine, http, api, operator):
    http([("A1-CH4-01", 0, 1.5)])
    trip = condition(mine.ch4)
    shelve = api(operator).post(
        f"/api/v1/telemetry/alarms/{trip.id}/shelve", {"minutes": 30, "reason": "đang xử lý"}
    )
    assert shelve.status_code == 409
    assert shelve.json()["detail"][0]["type"] == "no_operator_override"
    suppress = api(operator).post(
        f"/api/v1/telemetry/alarms/{trip.id}/suppress", {"suppressed": True, "reason": "x"}
    )
    assert suppress.status_code in (404, 405)  # suppression is a design rule, not an operator button
    http([("A1-CH4-01", 1000, 2.0), ("A1-CH4-01", 2000, 2.5)])
    listed = [a for a in open_alarms(api, operator) if a["limit"] == FACE_TRIP]
    assert len(listed) == 1 and listed[0]["state"] == "active_unacked" and listed[0]["no_operator_override"]
    trip.refresh_from_db()
    assert trip.shelved_until is None and not trip.suppressed


def test_a_methane_pre_alarm_can_still_be_shelved_with_a_reason_and_an_expiry(mine, http, api, operator):
    http([("A1-CH4-01", i * 5000, 0.85) for i in range(4)])  # 15 s over 0.8 %: past the 10 s on-delay
    warn = condition(mine.ch4, FACE_WARN)
    response = api(operator).post(
        f"/api/v1/telemetry/alarms/{warn.id}/shelve", {"minutes": 30, "reason": "đang đo kiểm tay"}
    )
    assert response.status_code == 200 and response.json()["state"] == "shelved"
    assert response.json()["shelve_reason"] == "đang đo kiểm tay" and response.json()["shelved_until"]


# ---------------------------------------------------------------- 2. a latched trip re-annunciates


def test_a_new_excursion_of_an_acknowledged_latched_trip_reannunciates(mine, http, api, operator):
    http([("A1-CH4-01", 0, 1.2)])
    trip = condition(mine.ch4)
    first_alarm = trip.current_alarm_id
    ack = api(operator).post(f"/api/v1/telemetry/alarms/{trip.id}/ack", {"comment": "đã biết"})
    assert ack.status_code == 200 and ack.json()["acked"] is True
    http([("A1-CH4-01", 1000, 0.3)])
    assert open_alarms(api, operator)[0]["state"] == "latched"
    http([("A1-CH4-01", 2000, 2.2)])
    [row] = [a for a in open_alarms(api, operator) if a["limit"] == FACE_TRIP]
    assert row["state"] == "active_unacked" and row["acked"] is False
    assert row["alarm"]["id"] != first_alarm and row["alarm"]["raised_value"] == 2.2
    assert Alarm.objects.get(pk=first_alarm).closed_at is not None
    events = list(AlarmJournal.objects.filter(condition=trip).values_list("event", flat=True))
    assert events == ["raised", "acked", "returned", "raised"]


def test_an_acknowledged_trip_that_goes_over_range_raises_the_urgent_over_range_alarm(
    mine, http, api, operator
):
    http([("A1-CH4-01", 0, 1.2)])
    services.alarm_acknowledge(actor=operator, condition_id=condition(mine.ch4).id)
    Sensor.objects.filter(pk=mine.ch4.pk).update(range_max=5.0)
    from headframe.telemetry.directory import directory

    directory.invalidate()
    http([("A1-CH4-01", 1000, 6.0)])
    over = [a for a in open_alarms(api, operator) if a["limit"] == "over_range"]
    assert len(over) == 1 and over[0]["alarm"]["priority"] == "urgent" and over[0]["acked"] is False


# ---------------------------------------------------------------- 3. over-range values


@pytest.fixture
def head_0_5(mine):
    """A 0–5 % methane head (the kind most faces carry)."""
    from headframe.telemetry.directory import directory

    Sensor.objects.filter(pk=mine.ch4.pk).update(range_min=0.0, range_max=5.0)
    directory.invalidate()
    return mine.ch4


def test_over_range_methane_is_stored_and_raises_the_trip_and_an_urgent_over_range_alarm(
    head_0_5, http, api, operator
):
    result = http([("A1-CH4-01", 0, 6.0), ("A1-CH4-01", 1000, 7.5), ("A1-CH4-01", 2000, 9.0)])
    assert result["stored"] == 3 and result["quarantined"] == {}
    assert sorted(Reading.objects.filter(sensor=head_0_5).values_list("value", flat=True)) == [6.0, 7.5, 9.0]
    by_limit = {a["limit"]: a for a in open_alarms(api, operator)}
    assert by_limit["over_range"]["alarm"]["priority"] == "urgent"
    assert by_limit[FACE_TRIP]["state"] == "active_unacked"  # at least the highest trip
    assert by_limit["over_range"]["no_operator_override"] is True


def test_an_over_range_value_never_clears_a_low_limit_and_a_below_range_value_never_clears_a_high_one(
    head_0_5, http, api, operator
):
    http([("A1-CH4-01", 0, 1.2)])
    http([("A1-CH4-01", 1000, -0.4)])  # a broken head reading below zero does not mean "no methane"
    trip = condition(head_0_5)
    assert trip.active and not trip.latched
    fault = condition(head_0_5, "sensor_fault")
    assert fault.active and fault.current_alarm.priority == "urgent"


def test_a_below_range_value_is_stored_and_raises_a_sensor_fault_that_clears_with_good_data(
    head_0_5, http, api, operator
):
    result = http([("A1-CH4-01", 0, -1.0)])
    assert result["stored"] == 1 and result["quarantined"] == {}
    fault = condition(head_0_5, "sensor_fault")
    assert fault.active and not fault.acked
    http([("A1-CH4-01", 1000, 0.3)])
    fault.refresh_from_db()
    assert not fault.active and not fault.acked  # returned: still to be acknowledged


def test_a_value_that_is_not_a_number_is_quarantined_and_raises_a_sensor_fault(head_0_5, http):
    result = http([("A1-CH4-01", 0, "lỗi")])
    assert result["stored"] == 0 and result["quarantined"] == {"not_a_number": 1}
    assert condition(head_0_5, "sensor_fault").active


# ---------------------------------------------------------------- 4. out of service


def test_only_a_safety_officer_takes_a_sensor_out_of_service_with_a_reason_and_a_bounded_expiry(
    mine, api, users, operator, safety_officer
):
    url = "/api/v1/telemetry/sensors/A1-CH4-01/out-of-service"
    for user in (operator, users.admin_a):
        assert api(user).post(url, {"reason": "hiệu chuẩn"}).status_code == 403
    no_reason = api(safety_officer).post(url, {"reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    too_long = api(safety_officer).post(url, {"reason": "hiệu chuẩn", "hours": 30})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "hours"]
    ok = api(safety_officer).post(url, {"reason": "hiệu chuẩn định kỳ"})
    assert ok.status_code == 200 and ok.json()["in_service"] is False
    until = dt.datetime.fromisoformat(ok.json()["out_of_service_until"])
    assert dt.timedelta(hours=7, minutes=59) < until - timezone.now() <= dt.timedelta(hours=8)


def test_out_of_service_keeps_readings_shows_a_standing_entry_and_returns_by_itself(
    mine, http, api, operator, safety_officer
):
    sensor = Sensor.objects.get(code="A1-CH4-01")
    services.sensor_out_of_service(actor=safety_officer, sensor=sensor, reason="thay đầu đo", hours=2)
    result = http([("A1-CH4-01", 0, 2.0), ("A1-CH4-01", 1000, 3.0)])
    assert result["stored"] == 2 and result["alarms_raised"] == 0
    assert open_alarms(api, operator) == []
    [standing] = open_alarms(api, operator, include_hidden="true")
    assert (standing["sensor"], standing["state"], standing["out_of_service_reason"]) == (
        "A1-CH4-01",
        "out_of_service",
        "thay đầu đo",
    )
    gas = selectors.gas_status_for_positions([mine.face.id])
    assert gas[mine.face.id][0] is False and any("out of service" in r for r in gas[mine.face.id][1])
    # At expiry it is back in service by itself and evaluated at once on the value it sent meanwhile.
    assert services.out_of_service_expire(now=timezone.now() + dt.timedelta(hours=2, seconds=1)) == 1
    sensor.refresh_from_db()
    assert sensor.in_service and sensor.out_of_service_until is None
    [trip] = [a for a in open_alarms(api, operator) if a["limit"] == FACE_TRIP]
    assert trip["state"] == "active_unacked" and trip["value"] == 3.0
    events = AlarmJournal.objects.filter(condition__sensor=sensor).values_list("event", flat=True)
    assert {"out_of_service", "in_service", "raised"} <= set(events)


def test_the_registry_import_cannot_take_a_sensor_out_of_service(mine, users, client):
    content = (
        "code,kind,position,location,gateway,in_service\n"
        f"A1-CH4-01,ch4_pct,{mine.face.code},face_return,GW-A1,0\n"
    ).encode()
    client.force_login(users.admin_a)
    handle = io.BytesIO(content)
    handle.name = "sensors.csv"
    response = client.post("/api/v1/telemetry/sensors/import", {"file": handle})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert "in_service" in error["msg"] and "safety officer" in error["msg"]
    assert Sensor.objects.get(code="A1-CH4-01").in_service


# ---------------------------------------------------------------- 5. a lost gateway is one alarm


def test_a_silent_gateway_is_one_urgent_alarm_and_its_sensors_stale_alarms_are_suppressed_by_rule(
    mine, http, api, operator
):
    http(
        [
            (code, 0, v)
            for code, v in [("A1-CH4-01", 0.3), ("A1-CO-01", 2), ("A1-O2-01", 20.8), ("A1-PUMP-01", 1)]
        ]
    )
    silent_from = int(time.time() * 1000) + 31_000  # the gateway's timeout: 3 × its sensors' 10 s period
    assert services.gateways_scan(now_ms=silent_from) == 1
    assert services.stale_scan(now_ms=silent_from) == 0
    assert services.gateways_scan(now_ms=silent_from + 30_000) == 0  # one alarm per outage
    rows = open_alarms(api, operator)
    assert [(r["gateway"], r["limit"], r["sensor"]) for r in rows] == [("GW-A1", "gateway_lost", None)]
    assert rows[0]["alarm"]["priority"] == "urgent"
    hidden = api(operator).get("/api/v1/telemetry/alarms/hidden").json()
    assert sorted(s["sensor"] for s in hidden["suppressed"]) == [
        "A1-CH4-01",
        "A1-CO-01",
        "A1-O2-01",
        "A1-PUMP-01",
    ]
    assert {s["suppressed_by"] for s in hidden["suppressed"]} == {"gateway_lost:GW-A1"}
    assert Alarm.objects.count() == 1
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    kpi = api(operator).get("/api/v1/telemetry/kpi", site="A-M1", to=later).json()
    assert kpi["peak_10_min"] == 1 and kpi["suppressed_by_design"] == 4


def test_when_the_gateway_returns_its_alarm_returns_and_sensors_still_silent_are_annunciated(
    mine, http, api, operator
):
    codes = ["A1-CH4-01", "A1-CO-01", "A1-O2-01", "A1-PUMP-01"]
    http([(code, 0, 1.0 if code == "A1-PUMP-01" else 0.3) for code in codes])
    services.gateway_lost(gateway_code="GW-A1", now_ms=http.start + 40_000)
    http([("A1-CH4-01", 119_000, 0.3), ("A1-CO-01", 119_000, 2)])  # back, two sensors report
    [gateway_row] = [r for r in open_alarms(api, operator) if r["limit"] == "gateway_lost"]
    assert gateway_row["state"] == "returned_unacked"
    assert not condition(mine.ch4, "stale").active
    now = int(time.time() * 1000)
    assert services.stale_scan(now_ms=now + 1000) == 0  # a grace of their own stale time first
    # The grace is the sensor's own stale time (30 s) from the gateway's return: move the return back by it.
    AlarmCondition.objects.filter(limit_code="gateway_lost").update(last_eval_ts=F("last_eval_ts") - 31_000)
    assert services.stale_scan(now_ms=now + 1000) == 2
    stale = sorted(r["sensor"] for r in open_alarms(api, operator) if r["limit"] == "stale")
    assert stale == ["A1-O2-01", "A1-PUMP-01"]


def test_a_sparkplug_style_gateway_death_is_one_alarm(mine, http):
    http(
        [
            (code, 0, 1.0 if code == "A1-PUMP-01" else 0.3)
            for code in ("A1-CH4-01", "A1-CO-01", "A1-O2-01", "A1-PUMP-01")
        ]
    )
    assert services.gateway_death(gateway_code="GW-A1") == 1
    assert services.gateway_death(gateway_code="GW-A1") == 0
    assert Alarm.objects.filter(limit_code="gateway_lost").count() == 1
    assert Alarm.objects.filter(limit_code="stale").count() == 0
    assert AlarmCondition.objects.filter(limit_code="stale", suppressed=True).count() == 4


def test_a_lost_gateway_never_hides_a_stale_alarm_nobody_acknowledged(mine, http, api, operator):
    http([("A1-CH4-01", 0, 0.3), ("A1-CO-01", 0, 2.0), ("A1-O2-01", 0, 20.8), ("A1-PUMP-01", 0, 1.0)])
    services.stale_scan(now_ms=int(time.time() * 1000) + 31_000)  # gateway seen: its sensors go stale
    http([("A1-CO-01", 119_000, 2.0)])  # CO returns: its stale alarm is returned, not acknowledged
    services.gateway_lost(gateway_code="GW-A1", now_ms=int(time.time() * 1000))
    rows = {(r["sensor"], r["limit"]): r for r in open_alarms(api, operator)}
    assert rows[("A1-CO-01", "stale")]["state"] == "returned_unacked"
    assert rows[(None, "gateway_lost")]["alarm"]["priority"] == "urgent"


def test_a_gateway_marked_lost_while_its_flag_says_online_still_returns_with_the_next_message(
    mine, http, api
):
    http([("A1-CH4-01", 0, 0.3)])
    services.gateway_lost(gateway_code="GW-A1")
    from headframe.telemetry.models import Gateway

    Gateway.objects.filter(code="GW-A1").update(online=True)  # the race: a flush set the flag after the loss
    http([("A1-CH4-01", 119_000, 0.3)])
    assert not AlarmCondition.objects.get(gateway__code="GW-A1", limit_code="gateway_lost").active


def test_a_sensor_returned_to_service_by_another_process_is_evaluated_at_once(mine, http, safety_officer):
    from headframe.telemetry.directory import directory

    sensor = Sensor.objects.get(code="A1-CH4-01")
    services.sensor_out_of_service(actor=safety_officer, sensor=sensor, reason="hiệu chuẩn")
    directory.by_id(sensor.id)  # this process has loaded it as out of service
    Sensor.objects.filter(pk=sensor.pk).update(in_service=True, out_of_service_until=None)  # another process
    http([("A1-CH4-01", 119_000, 1.5)])
    assert condition(sensor).active
