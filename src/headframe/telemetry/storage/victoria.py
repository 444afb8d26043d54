"""Raw readings in VictoriaMetrics (`HEADFRAME_READING_STORE=victoriametrics`); everything else stays in SQL.

Series: one metric `headframe_reading{sensor="<sensor id>"}` (the id is the stable key: codes can be renamed).
Written as JSON lines to /api/v1/import (one line per sensor per batch, exact shortest float text), read with
/api/v1/export. VictoriaMetrics must run with `-dedup.minScrapeInterval=1ms` (a (sensor, ts) written twice is
kept once: shipping is at-least-once) and `-retentionPeriod` = HEADFRAME_TELEMETRY_RETENTION_RAW_DAYS days.
It keeps 12 significant decimal digits of a value (a sensor's 0.41 or 1234.5678 comes back exactly, 1/3 as
0.333333333333) and drops samples outside its retention or more than 2 days ahead of its clock.

Writes go through the SQL outbox (`outbox`): `insert` adds the readings in the ingest transaction, a shipper
thread (`ensure_shipper`, run by `headframe ingest` and `headframe serve`) posts them in batches, asks
VictoriaMetrics to make them searchable (/internal/force_flush) and only then marks them shipped. That is not yet
on disk (VictoriaMetrics writes it seconds later; a kill -9 before loses it), so a shipped reading leaves the
outbox only outbox.KEEP_SHIPPED_MS later, and only if VictoriaMetrics kept running since (its
`vm_app_start_timestamp`): one that restarted gets the readings it may have lost again (`_settle_shipped`).
So every read is outbox first, then VictoriaMetrics, merged: a reading is always in one of the two when read.

VictoriaMetrics down: ingest, live state and alarms go on (the outbox grows, the shipper logs how far behind it
is and drains it when the store is back). `read_raw` returns what the outbox holds with `complete = False`
(a `RawReadings` list): the caller shows the gap instead of failing. `existing` (duplicate check of late
readings) never holds up the flush: it answers from the outbox alone, flagged `complete = False` (a
`CheckedKeys` dict). Were a reading it could not check stored once more, a true duplicate would be absorbed
by the deduplication, but a conflicting value (another value at the same ms) would replace the stored one,
since of two writes of one (series, ms) VictoriaMetrics 1.79 keeps the later — so ingest quarantines such
readings as `unchecked` instead (services.ingestion._resolve_older), and the rate-of-rise window takes the
SQL minute aggregates' lows for what it could not read (services.rise_windows._window_before).

Raw history kept in SQL before the switch: `headframe readings-to-victoriametrics` (`history_copy`).
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import DatabaseError, connection

from headframe.telemetry.storage import outbox, partitions
from headframe.telemetry.storage.base import Row
from headframe.telemetry.storage.sql import SqlReadingStore

log = logging.getLogger(__name__)

METRIC = "headframe_reading"
SHIP_BATCH = 20_000  # readings per POST (~0.5 MB of JSON)
SHIP_IDLE_S = 0.5  # the shipper's pause when the outbox is empty
DOWN_FOR_S = 5.0  # after a failure, reads and duplicate checks skip VictoriaMetrics this long (no waiting)
READ_TIMEOUT_S = 5.0
# Reads under the ingest's sensor locks (the duplicate check of late readings, the rate-of-rise window): one
# deadline for the whole call, then the caller goes on with what it has, flagged incomplete (fail safe), so a
# store that drops packets stalls a flush this long at most, once per DOWN_FOR_S.
LOCKED_READ_DEADLINE_S = 0.3
HEALTH_TIMEOUT_S = 2.0
WRITE_TIMEOUT_S = 30.0
SETTLE_EVERY_S = 5.0  # how often the shipper checks for a restart of the store and removes settled readings
RESTART_SLACK_MS = (
    2_000  # the store's start time is in whole seconds (and the two clocks may differ a little)
)


class VictoriaMetricsUnavailable(Exception):
    """VictoriaMetrics did not answer, or answered with an error."""


class RawReadings(list[tuple[int, float]]):
    """`read_raw`'s rows; `complete` is False when the time-series store could not be read and only the
    readings still waiting in the outbox are here."""

    complete: bool = True


class CheckedKeys(dict[tuple[int, int], float]):
    """`existing`'s answer; `complete` is False when the time-series store could not be asked, so a key not in
    it may still be stored there (the caller may hold such readings back instead of storing them again)."""

    complete: bool = True


def server_flags() -> list[str]:
    """The flags headframe needs on `victoria-metrics` (besides -storageDataPath and -httpListenAddr):
    deduplication of a (series, ms) written twice and the raw retention of the settings."""
    days = settings.TELEMETRY_RETENTION_RAW_DAYS
    return [
        "-dedup.minScrapeInterval=1ms",
        f"-retentionPeriod={days}d" if days > 0 else "-retentionPeriod=100y",
    ]


class VictoriaMetricsClient:
    """The few HTTP calls headframe makes, over one keep-alive connection per thread."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        self._down_until = 0.0

    # ---- the calls
    def import_rows(self, rows: Sequence[Row]) -> None:
        """Post readings as JSON lines, one line per sensor."""
        by_sensor: dict[int, tuple[list[float], list[int]]] = {}
        for sensor_id, ts, value in rows:
            series = by_sensor.get(sensor_id)
            if series is None:
                series = by_sensor[sensor_id] = ([], [])
            series[0].append(value)
            series[1].append(ts)
        body = b"\n".join(
            orjson.dumps({"metric": {"__name__": METRIC, "sensor": str(sid)}, "values": v, "timestamps": t})
            for sid, (v, t) in by_sensor.items()
        )
        self._call("POST", "/api/v1/import", body, WRITE_TIMEOUT_S)

    def force_flush(self) -> None:
        """Make what was imported searchable now (VictoriaMetrics otherwise takes up to several seconds)."""
        self._call("GET", "/internal/force_flush", None, WRITE_TIMEOUT_S)

    def export(self, sensor_id: int, first_ms: int, last_ms: int, timeout: float) -> dict[int, float]:
        """The raw samples of one sensor with first_ms <= ts <= last_ms (both ends included)."""
        if self._down_until > time.monotonic():
            raise VictoriaMetricsUnavailable("not answering (retried shortly)")
        query = urllib.parse.urlencode(
            {
                "match[]": f'{METRIC}{{sensor="{sensor_id}"}}',
                "start": f"{first_ms / 1000:.3f}",
                "end": f"{last_ms / 1000:.3f}",
            }
        )
        body = self._call("GET", f"/api/v1/export?{query}", None, timeout)
        samples: dict[int, float] = {}
        for line in body.splitlines():
            if line:
                series = orjson.loads(line)
                samples.update(zip(series["timestamps"], series["values"], strict=True))
        return samples

    def started_at_ms(self) -> int:
        """When this VictoriaMetrics process started (its own clock, whole seconds), 0 if it does not say."""
        body = b"\n" + self._call("GET", "/metrics", None, HEALTH_TIMEOUT_S)
        for name in (b"vm_app_start_timestamp ", b"process_start_time_seconds "):
            at = body.find(b"\n" + name)
            if at >= 0:
                return int(float(body[at + len(name) + 1 :].split(b"\n", 1)[0])) * 1000
        return 0

    def healthy(self) -> bool:
        try:
            self._call("GET", "/health", None, HEALTH_TIMEOUT_S)
        except VictoriaMetricsUnavailable:
            return False
        return True

    # ---- transport
    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = self._local.conn = cls(self._host, self._port, timeout=timeout)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _went_down(self, why: object) -> None:
        """Reads skip the store for DOWN_FOR_S; said once per such period, not once per read."""
        now = time.monotonic()
        if now >= self._down_until:
            log.warning(
                "VictoriaMetrics at %s unavailable (%s): raw reads show the outbox only, retried in %.0f s",
                self.url,
                why,
                DOWN_FOR_S,
            )
        self._down_until = now + DOWN_FOR_S

    def _call(self, method: str, path: str, body: bytes | None, timeout: float) -> bytes:
        for attempt in (1, 2):
            conn = self._connection(timeout)
            reused = conn.sock is not None
            try:
                conn.request(method, self._prefix + path, body=body)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                stale = isinstance(exc, (BrokenPipeError, ConnectionResetError))  # incl. RemoteDisconnected
                if reused and stale and attempt == 1:
                    continue  # the server closed an idle keep-alive connection: once more on a new one
                self._went_down(exc)
                raise VictoriaMetricsUnavailable(f"{self.url}: {exc!r}") from exc
            if response.status >= 300:
                self._went_down(f"HTTP {response.status}")
                raise VictoriaMetricsUnavailable(
                    f"{self.url}{path.split('?')[0]}: HTTP {response.status} {data[:200]!r}"
                )
            self._down_until = 0.0
            return data
        raise AssertionError("unreachable")


class VictoriaMetricsReadingStore:
    """Raw readings in VictoriaMetrics through the outbox; the 1-minute and 1-hour aggregates in SQL."""

    def __init__(self, url: str) -> None:
        self.vendor = connection.vendor
        self.url = url
        self.client = VictoriaMetricsClient(url)
        self._sql = SqlReadingStore()
        self._next_settle = 0.0  # time.monotonic() of the next `_settle_shipped`

    # ---- writes
    def insert(self, rows: Sequence[Row]) -> int:
        return outbox.append(rows)

    def add_to_aggregates(self, rows: Sequence[Row]) -> None:
        self._sql.add_to_aggregates(rows)

    def ship(self, limit: int = SHIP_BATCH) -> int:
        """Ship up to `limit` waiting readings; raises VictoriaMetricsUnavailable (and keeps them) when the store
        does not take them. Every SETTLE_EVERY_S also settles what was shipped before (`_settle_shipped`)."""
        if time.monotonic() >= self._next_settle:
            self._settle_shipped(limit)

        def post(rows: list[Row]) -> None:
            self.client.import_rows(rows)
            self.client.force_flush()

        return outbox.drain(post, limit)

    def _settle_shipped(self, limit: int) -> None:
        """Ship again what a store that restarted since may have lost (shipped before its start, and not yet on
        its disk when it went down), then remove what was shipped more than KEEP_SHIPPED_MS ago to a store that
        kept running since. Raises VictoriaMetricsUnavailable (removing nothing) when the store does not answer."""
        started_ms = self.client.started_at_ms()
        if started_ms:
            again = outbox.unship(started_ms + RESTART_SLACK_MS)
            if again:
                log.warning(
                    "VictoriaMetrics restarted: %d recently shipped readings are shipped again", again
                )
        else:
            log.warning(
                "VictoriaMetrics at %s does not say when it started: restarts are not checked", self.url
            )
        outbox.purge_shipped(int(time.time() * 1000) - outbox.KEEP_SHIPPED_MS, 4 * limit)
        self._next_settle = time.monotonic() + SETTLE_EVERY_S

    def ship_all(self, limit: int = SHIP_BATCH) -> int:
        """Ship until the outbox is empty (what was waiting when called, and what arrives meanwhile)."""
        shipped = 0
        while True:
            n = self.ship(limit)
            shipped += n
            if n < limit:
                return shipped

    # ---- reads: the outbox first, then the store (a reading leaves the outbox only once it is searchable)
    def existing(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
        found = CheckedKeys(outbox.find(keys))
        by_sensor: dict[int, list[int]] = {}
        for sensor_id, ts in keys:
            if (sensor_id, ts) not in found:
                by_sensor.setdefault(sensor_id, []).append(ts)
        deadline = time.monotonic() + LOCKED_READ_DEADLINE_S  # for all the sensors together
        try:
            for sensor_id, stamps in by_sensor.items():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise VictoriaMetricsUnavailable("the duplicate check ran out of time")
                samples = self.client.export(sensor_id, min(stamps), max(stamps), left)
                for ts in stamps:
                    if ts in samples:
                        found[(sensor_id, ts)] = samples[ts]
        except VictoriaMetricsUnavailable:
            # Fail safe: never hold up the flush (and its alarms); an unchecked reading is stored again.
            found.complete = False
        return found

    def read_raw(
        self, sensor_id: int, start_ms: int, end_ms: int, limit: int, timeout: float = READ_TIMEOUT_S
    ) -> list[tuple[int, float]]:
        """`timeout`: LOCKED_READ_DEADLINE_S where the caller holds the ingest's sensor locks."""
        merged = dict(outbox.read_range(sensor_id, start_ms, end_ms, limit))
        rows = RawReadings()
        if end_ms > start_ms:
            try:
                stored = self.client.export(sensor_id, start_ms, end_ms - 1, timeout)
            except VictoriaMetricsUnavailable:
                rows.complete = False  # said once per outage by the client
            else:
                merged = {**stored, **merged}
        rows.extend(sorted(merged.items())[:limit])
        return rows

    def read_aggregates(
        self, sensor_id: int, step: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, float, float, float, int, float]]:
        return self._sql.read_aggregates(sensor_id, step, start_ms, end_ms)


@dataclass(frozen=True)
class CopyProgress:
    """Where `history_copy` is: the table (a day's partition on partitioned PostgreSQL) and how far in it."""

    table: str
    copied: int  # readings copied by this run so far
    done: bool  # this table is copied whole
    resume: str  # give this as `after` to carry on from here: "<table>:<sensor id>:<ts>"


def history_tables() -> list[str]:
    """Where old raw readings are in SQL: each partition in time order, then the default one (partitioned
    PostgreSQL), else the one table."""
    if not partitions.partitioned():
        return [partitions.RAW.parent]
    tables = [p.name for p in partitions.partitions_list(partitions.RAW)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partitions.RAW.default])
        if cursor.fetchone()[0]:
            tables.append(partitions.RAW.default)
    return tables


def history_copy(
    store: VictoriaMetricsReadingStore,
    batch: int = SHIP_BATCH,
    after: str = "",
    progress: Callable[[CopyProgress], None] | None = None,
) -> int:
    """Copy the raw readings kept in SQL (`telemetry_reading`, from before the switch to VictoriaMetrics) into
    VictoriaMetrics; safe to run again (deduplicated). On partitioned PostgreSQL one partition after the other,
    each paged by its own (sensor, ts) key, so no query plans over the whole parent. After each batch,
    VictoriaMetrics is asked to make it searchable (not yet on disk: it writes it seconds later), then `progress`
    gets a resume point: `after` = that point carries on from there. The SQL rows are left in place: once the copy
    is checked (after VictoriaMetrics ran a minute longer; run the copy again if it crashed meanwhile), drop them
    with the raw retention or by hand. Returns how many readings were copied."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    tables = history_tables()
    first, start_key = 0, (-1, -1)
    if after:
        try:
            table, sensor_id, ts = after.rsplit(":", 2)
            start_key = (int(sensor_id), int(ts))
        except ValueError:
            raise ValueError(f"not a resume point (TABLE:SENSOR:TS): {after!r}") from None
        if table not in tables:  # e.g. its partition was dropped by retention meanwhile
            raise ValueError(f"{table} no longer holds readings: start again without a resume point")
        first = tables.index(table)
    copied = 0
    for table in tables[first:]:
        quoted = connection.ops.quote_name(table)
        key = start_key
        start_key = (-1, -1)
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT sensor_id, ts, value FROM {quoted} WHERE sensor_id > %s OR "
                    "(sensor_id = %s AND ts > %s) ORDER BY sensor_id, ts LIMIT %s",
                    [key[0], key[0], key[1], batch],
                )
                rows = cursor.fetchall()
            if rows:
                store.client.import_rows(rows)
                store.client.force_flush()
                copied += len(rows)
                key = (rows[-1][0], rows[-1][1])
            done = len(rows) < batch
            if progress is not None and (rows or done):
                progress(CopyProgress(table, copied, done, f"{table}:{key[0]}:{key[1]}"))
            if done:
                break
    return copied


def check_line() -> str:
    """`headframe check`: VictoriaMetrics reachable and how many readings wait for it; raises
    VictoriaMetricsUnavailable when it does not answer."""
    from headframe.telemetry.storage import reading_store  # noqa: PLC0415 — the package imports this module

    store = reading_store()
    assert isinstance(store, VictoriaMetricsReadingStore)
    if not store.client.healthy():
        raise VictoriaMetricsUnavailable(f"VictoriaMetrics at {store.url} does not answer /health")
    waiting = outbox.backlog()
    count = str(waiting.waiting) if waiting.exact else f"about {waiting.waiting}"
    return f"VictoriaMetrics at {store.url} reachable, {count} readings waiting in the outbox"


# ---------------------------------------------------------------- the shipper thread


class Shipper:
    """Drains the outbox into VictoriaMetrics until stopped; backs off while the store is down, saying how many
    readings wait and since when."""

    def __init__(self, store: VictoriaMetricsReadingStore) -> None:
        self.store = store
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="headframe-vm-shipper", daemon=True)
        self._behind = False

    def _run(self) -> None:
        backoff = 1.0
        try:
            while not self.stop.is_set():
                try:
                    shipped = self.store.ship()
                except (VictoriaMetricsUnavailable, DatabaseError) as exc:
                    self._report_behind(exc)
                    if not connection.in_atomic_block:
                        connection.close()
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                except Exception:
                    log.exception("shipping readings to VictoriaMetrics failed")
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 1.0
                if self._behind and shipped < SHIP_BATCH:
                    self._behind = False
                    log.warning("VictoriaMetrics caught up: the reading outbox is drained")
                if shipped < SHIP_BATCH:
                    self.stop.wait(SHIP_IDLE_S)
        finally:
            connection.close()

    def _report_behind(self, exc: Exception) -> None:
        self._behind = True
        try:
            waiting, oldest, exact = outbox.backlog()
        except DatabaseError:
            waiting, oldest, exact = -1, None, True
        behind_s = (time.time() * 1000 - oldest) / 1000 if oldest is not None else 0.0
        log.warning(
            "readings not shipped to VictoriaMetrics (%s): %s%d wait in the outbox, the oldest from %.0f s ago",
            exc,
            "" if exact else "about ",
            waiting,
            behind_s,
        )


_shipper: Shipper | None = None
_shipper_lock = threading.Lock()


def ensure_shipper() -> Shipper | None:
    """Start this process's shipper if readings go to VictoriaMetrics (again, if it died); idempotent."""
    global _shipper
    if settings.READING_STORE != "victoriametrics":
        return None
    from headframe.telemetry.storage import reading_store  # noqa: PLC0415 — the package imports this module

    with _shipper_lock:
        if _shipper is None or not _shipper.thread.is_alive():
            store = reading_store()
            assert isinstance(store, VictoriaMetricsReadingStore)
            _shipper = Shipper(store)
            _shipper.thread.start()
        return _shipper
