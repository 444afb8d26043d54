"""What a reading store is: the `ReadingStore` interface and the bucket arithmetic every backend shares.
`sql.SqlReadingStore` keeps readings in the project's database (SQLite or PostgreSQL).

A time-series database plugs in by implementing the same five methods — `victoria.VictoriaMetricsReadingStore`
does: `insert` adds the readings to the SQL outbox (`outbox`) in the ingest transaction and a shipper thread posts
them to VictoriaMetrics' /api/v1/import afterwards; `existing` and `read_raw` read the outbox and then
/api/v1/export (one series per sensor id), merged; the 1-minute and 1-hour aggregates stay in SQL
(`add_to_aggregates`, `read_aggregates`). When that store does not answer, `read_raw` and `existing` return what
the outbox holds with `complete = False` (`RawReadings`, `CheckedKeys`); callers that need the whole answer (the
rate-of-rise window, the duplicate check of late readings, the history page) check that flag — a plain list or
dict, as the SQL store returns, is complete. Live state, alarms and the quarantine stay in SQL either way: they
are small, transactional and what the alarm engine's exactly-once guarantee rests on.

All methods run inside the caller's transaction; `insert` must be idempotent on (sensor, ts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

Row = tuple[int, int, float]  # (sensor id, ts epoch ms, value)


class ReadingStore(Protocol):
    def insert(self, rows: Sequence[Row]) -> int:
        """Store new readings; a (sensor, ts) already stored is skipped. Returns how many were stored."""

    def existing(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
        """The stored value of each (sensor, ts) that exists."""

    def add_to_aggregates(self, rows: Sequence[Row]) -> None:
        """Fold newly stored readings into the 1-minute and 1-hour aggregates."""

    def read_raw(self, sensor_id: int, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, float]]: ...

    def read_aggregates(
        self, sensor_id: int, step: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, float, float, float, int, float]]:
        """(bucket, min, max, avg, count, last) per bucket in [start, end)."""


def bucket_rows(rows: Iterable[Row], step_ms: int) -> list[tuple]:
    """Per (sensor, bucket): min, max, sum, count, last ts, last value — one pass, in arrival order."""
    acc: dict[tuple[int, int], list] = {}
    for sensor_id, ts, value in rows:
        key = (sensor_id, ts - ts % step_ms)
        a = acc.get(key)
        if a is None:
            acc[key] = [value, value, value, 1, ts, value]
            continue
        if value < a[0]:
            a[0] = value
        if value > a[1]:
            a[1] = value
        a[2] += value
        a[3] += 1
        if ts >= a[4]:
            a[4] = ts
            a[5] = value
    return [(sid, bucket, *a) for (sid, bucket), a in acc.items()]


def merge_buckets(buckets: list[tuple], step_ms: int) -> list[tuple]:
    """Fold finer buckets (sid, bucket, min, max, sum, count, last_ts, last) into coarser ones."""
    acc: dict[tuple[int, int], list] = {}
    for sid, bucket, lo, hi, total, count, last_ts, last in buckets:
        key = (sid, bucket - bucket % step_ms)
        a = acc.get(key)
        if a is None:
            acc[key] = [lo, hi, total, count, last_ts, last]
            continue
        a[0] = min(a[0], lo)
        a[1] = max(a[1], hi)
        a[2] += total
        a[3] += count
        if last_ts >= a[4]:
            a[4], a[5] = last_ts, last
    return [(sid, bucket, *a) for (sid, bucket), a in acc.items()]
