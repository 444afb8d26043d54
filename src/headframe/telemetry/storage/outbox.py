"""The reading outbox: raw readings committed in the ingest transaction (with live state and alarms) and
shipped afterwards to an external time-series store by `drain`. Nothing here knows which store that is.

A reading is acknowledged to its gateway only once the ingest transaction commits, and it is in this table from
then on until a shipper has handed it to the store *and* the store made it searchable: so a store that is down
loses nothing and delays nothing, and the table plus the store always hold every acknowledged reading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import IntegrityError, connection, transaction

from headframe.telemetry.storage.base import Row

TABLE = "telemetry_readingoutbox"


def append(rows: Sequence[Row]) -> int:
    """Add readings (in the caller's transaction); a (sensor, ts) already waiting is skipped. Returns how many
    were added."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _append_pg(rows)
    connection.ensure_connection()
    raw = connection.connection
    before = raw.total_changes
    raw.executemany(
        f"INSERT INTO {TABLE} (sensor_id, ts, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows
    )
    return int(raw.total_changes - before)


def _append_pg(rows: Sequence[Row]) -> int:
    """COPY straight in (the service hands over only rows it checked are new); should one be waiting after
    all, again through a staging table with ON CONFLICT DO NOTHING."""
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {TABLE} (sensor_id, ts, value) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return len(rows)
    except IntegrityError:
        pass
    with connection.cursor() as cursor:
        pg = cursor.cursor
        pg.execute(
            "CREATE TEMP TABLE IF NOT EXISTS telemetry_readingoutbox_in "
            "(sensor_id bigint, ts bigint, value double precision) ON COMMIT DELETE ROWS"
        )
        with pg.copy("COPY telemetry_readingoutbox_in (sensor_id, ts, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        pg.execute(
            f"INSERT INTO {TABLE} (sensor_id, ts, value) "
            "SELECT sensor_id, ts, value FROM telemetry_readingoutbox_in ON CONFLICT DO NOTHING"
        )
        added = int(pg.rowcount)
        pg.execute("TRUNCATE telemetry_readingoutbox_in")
        return added


def find(keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """The waiting value of each (sensor, ts) that is waiting."""
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
                    f"SELECT ts, value FROM {TABLE} WHERE sensor_id = %s AND ts IN ({marks})",
                    [sensor_id, *chunk],
                )
                for ts, value in cursor.fetchall():
                    found[(sensor_id, ts)] = value
    return found


def read_range(sensor_id: int, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts, value FROM {TABLE} WHERE sensor_id = %s AND ts >= %s AND ts < %s ORDER BY ts LIMIT %s",
            [sensor_id, start_ms, end_ms, limit],
        )
        return [(ts, value) for ts, value in cursor.fetchall()]


def drain(ship: Callable[[list[Row]], None], limit: int) -> int:
    """Hand up to `limit` waiting readings to `ship` and remove them once it returned; if it raises, they stay
    (and the exception propagates). Returns how many were shipped.

    PostgreSQL: the rows are deleted (and so locked) first and the deletion commits only after `ship`, so
    shippers in several processes take disjoint rows (SKIP LOCKED) and a failed one rolls back. Readers keep
    seeing the rows until that commit. SQLite: no write lock is held while shipping (it would stop ingest);
    two shippers may ship the same rows, which the store's deduplication absorbs."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # A deletion lost in a crash only ships those readings again, which the store deduplicates: no need
            # to wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE ctid = ANY(ARRAY("  # a TID scan (IN would probe row by row)
                f"SELECT ctid FROM {TABLE} LIMIT %s FOR UPDATE SKIP LOCKED)) RETURNING sensor_id, ts, value",
                [limit],
            )
            rows = cursor.fetchall()
            if rows:
                ship(rows)
            return len(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sensor_id, ts, value FROM {TABLE} ORDER BY rowid LIMIT %s", [limit])
        rows = cursor.fetchall()
    if not rows:
        return 0
    ship(rows)
    with transaction.atomic():
        connection.connection.executemany(
            f"DELETE FROM {TABLE} WHERE sensor_id = ? AND ts = ? AND value = ?", rows
        )
    return len(rows)


def backlog() -> tuple[int, int | None]:
    """(readings waiting, the oldest waiting reading's ts): how far the store is behind."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MIN(ts) FROM {TABLE}")
        count, oldest = cursor.fetchone()
    return count, oldest
