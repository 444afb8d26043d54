"""Ingest and the watchdog's scans (gateway lost, no data) on the same sensors at the same time, on PostgreSQL:
every path takes its row locks in one global order (sensor states by id, then conditions), so no deadlock, and a
scan decides on what is committed when it holds the lock, so fresh data never leaves a "no data" or "gateway lost"
alarm standing."""

import threading

import pytest
from django.db import connection

from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    GATEWAY_LOST_LIMIT,
    STALE_LIMIT,
    Alarm,
    AlarmCondition,
    Reading,
    SensorState,
)
from tests.telemetry.conftest import NOW_MS

pytestmark = pytest.mark.django_db(transaction=True)

SENSORS = 45  # more than two stale-scan chunks
ROUNDS = 12
GAP_MS = (
    10_000  # between rounds: every sensor (period 1 s) is silent and the gateway lost when a round starts
)
FACE_TRIP = "ch4_face_return_trip"


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL: SQLite has a single writer")


@pytest.fixture
def heads(postgresql, mine):
    codes = [f"A1-CH4-{n:03d}" for n in range(2, 2 + SENSORS)]
    for code in codes:
        mine.add_sensor(code, period_s=1)
    return codes


def _run_together(*jobs) -> list[BaseException]:
    """Each job in its own thread (its own database connection), started together; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job):
        try:
            directory.invalidate()
            start.wait(timeout=10)
            job()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting for a lock"
    return errors


def test_ingest_and_the_stale_scans_on_the_same_sensors_never_deadlock_nor_leave_a_false_alarm(heads, mine):
    tripping = heads[7]  # one head goes over the trip level in the first round and stays there
    services.ingest(
        [services.Batch("GW-A1", [(code, NOW_MS - GAP_MS, 0.3) for code in heads])], now_ms=NOW_MS - GAP_MS
    )
    for round_ in range(ROUNDS):
        now_ms = NOW_MS + round_ * GAP_MS
        readings = [(code, now_ms - 100, 1.5 if code == tripping else 0.3) for code in heads]

        def scans(now_ms=now_ms):
            services.gateways_scan(now_ms=now_ms)
            services.stale_scan(now_ms=now_ms)

        def ingest(readings=readings, now_ms=now_ms):
            services.ingest([services.Batch("GW-A1", readings)], now_ms=now_ms)

        errors = _run_together(scans, ingest) if round_ % 2 else _run_together(ingest, scans)
        assert errors == [], f"round {round_}: {errors!r}"
        # Whichever went first, the fresh message leaves no sensor "without data" and the gateway not lost.
        assert not AlarmCondition.objects.filter(limit_code=STALE_LIMIT, active=True).exists(), round_
        assert not AlarmCondition.objects.filter(limit_code=GATEWAY_LOST_LIMIT, active=True).exists(), round_
        assert set(SensorState.objects.filter(sensor__code__in=heads).values_list("last_ts", flat=True)) == {
            now_ms - 100
        }
    assert Reading.objects.filter(sensor__code__in=heads).count() == SENSORS * (ROUNDS + 1)
    trip = AlarmCondition.objects.get(sensor__code=tripping, limit_code=FACE_TRIP)
    assert trip.active and Alarm.objects.filter(condition=trip).count() == 1  # raised once, never re-raised
    others = AlarmCondition.objects.filter(limit_code=FACE_TRIP, active=True).exclude(sensor__code=tripping)
    assert not others.exists()
