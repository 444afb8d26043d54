"""Readings in the project database (SQLite or PostgreSQL): the default `ReadingStore`."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import psycopg
from django.db import IntegrityError, connection, transaction

from headframe.core.db_router import read_connection
from headframe.telemetry.models import STEP_MS, Step
from headframe.telemetry.storage.base import Row, bucket_rows, merge_buckets

# The reads name their time bounds as values (the stamps themselves for `existing`), so PostgreSQL scans only the
# partitions of the asked range (tests/telemetry/test_partitions.py shows the plans).
READ_RAW_SQL = (
    "SELECT ts, value FROM telemetry_reading WHERE sensor_id = %s AND ts >= %s AND ts < %s "
    "ORDER BY ts LIMIT %s"
)
READ_AGGREGATES_SQL = (
    "SELECT bucket, min, max, sum / count, count, last FROM telemetry_readingaggregate "
    "WHERE sensor_id = %s AND step = %s AND bucket >= %s AND bucket < %s ORDER BY bucket"
)


def existing_sql(stamps: int, table: str = "telemetry_reading") -> str:
    """The stored readings of one sensor at `stamps` given times."""
    marks = ", ".join(["%s"] * stamps)
    return f"SELECT ts, value FROM {table} WHERE sensor_id = %s AND ts IN ({marks})"


def values_at(table: str, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """The stored value of each (sensor, ts) of `keys` that `table` holds: per sensor, 500 times a query."""
    found: dict[tuple[int, int], float] = {}
    by_sensor: dict[int, list[int]] = {}
    for sensor_id, ts in keys:
        by_sensor.setdefault(sensor_id, []).append(ts)
    with connection.cursor() as cursor:
        for sensor_id, stamps in by_sensor.items():
            for start in range(0, len(stamps), 500):
                chunk = stamps[start : start + 500]
                cursor.execute(existing_sql(len(chunk), table), [sensor_id, *chunk])
                for ts, value in cursor.fetchall():
                    found[(sensor_id, ts)] = value
    return found


class SqlReadingStore:
    """Readings in the project database: executemany on SQLite, COPY through a staging table on PostgreSQL."""

    def __init__(self) -> None:
        self.vendor = connection.vendor

    # ---- writes
    def insert(self, rows: Sequence[Row]) -> int:
        return insert_skipping_stored("telemetry_reading", rows)

    def existing(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
        return values_at("telemetry_reading", keys)

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
            params.sort()  # in key order, as the readings
            raw.executemany(sql.replace("%s", "?"), params)
            return
        # PostgreSQL: one statement over arrays instead of a round trip per bucket.
        types = ("bigint", "varchar", "bigint", "float8", "float8", "float8", "int", "bigint", "float8")
        # psycopg refuses a list of mixed int and float: a whole-number value is made a float like the rest.
        columns = [
            list(map(float, col)) if kind == "float8" else list(col)
            for kind, col in zip(types, zip(*params, strict=True), strict=True)
        ]
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        values_sql = (
            sql[: sql.index("VALUES")] + f"SELECT * FROM unnest({unnest}) " + sql[sql.index("ON CONFLICT") :]
        )
        with connection.cursor() as cursor:
            cursor.execute(values_sql, columns)

    # ---- reads
    # History reads go to the read replica inside a `reading_from_replica()` scope (the primary otherwise).
    def read_raw(self, sensor_id: int, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, float]]:
        with read_connection().cursor() as cursor:
            cursor.execute(READ_RAW_SQL, [sensor_id, start_ms, end_ms, limit])
            return cursor.fetchall()

    def read_aggregates(self, sensor_id: int, step: str, start_ms: int, end_ms: int) -> list[tuple]:
        with read_connection().cursor() as cursor:
            first_bucket = start_ms - start_ms % STEP_MS[step]
            cursor.execute(READ_AGGREGATES_SQL, [sensor_id, step, first_bucket, end_ms])
            return cursor.fetchall()


def insert_skipping_stored(table: str, rows: Sequence[Row]) -> int:
    """Rows (sensor, ts, value) into `table` keyed on (sensor_id, ts); a key already there is skipped. Returns how
    many were added. SQLite: executemany by sensor (each sensor's rows go into its page of the table, clustered
    on the key, one after the other; within a sensor they arrive in time order). PostgreSQL: COPY straight in —
    the services hand over only rows they checked are new, under the sensor lock — and, should one exist after
    all, again through a staging table with ON CONFLICT DO NOTHING."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        raw = _raw_connection()
        before = raw.total_changes
        raw.executemany(
            f"INSERT INTO {table} (sensor_id, ts, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            sorted(rows, key=itemgetter(0)),  # by sensor (an int: 3× faster than by whole tuples); ts mostly
        )
        return int(raw.total_changes - before)
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} (sensor_id, ts, value) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return len(rows)
    except (IntegrityError, psycopg.IntegrityError):  # COPY runs on the raw cursor: psycopg's own error
        pass  # one of the rows is stored already: all of them again, through the staging table below
    staging = f"{table}_in"
    with connection.cursor() as cursor:
        pg = cursor.cursor  # psycopg cursor: COPY is not in the DB-API
        pg.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
            "(sensor_id bigint, ts bigint, value double precision) ON COMMIT DELETE ROWS"
        )
        with pg.copy(f"COPY {staging} (sensor_id, ts, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        pg.execute(
            f"INSERT INTO {table} (sensor_id, ts, value) "
            f"SELECT sensor_id, ts, value FROM {staging} ON CONFLICT DO NOTHING"
        )
        added = int(pg.rowcount)
        pg.execute(f"TRUNCATE {staging}")
        return added


def _raw_connection():
    connection.ensure_connection()
    return connection.connection
