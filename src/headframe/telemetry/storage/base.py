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
    """Per (sensor, bucket): (sensor, bucket, min, max, sum, count, last ts, last value) — one pass, in arrival
    order. A bucket seen once (the common case: one instant per sensor per message) is kept as the tuple it is
    returned as; only a bucket seen again becomes a list to fold into, so the usual flush allocates one tuple per
    reading and copies nothing at the end."""
    acc: dict[tuple[int, int], tuple | list] = {}
    folded = False
    for sensor_id, ts, value in rows:
        bucket = ts - ts % step_ms
        key = (sensor_id, bucket)
        a = acc.get(key)
        if a is None:
            acc[key] = (sensor_id, bucket, value, value, value, 1, ts, value)
            continue
        if a.__class__ is tuple:
            a = acc[key] = list(a)
            folded = True
        if value < a[2]:
            a[2] = value
        if value > a[3]:
            a[3] = value
        a[4] += value
        a[5] += 1
        if ts >= a[6]:
            a[6] = ts
            a[7] = value
    if not folded:
        return list(acc.values())
    return [a if a.__class__ is tuple else tuple(a) for a in acc.values()]


def merge_buckets(buckets: list[tuple], step_ms: int) -> list[tuple]:
    """Fold finer buckets (sid, bucket, min, max, sum, count, last_ts, last) into coarser ones (as `bucket_rows`:
    a coarse bucket made of one fine bucket is one new tuple, nothing more)."""
    acc: dict[tuple[int, int], tuple | list] = {}
    folded = False
    for sid, bucket, lo, hi, total, count, last_ts, last in buckets:
        coarse = bucket - bucket % step_ms
        key = (sid, coarse)
        a = acc.get(key)
        if a is None:
            acc[key] = (sid, coarse, lo, hi, total, count, last_ts, last)
            continue
        if a.__class__ is tuple:
            a = acc[key] = list(a)
            folded = True
        if lo < a[2]:
            a[2] = lo
        if hi > a[3]:
            a[3] = hi
        a[4] += total
        a[5] += count
        if last_ts >= a[6]:
            a[6], a[7] = last_ts, last
    if not folded:
        return list(acc.values())
    return [a if a.__class__ is tuple else tuple(a) for a in acc.values()]
