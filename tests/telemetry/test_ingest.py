"""Ingest: every reading stored once, bad ones quarantined with the reason, live state never moves back."""

import math
import time

from headframe.telemetry.models import (
    Gateway,
    GatewayCounter,
    Quarantine,
    Reading,
    ReadingAggregate,
    SensorState,
)
from tests.telemetry.conftest import NOW_MS


def _stored(sensor):
    return list(Reading.objects.filter(sensor=sensor).order_by("ts").values_list("ts", "value"))


def test_valid_readings_are_stored_and_move_live_state(mine, send):
    result = send([("A1-CH4-01", NOW_MS - 2000, 0.41), ("A1-CH4-01", NOW_MS - 1000, 0.42)], seq=7)
    assert (result.received, result.stored, result.duplicates) == (2, 2, 0)
    assert _stored(mine.ch4) == [(NOW_MS - 2000, 0.41), (NOW_MS - 1000, 0.42)]
    state = SensorState.objects.get(sensor=mine.ch4)
    assert (state.last_ts, state.last_value) == (NOW_MS - 1000, 0.42)
    gateway = Gateway.objects.get(code="GW-A1")
    assert (gateway.last_seq, gateway.messages, gateway.readings_stored) == (7, 1, 2)


def test_resent_batch_stores_nothing_twice(mine, send):
    readings = [("A1-CH4-01", NOW_MS - 3000 + i * 1000, 0.3 + i / 100) for i in range(3)]
    send(readings)
    again = send(readings)
    assert (again.stored, again.duplicates) == (0, 3)
    assert len(_stored(mine.ch4)) == 3
    counts = dict(GatewayCounter.objects.filter(gateway_code="GW-A1").values_list("outcome", "count"))
    assert counts["stored"] == 3 and counts["duplicate"] == 3


def test_iso_and_epoch_timestamps_mean_the_same_instant(mine, send):
    result = send([("A1-CH4-01", "2027-01-15T07:59:59Z", 0.5), ("A1-CH4-01", NOW_MS - 1000, 0.5)])
    assert (result.stored, result.duplicates) == (1, 1)


def test_each_kind_of_bad_reading_is_quarantined_with_its_reason(mine, send):
    result = send(
        [
            ("NO-SUCH-SENSOR", NOW_MS, 0.1),
            ("A1-CH4-01", NOW_MS, math.nan),
            ("A1-CH4-01", NOW_MS, "0.4"),
            ("A1-CH4-01", NOW_MS + 60_000, 0.4),
            ("A1-CH4-01", NOW_MS - 30 * 86_400_000, 0.4),
            ("A1-CH4-01", "yesterday", 0.4),
            ("A1-CH4-01", "2027-01-15T07:59:59", 0.4),  # no offset: ambiguous, refused
            ["A1-CH4-01", NOW_MS],
        ]
    )
    assert result.stored == 0
    assert dict(result.quarantined) == {
        "unknown_sensor": 1,
        "not_a_number": 2,
        "future": 1,
        "too_old": 1,
        "bad_timestamp": 2,
        "malformed": 1,
    }
    assert Quarantine.objects.count() == 8
    kept = Quarantine.objects.get(reason="not_a_number", value_raw="0.4")
    assert (kept.sensor_code, kept.gateway_code) == ("A1-CH4-01", "GW-A1")


def test_a_value_outside_the_physical_range_is_stored_not_quarantined(mine, send):
    result = send([("A1-CH4-01", NOW_MS, 150.0)])  # CH4 range is 0..100 %: over range, fail safe
    assert (result.stored, dict(result.quarantined)) == (1, {})
    assert Quarantine.objects.count() == 0


def test_a_sensor_of_another_gateway_is_refused(mine, send):
    from headframe.telemetry.models import Gateway

    Gateway.objects.create(code="GW-A2", site=mine.site)
    result = send([("A1-CH4-01", NOW_MS, 0.4)], gateway="GW-A2")  # a mix-up within the mine: said so
    assert dict(result.quarantined) == {"wrong_gateway": 1}
    result = send([("A1-CH4-01", NOW_MS, 0.4)], gateway="GW-B1")  # another company's gateway: unknown to it
    assert dict(result.quarantined) == {"unknown_sensor": 1}
    assert not _stored(mine.ch4)


def test_same_time_with_another_value_is_a_conflict_not_an_overwrite(mine, send):
    send([("A1-CH4-01", NOW_MS - 1000, 0.4)])
    result = send([("A1-CH4-01", NOW_MS - 1000, 0.9)])
    assert dict(result.quarantined) == {"conflict": 1}
    assert _stored(mine.ch4) == [(NOW_MS - 1000, 0.4)]


def test_late_reading_is_stored_but_never_moves_live_state_back(mine, send):
    send([("A1-CH4-01", NOW_MS - 1000, 0.4)])
    result = send([("A1-CH4-01", NOW_MS - 5000, 0.2)])
    assert (result.stored, result.out_of_order) == (1, 1)
    state = SensorState.objects.get(sensor=mine.ch4)
    assert (state.last_ts, state.last_value) == (NOW_MS - 1000, 0.4)
    assert len(_stored(mine.ch4)) == 2


def test_historical_values_are_stored_without_touching_live_state(mine, send):
    send([("A1-CH4-01", NOW_MS - 1000, 0.4)])
    send([("A1-CH4-01", NOW_MS - 500, 3.0)], historical=True)
    state = SensorState.objects.get(sensor=mine.ch4)
    assert state.last_value == 0.4
    assert _stored(mine.ch4)[-1] == (NOW_MS - 500, 3.0)


def test_aggregates_fold_min_max_avg_last_per_minute(mine, send):
    minute = NOW_MS - NOW_MS % 60_000 - 60_000
    send([("A1-CH4-01", minute + 1000, 0.2), ("A1-CH4-01", minute + 2000, 0.6)])
    send([("A1-CH4-01", minute + 3000, 0.4)])
    agg = ReadingAggregate.objects.get(sensor=mine.ch4, step="1m", bucket=minute)
    assert (agg.min, agg.max, agg.count, agg.last_ts, agg.last) == (0.2, 0.6, 3, minute + 3000, 0.4)
    assert math.isclose(agg.sum / agg.count, 0.4)


def test_http_readings_need_the_gateway_role_on_the_gateways_site(mine, api, users):
    from tests.factories import make_user

    gateway_a = make_user("gw_a", ("gateway", "A-M1"))
    now = int(time.time() * 1000)  # the API checks times against the real clock
    body = {
        "gateway": "GW-A1",
        "seq": 1,
        "readings": [{"sensor": "A1-CH4-01", "ts": now - 1000, "value": 0.4}],
    }
    stored = api(gateway_a).post("/api/v1/telemetry/readings", body)
    assert stored.status_code == 200, stored.content
    assert (stored.json()["stored"], stored.json()["quarantined"]) == (1, {})
    viewer = api(users.viewer_a).post("/api/v1/telemetry/readings", body)
    assert viewer.status_code == 403 and viewer.json()["detail"][0]["loc"] == ["body", "gateway"]


def test_http_readings_naming_an_unknown_or_foreign_gateway_are_a_field_error(mine, api):
    from tests.factories import make_user

    gateway_b = make_user("gw_b", ("gateway", "B-M1"))
    for code in ("GW-NOPE", "GW-A1"):  # unknown, and another company's (not revealed)
        body = {"gateway": code, "readings": [{"sensor": "A1-CH4-01", "ts": NOW_MS, "value": 0.4}]}
        response = api(gateway_b).post("/api/v1/telemetry/readings", body)
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["body", "gateway"], "msg": f"unknown gateway '{code}'", "type": "unknown_gateway"}
        ]
    assert not Reading.objects.exists()


def test_the_store_takes_integer_values_among_decimals_in_one_flush(mine):
    """The store's own contract: rows of whole numbers (as a backfill or another caller may pass them) beside
    decimals in one flush. On PostgreSQL the flush goes as one array per column, and psycopg refuses a list of
    mixed int and float outright: the whole flush, readings and all, would roll back."""
    from headframe.telemetry.storage import SqlReadingStore

    minute = NOW_MS - NOW_MS % 60_000
    rows = [
        (mine.pump.pk, minute + 1000, 1),
        (mine.pump.pk, minute + 2000, 0),
        (mine.co.pk, minute + 1000, 12),
        (mine.co.pk, minute + 2000, 12.5),
    ]
    SqlReadingStore().add_to_aggregates(rows)
    co = ReadingAggregate.objects.get(sensor=mine.co, step="1m", bucket=minute)
    assert (co.min, co.max, co.sum, co.count, co.last) == (12, 12.5, 24.5, 2, 12.5)
    pump = ReadingAggregate.objects.get(sensor=mine.pump, step="1h", bucket=minute - minute % 3_600_000)
    assert (pump.min, pump.max, pump.sum, pump.count, pump.last) == (0, 1, 1, 2, 0)
