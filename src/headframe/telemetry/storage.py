"""Where readings are kept. `ReadingStore` is the interface; `SqlReadingStore` keeps them in the project's
database (SQLite or PostgreSQL) and is the only backend today.

A time-series database plugs in by implementing the same five methods — e.g. VictoriaMetrics: `insert` posts
InfluxDB line protocol to /write (or remote-write), `existing` and `read_raw` query /api/v1/export with a series
selector per sensor code, and `read_aggregates` uses /api/v1/query_range with min/max/avg_over_time and a step.
Live state, alarms and the quarantine stay in SQL either way: they are small, transactional and what the alarm
engine's exactly-once guarantee rests on.

All methods run inside the caller's transaction; `insert` must be idempotent on (sensor, ts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from django.db import IntegrityError, connection, transaction

from headframe.telemetry.models import STEP_MS, Step

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


class SqlReadingStore:
    """Readings in the project database: executemany on SQLite, COPY through a staging table on PostgreSQL."""

    def __init__(self) -> None:
        self.vendor = connection.vendor

    # ---- writes
    def insert(self, rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        if self.vendor == "postgresql":
            return self._insert_pg(rows)
        raw = _raw_connection()
        before = raw.total_changes
        raw.executemany(
            "INSERT INTO telemetry_reading (sensor_id, ts, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )
        return raw.total_changes - before

    def _insert_pg(self, rows: Sequence[Row]) -> int:
        """COPY straight into the table: the service only hands over rows it checked are new (under the
        sensor lock). Should one exist after all, fall back to a staging table with ON CONFLICT DO NOTHING."""
        try:
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy("COPY telemetry_reading (sensor_id, ts, value) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        except IntegrityError:
            pass
        with connection.cursor() as cursor:
            pg = cursor.cursor  # psycopg cursor: COPY is not in the DB-API
            pg.execute(
                "CREATE TEMP TABLE IF NOT EXISTS telemetry_reading_in "
                "(sensor_id bigint, ts bigint, value double precision) ON COMMIT DELETE ROWS"
            )
            with pg.copy("COPY telemetry_reading_in (sensor_id, ts, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            pg.execute(
                "INSERT INTO telemetry_reading (sensor_id, ts, value) "
                "SELECT sensor_id, ts, value FROM telemetry_reading_in ON CONFLICT DO NOTHING"
            )
            stored = pg.rowcount
            pg.execute("TRUNCATE telemetry_reading_in")
            return stored

    def existing(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
        found: dict[tuple[int, int], float] = {}
        by_sensor: dict[int, list[int]] = {}
        for sensor_id, ts in keys:
            by_sensor.setdefault(sensor_id, []).append(ts)
        with connection.cursor() as cursor:
            for sensor_id, stamps in by_sensor.items():
                for start in range(0, len(stamps), 500):
                    chunk = stamps[start : start + 500]
                    marks = ", ".join(["%s"] * len(chunk))
                    cursor.execute(
                        f"SELECT ts, value FROM telemetry_reading WHERE sensor_id = %s AND ts IN ({marks})",
                        [sensor_id, *chunk],
                    )
                    for ts, value in cursor.fetchall():
                        found[(sensor_id, ts)] = value
        return found

    def add_to_aggregates(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        least, greatest = ("LEAST", "GREATEST") if self.vendor == "postgresql" else ("MIN", "MAX")
        sql = (
            "INSERT INTO telemetry_readingaggregate "
            "(sensor_id, step, bucket, min, max, sum, count, last_ts, last) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (sensor_id, step, bucket) DO UPDATE SET "
            f"min = {least}(telemetry_readingaggregate.min, excluded.min), "
            f"max = {greatest}(telemetry_readingaggregate.max, excluded.max), "
            "sum = telemetry_readingaggregate.sum + excluded.sum, "
            "count = telemetry_readingaggregate.count + excluded.count, "
            "last = CASE WHEN excluded.last_ts >= telemetry_readingaggregate.last_ts "
            "THEN excluded.last ELSE telemetry_readingaggregate.last END, "
            f"last_ts = {greatest}(telemetry_readingaggregate.last_ts, excluded.last_ts)"
        )
        minutes = bucket_rows(rows, STEP_MS[Step.MINUTE])
        params = [(sid, "1m", bucket, *rest) for sid, bucket, *rest in minutes]
        params.extend(
            (sid, "1h", bucket, *rest) for sid, bucket, *rest in merge_buckets(minutes, STEP_MS[Step.HOUR])
        )
        if self.vendor == "sqlite":
            raw = _raw_connection()
            raw.executemany(sql.replace("%s", "?"), params)
            return
        # PostgreSQL: one statement over arrays instead of a round trip per bucket.
        types = ("bigint", "varchar", "bigint", "float8", "float8", "float8", "int", "bigint", "float8")
        columns = [list(col) for col in zip(*params, strict=True)]
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        values_sql = (
            sql[: sql.index("VALUES")] + f"SELECT * FROM unnest({unnest}) " + sql[sql.index("ON CONFLICT") :]
        )
        with connection.cursor() as cursor:
            cursor.execute(values_sql, columns)

    # ---- reads
    def read_raw(self, sensor_id: int, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, float]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ts, value FROM telemetry_reading WHERE sensor_id = %s AND ts >= %s AND ts < %s "
                "ORDER BY ts LIMIT %s",
                [sensor_id, start_ms, end_ms, limit],
            )
            return cursor.fetchall()

    def read_aggregates(self, sensor_id: int, step: str, start_ms: int, end_ms: int) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT bucket, min, max, sum / count, count, last FROM telemetry_readingaggregate "
                "WHERE sensor_id = %s AND step = %s AND bucket >= %s AND bucket < %s ORDER BY bucket",
                [sensor_id, step, start_ms - start_ms % STEP_MS[step], end_ms],
            )
            return cursor.fetchall()


def _raw_connection():
    connection.ensure_connection()
    return connection.connection


_store: ReadingStore | None = None


def reading_store() -> ReadingStore:
    """The configured backend (only the SQL one exists; see the module docstring for a TSDB)."""
    global _store
    if _store is None or getattr(_store, "vendor", None) != connection.vendor:
        _store = SqlReadingStore()
    return _store
