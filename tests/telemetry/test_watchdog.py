"""The watchdog raises "no data" alarms for silent sensors and ends expired shelving, in any process."""

import datetime as dt

from django.utils import timezone

from headframe.telemetry import services, watchdog
from headframe.telemetry.models import AlarmCondition, Reading
from headframe.telemetry.services import ingestion
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
