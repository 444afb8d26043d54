"""Retention prunes only what its settings allow; alarm KPIs count floods, bad actors and chattering."""

import datetime as dt
import math

from django.utils import timezone

from headframe.telemetry import services
from headframe.telemetry.models import Alarm, AlarmCondition, Reading, ReadingAggregate
from headframe.telemetry.selectors import alarm_kpis
from headframe.telemetry.services import ingestion
from tests.telemetry.conftest import NOW_MS

DAY = 86_400_000


def test_prune_deletes_raw_readings_past_retention_and_keeps_hours(mine, send, settings):
    settings.TELEMETRY_RETENTION_RAW_DAYS = 3
    settings.TELEMETRY_RETENTION_MINUTE_DAYS = 5
    send([("A1-CH4-01", NOW_MS - 6 * DAY + i * 1000, 0.2) for i in range(3)])
    send([("A1-CH4-01", NOW_MS - 4 * DAY, 0.3), ("A1-CH4-01", NOW_MS - 1000, 0.4)])
    deleted = services.readings_prune(now_ms=NOW_MS)
    assert (deleted["raw"], deleted["1m"]) == (4, 1)  # PostgreSQL: rows of days without a partition
    assert list(Reading.objects.values_list("value", flat=True)) == [0.4]
    assert ReadingAggregate.objects.filter(step="1h").count() == 3  # hours are kept


def test_prune_with_a_time_budget_stops_after_a_chunk_and_says_so(mine, send, settings, monkeypatch):
    monkeypatch.setattr(ingestion, "PRUNE_CHUNK", 2)
    settings.TELEMETRY_RETENTION_RAW_DAYS = 3
    send([("A1-CH4-01", NOW_MS - 6 * DAY + i * 1000, 0.2) for i in range(3)])

    first = services.readings_prune(now_ms=NOW_MS, budget_s=0)
    rest = services.readings_prune(now_ms=NOW_MS, budget_s=0)

    assert (first["raw"], first["unfinished"]) == (2, 1)
    assert (rest["raw"], rest["unfinished"]) == (1, 0)
    assert not Reading.objects.exists()


def _alarm(cond, at, priority="high"):
    return Alarm.objects.create(
        condition=cond,
        sensor=cond.sensor,
        site=cond.sensor.gateway.site,
        site_path=cond.sensor.gateway.site.path,
        limit_code=cond.limit_code,
        priority=priority,
        message="x",
        raised_at=at,
        returned_at=at + dt.timedelta(seconds=5),
        closed_at=at + dt.timedelta(seconds=6),
    )


def test_kpis_find_floods_bad_actors_and_chattering(mine):
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    chatty = AlarmCondition.objects.create(sensor=mine.ch4, limit_code="ch4_face_return_warn")
    other = AlarmCondition.objects.create(sensor=mine.co, limit_code="co_workplace_high")
    for i in range(12):  # 12 alarms in 2 minutes: a flood, and the same condition 3+ times within a minute
        _alarm(chatty, start + dt.timedelta(seconds=10 * i))
    _alarm(other, start + dt.timedelta(minutes=30))
    k = alarm_kpis(site_path=mine.site.path, start=start, end=start + dt.timedelta(hours=1))
    assert k.alarms == 13
    assert math.isclose(k.per_10_min, 13 / 6)
    assert k.flood_periods == [(start, 12)]
    assert k.bad_actors[0] == ("A1-CH4-01", "ch4_face_return_warn", 12)
    assert k.chattering[0][:2] == ("A1-CH4-01", "ch4_face_return_warn")
    assert all(s != "A1-CO-01" for s, _lim, _n in k.chattering)
