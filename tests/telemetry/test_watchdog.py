"""The watchdog raises "no data" alarms for silent sensors and ends expired shelving, in any process."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from headframe.telemetry import services, watchdog
from headframe.telemetry.models import AlarmCondition, Gateway, Reading
from headframe.telemetry.services import alarms, ingestion, stale
from headframe.telemetry.watchdog import watchdog_tick

DAY = 86_400_000


def test_a_silent_sensor_alarms_as_stale_on_the_next_tick(mine, send):
    long_ago = int(timezone.now().timestamp() * 1000) - 120_000  # period 10 s: silent for 12 periods
    send([("A1-CH4-01", long_ago, 0.3)], now_ms=long_ago + 1000)
    raised, _ = watchdog_tick()
    assert raised == 1
    assert AlarmCondition.objects.get(sensor=mine.ch4, limit_code="stale").active


def test_expired_shelving_ends_on_the_next_tick(mine, send, users):
    now = int(timezone.now().timestamp() * 1000)
    send([("A1-O2-01", now - 30_000 + i * 5_000, 19.2) for i in range(4)], now_ms=now)
    cond = AlarmCondition.objects.get(sensor=mine.o2, limit_code="o2_workplace_low")
    services.alarm_shelve(actor=users.admin_a, condition_id=cond.id, minutes=5, reason="hiệu chuẩn")
    AlarmCondition.objects.filter(pk=cond.pk).update(shelved_until=timezone.now() - dt.timedelta(seconds=1))
    _, expired = watchdog_tick()
    cond.refresh_from_db()
    assert expired == 1 and cond.shelved_until is None


def test_retention_goes_on_over_ticks_within_its_time_budget(mine, send, settings, monkeypatch):
    # A budget of 0 s: one chunk (of 2 rows here) per tick, the rest at the next ticks — the alarm scans of a
    # tick never wait for a whole backlog.
    monkeypatch.setattr(ingestion, "PRUNE_CHUNK", 2)
    monkeypatch.setattr(watchdog, "PRUNE_BUDGET_S", 0.0)
    monkeypatch.setattr(watchdog, "_last_maintenance", [None])
    monkeypatch.setattr(watchdog, "_prune_unfinished", [False])
    settings.TELEMETRY_RETENTION_RAW_DAYS = 3
    old = int(timezone.now().timestamp() * 1000) - 5 * DAY
    send([("A1-CH4-01", old + i * 1000, 0.2) for i in range(5)], now_ms=old + 10_000)

    left = []
    for _ in range(4):
        watchdog.watchdog_tick()
        left.append(Reading.objects.filter(sensor=mine.ch4).count())

    assert left == [3, 1, 0, 0]


def _silent_for_two_minutes(mine, send, sensors) -> None:
    """Every sensor's newest reading two minutes old while its gateway is heard (ingest far behind)."""
    long_ago = int(timezone.now().timestamp() * 1000) - 120_000
    values = {"ch4_pct": 0.3, "co_ppm": 2.0, "o2_pct": 20.8, "pump_running": 1.0}
    send([(s.code, long_ago, values[s.kind]) for s in sensors], now_ms=long_ago + 1000)
    Gateway.objects.filter(pk=mine.gateway.pk).update(last_seen=timezone.now())


def test_a_flood_of_silent_sensors_is_raised_methane_first_over_rounds_within_the_scan_budget(
    mine, send, monkeypatch
):
    # 21 methane heads, a CO, an O2 and 31 pumps silent at once. A budget of 0 s: one transaction's chunk of 20
    # per scan, the rest at the next scans — a flood never holds the scan (and SQLite's writer) for long.
    methane = [mine.ch4, *(mine.add_sensor(f"A1-CH4-{n:02d}", period_s=10) for n in range(2, 22))]
    pumps = [
        mine.pump,
        *(mine.add_sensor(f"A1-P-{n:02d}", "pump_running", "sump", period_s=10) for n in range(30)),
    ]
    _silent_for_two_minutes(mine, send, [*methane, mine.co, mine.o2, *pumps])
    monkeypatch.setattr(stale, "STALE_BUDGET_S", 0.0)

    rounds = []
    for _ in range(4):
        before = set(_stale_active_codes())
        rounds.append((services.stale_scan(), set(_stale_active_codes()) - before))

    assert [count for count, _ in rounds] == [20, 20, 14, 0]
    assert rounds[0][1] == {s.code for s in methane[:20]}  # methane first
    assert {methane[20].code, "A1-CO-01", "A1-O2-01"} <= rounds[1][1]  # then the other gases, then the rest
    assert set(_stale_active_codes()) == {s.code for s in [*methane, mine.co, mine.o2, *pumps]}


def _stale_active_codes():
    return AlarmCondition.objects.filter(limit_code="stale", active=True).values_list(
        "sensor__code", flat=True
    )


@pytest.mark.django_db(transaction=True)
def test_the_watchdog_leaves_sqlites_write_lock_free_between_its_transactions(mine, send, monkeypatch):
    # SQLite has one writer and no queue: a scan that began its next transaction at once would keep ingest (and
    # its methane trips) waiting behind a flood. Between chunks the watchdog pauses with no transaction open.
    sensors = [mine.ch4, *(mine.add_sensor(f"A1-CH4-{n:02d}", period_s=10) for n in range(2, 46))]
    _silent_for_two_minutes(mine, send, sensors)
    pauses = []

    def pause(seconds):
        pauses.append((seconds, connection.in_atomic_block))

    monkeypatch.setattr(alarms.time, "sleep", pause)
    monkeypatch.setattr(stale, "STALE_BUDGET_S", 60.0)  # the whole flood in this one round, however slow
    raised, _ = watchdog_tick()

    assert raised == 45
    if connection.vendor == "sqlite":
        assert pauses == [(alarms.GIVE_WAY_S, False)] * 2  # 45 sensors: three transactions, two pauses
    else:
        assert pauses == []  # PostgreSQL locks rows: nothing to give way to
