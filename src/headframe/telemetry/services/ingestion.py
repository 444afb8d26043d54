"""Ingest in one transaction per flush: validate every reading (bad ones go to the quarantine with the reason),
lock the live state of the sensors touched (so two ingest processes take turns per sensor), store new readings,
fold them into the aggregates, move live state forward, evaluate alarms, count outcomes per gateway. The caller
(MQTT worker, HTTP handler) acknowledges the message only after this returns — i.e. after the commit.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction

from headframe.core import live_bus
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    ON_OFF_KINDS,
    Gateway,
    Quarantine,
    QuarantineReason,
    SensorState,
)
from headframe.telemetry.services.alarms import _evaluate_alarms, _faults_without_value, _late_trips, _locked
from headframe.telemetry.services.gateways import _gateways_back
from headframe.telemetry.services.readings import (
    NAN,
    OVER,
    UNDER,
    Batch,
    IngestResult,
    _Bad,
    _int_value,
    _not_a_number,
    _stored_text,
    parse_ts,
)
from headframe.telemetry.storage import partitions, reading_store

FUTURE_TOLERANCE_MS = 5_000  # gateway clocks drift; more than this ahead is a wrong clock, not drift


def max_age_ms() -> int:
    return 1000 * settings.TELEMETRY_MAX_AGE_S


PRUNE_CHUNK = 20_000  # rows per DELETE: up to ~0.6 s on a legacy partition being thinned (dead rows to skip)


def readings_prune(*, now_ms: int | None = None, budget_s: float | None = None) -> dict[str, int]:
    """Retention: remove raw readings and 1-minute aggregates older than their settings allow; hour aggregates,
    alarms and the journal are kept. Returns the rows deleted ("raw", "1m"), the partitions dropped
    ("raw_partitions", "1m_partitions") and "unfinished": 1 when `budget_s` ran out with rows still to delete
    (call again to go on), else 0.

    PostgreSQL drops whole partitions (a UTC day of raw readings, a UTC month of minute aggregates, or the legacy
    partition of migration 0009) once all of their range is past retention — so up to one more day (month) is
    kept than the setting says — without counting their rows, which would read them all; only rows waiting in a
    default partition, or in a legacy partition that straddles the cutoff, are deleted row by row. SQLite deletes
    row by row. Deletes go in chunks, one transaction each, so a large backlog never holds the write lock for
    long; with `budget_s`, no further chunk starts once that many seconds have passed (at least one always runs, so
    each call makes progress): the watchdog's alarm scans wait for this call, and the legacy partition may have
    millions of rows to thin."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    deadline = None if budget_s is None else time.monotonic() + budget_s
    pruned = {"raw": 0, "1m": 0, "raw_partitions": 0, "1m_partitions": 0, "unfinished": 0}
    on_partitions = partitions.partitioned()
    for name, layout in (("raw", partitions.RAW), ("1m", partitions.MINUTE)):
        cutoff = layout.cutoff(now_ms)
        if cutoff is None:
            continue
        if connection.vendor == "sqlite":
            if not _prune_along_key(name, cutoff, deadline, pruned):
                pruned["unfinished"] = 1
                return pruned
            continue
        if on_partitions:
            pruned[f"{name}_partitions"] = len(partitions.partitions_drop_older(layout, cutoff))
            statements = [
                partitions.thin_chunk_sql(layout, table, PRUNE_CHUNK)
                for table in partitions.partitions_thinned(layout, cutoff)
            ]
        else:
            statements = [prune_chunk_sql(name)]
        for sql in statements:
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [cutoff])
                    count = cursor.rowcount
                pruned[name] += count
                if count < PRUNE_CHUNK:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    pruned["unfinished"] = 1
                    return pruned
    return pruned


def _prune_along_key(name: str, cutoff: int, deadline: float | None, pruned: dict[str, int]) -> bool:
    """SQLite: delete the "raw" readings or "1m" aggregates older than `cutoff` sensor by sensor, each a range of
    the key the WITHOUT ROWID table is stored in (migration 0011): a seek to the sensor, then its oldest rows —
    never a scan of the table, which has no index on time. Chunks of PRUNE_CHUNK rows, one transaction each.
    False when the deadline passed with sensors still to go: the next call in this process goes on from the
    sensor it stopped at."""
    if name == "raw":
        table, prefix, time_column = "telemetry_reading", "sensor_id = %s", "ts"
    else:
        table, prefix, time_column = "telemetry_readingaggregate", "sensor_id = %s AND step = '1m'", "bucket"
    oldest = (
        f"SELECT {time_column} FROM {table} WHERE {prefix} AND {time_column} < %s "
        f"ORDER BY {time_column} LIMIT {PRUNE_CHUNK}"
    )
    delete = f"DELETE FROM {table} WHERE {prefix} AND {time_column} IN ({oldest})"
    started_at = sensor = _prune_resume.pop(name, -1)
    # A resumed pass goes on to the last sensor, then from the first up to where it began.
    wrapped = started_at == -1
    ran = False  # at least one chunk runs in each call, whatever the budget
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(sensor_id) FROM {table} WHERE sensor_id >= %s", [sensor])
            sensor = cursor.fetchone()[0]
        if sensor is None and not wrapped:
            wrapped, sensor = True, -1
            continue
        if sensor is None or (wrapped and started_at != -1 and sensor >= started_at):
            return True
        if ran and deadline is not None and time.monotonic() >= deadline:
            _prune_resume[name] = sensor
            return False
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(delete, [sensor, sensor, cutoff])
                count = cursor.rowcount
            pruned[name] += count
            ran = True
            if count < PRUNE_CHUNK:
                break
            if deadline is not None and time.monotonic() >= deadline:
                _prune_resume[name] = sensor
                return False
        sensor += 1


_prune_resume: dict[str, int] = {}  # SQLite: the sensor a budgeted prune stopped at, per table


def prune_chunk_sql(name: str) -> str:
    """PostgreSQL: the DELETE of up to PRUNE_CHUNK "raw" readings or "1m" aggregates older than a cutoff (the one
    placeholder) from tables without partitions (partitions: `partitions.thin_chunk_sql`; SQLite:
    `_prune_along_key`)."""
    if name == "raw":
        table, where = "telemetry_reading", "ts < %s"
    else:
        table, where = "telemetry_readingaggregate", "step = '1m' AND bucket < %s"
    # ONLY: while migration 0009 runs, the hours' table inherits from the aggregates, and a ctid names a row of
    # one table only.
    return f"DELETE FROM ONLY {table} WHERE ctid IN (SELECT ctid FROM ONLY {table} WHERE {where} LIMIT {PRUNE_CHUNK})"


def _gateway_site_path(gateway_code: str) -> str:
    return Gateway.objects.filter(code=gateway_code).values_list("site__path", flat=True).first() or ""


def _validate(batch: Batch, now_ms: int, good: list, bad: list, doubtful: dict) -> None:
    """The hot loop: keep it flat. Appends (sensor id, ts, value) to good, _Bad to bad, and marks readings
    outside the sensor's range in doubtful[(sensor id, ts)] (OVER, UNDER or NAN)."""
    known = directory.by_code()
    gateway = batch.gateway_code
    gateway_site: str | None = None  # looked up only when a reading names another gateway's sensor
    oldest = now_ms - max_age_ms()
    newest = now_ms + FUTURE_TOLERANCE_MS
    retried = False
    for item in batch.readings:
        try:
            code, ts, value = item
        except (TypeError, ValueError):
            bad.append(
                _Bad(gateway, "", "", repr(item)[:64], QuarantineReason.MALFORMED, "not (sensor, ts, value)")
            )
            continue
        info = known.get(code) if isinstance(code, str) else None
        if info is None:
            if not retried and isinstance(code, str):
                retried = directory.retry_unknown()
                known = directory.by_code()
                info = known.get(code)
            if info is None:
                bad.append(_Bad(gateway, str(code), ts, value, QuarantineReason.UNKNOWN_SENSOR))
                continue
        if info.gateway_code != gateway:
            if gateway_site is None:
                gateway_site = _gateway_site_path(gateway)
            if info.site_path == gateway_site:  # a mix-up within the site: say where it is registered
                bad.append(
                    _Bad(
                        gateway,
                        code,
                        ts,
                        value,
                        QuarantineReason.WRONG_GATEWAY,
                        f"registered on {info.gateway_code}",
                    )
                )
            else:  # another site's (another company's) sensor: its existence is not this gateway's business
                bad.append(_Bad(gateway, code, ts, value, QuarantineReason.UNKNOWN_SENSOR))
            continue
        if ts.__class__ is not int:
            try:
                ts = parse_ts(ts)
            except ValueError as exc:
                bad.append(_Bad(gateway, code, ts, value, QuarantineReason.BAD_TIMESTAMP, str(exc)))
                continue
        if not oldest <= ts <= newest:
            reason = QuarantineReason.FUTURE if ts > newest else QuarantineReason.TOO_OLD
            bad.append(_Bad(gateway, code, ts, value, reason))
            continue
        cls = value.__class__
        if cls is not float:
            # A reading is a JSON number. Text ("0.4", "١٢٣", "1_000") is not one, whatever float() would make
            # of it; true/false is a reading only of an on/off sensor (a pump, a fan), never of a measurement.
            if cls is int:
                value = _int_value(value)
            elif cls is bool and info.kind in ON_OFF_KINDS:
                value = 1.0 if value else 0.0
            else:
                bad.append(
                    _Bad(gateway, code, ts, value, QuarantineReason.NOT_A_NUMBER, _not_a_number(info, value))
                )
                doubtful[(info.id, ts)] = NAN  # the sensor sends something that is not a measurement
                continue
        # One chained comparison each for the common case; NaN and ±inf fail it too (ranges are finite).
        if not info.range_min <= value <= info.range_max:
            if value != value or value in (math.inf, -math.inf):
                # Not a number: nothing to store, but the sensor is not measuring — a fault, fail safe.
                bad.append(_Bad(gateway, code, ts, value, QuarantineReason.NOT_A_NUMBER))
                doubtful[(info.id, ts)] = NAN
                continue
            # Fail safe: an over-range gas value is the most dangerous reading there is, and a value below the
            # range is a sensor that cannot be trusted. Both are stored as received and flagged for the engine.
            doubtful[(info.id, ts)] = OVER if value > info.range_max else UNDER
        good.append((info.id, ts, value))


def ingest(batches: Sequence[Batch], *, now_ms: int | None = None) -> list[IngestResult]:
    """Validate and store many messages in one transaction; one result per message, in order."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    results = [IngestResult(b.gateway_code, b.seq, received=len(b.readings)) for b in batches]
    per_batch: list[tuple[IngestResult, bool, list]] = []
    bad_by_result: list[tuple[IngestResult, _Bad]] = []
    doubtful: dict[tuple[int, int], str] = {}
    for batch, result in zip(batches, results, strict=True):
        good: list[tuple] = []
        bad: list[_Bad] = []
        _validate(batch, now_ms, good, bad, doubtful if not batch.historical else {})
        per_batch.append((result, batch.historical, good))
        bad_by_result.extend((result, b) for b in bad)
    with transaction.atomic():
        _store_and_evaluate(per_batch, bad_by_result, results, batches, now_ms, doubtful)
    return results


def readings_ingest(
    *,
    gateway_code: str,
    readings: Sequence[tuple],
    seq: int | None = None,
    channel: str = "http",
    now_ms=None,
) -> IngestResult:
    return ingest([Batch(gateway_code, readings, seq=seq, channel=channel)], now_ms=now_ms)[0]


def _lock_states(sensor_ids: list[int]) -> dict[int, tuple[int | None, int | None]]:
    """(last live ts, newest stored ts) per sensor, locked for this transaction (PostgreSQL: FOR UPDATE, in
    id order so two processes never deadlock; SQLite: the IMMEDIATE transaction already holds the write lock)."""
    states: dict[int, tuple[int | None, int | None]] = {}
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for start in range(0, len(sensor_ids), 900):
            chunk = sensor_ids[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT sensor_id, last_ts, max_ts FROM telemetry_sensorstate WHERE sensor_id IN ({marks}) "
                f"ORDER BY sensor_id{lock}",
                chunk,
            )
            for sensor_id, last_ts, max_ts in cursor.fetchall():
                states[sensor_id] = (last_ts, max_ts)
    missing = [sid for sid in sensor_ids if sid not in states]
    if missing:
        SensorState.objects.bulk_create(
            [SensorState(sensor_id=sid) for sid in missing], ignore_conflicts=True
        )
        # Lock the new rows too (another writer may have created them first: then theirs are read here).
        created = _locked(SensorState.objects.filter(sensor_id__in=missing))
        for sid, last_ts, max_ts in created.values_list("sensor_id", "last_ts", "max_ts"):
            states[sid] = (last_ts, max_ts)
    return states


def _dedupe_in_flush(per_batch, bad_by_result) -> list[tuple[IngestResult, bool, list]]:
    """The same (sensor, ts) twice in one flush: a duplicate (same value) or a conflict (another value)."""
    first_seen: dict[tuple[int, int], float] = {}
    out = []
    for result, historical, rows in per_batch:
        kept = []
        for row in rows:
            sid, ts, value = row
            seen = first_seen.get((sid, ts))
            if seen is None:
                first_seen[(sid, ts)] = value
                kept.append(row)
            elif seen == value:
                result.duplicates += 1
            else:
                code = directory.by_id(sid).code
                bad_by_result.append(
                    (result, _Bad(result.gateway, code, ts, value, QuarantineReason.CONFLICT))
                )
        out.append((result, historical, kept))
    return out


def _resolve_older(older, to_store, bad_by_result, store) -> None:
    """Readings not newer than the newest stored one of their sensor: stored before (duplicate or conflict),
    or late but new (e.g. two ingest processes finished a gateway's messages out of order) — history is real,
    so those are stored, but never move live state or alarms back in time.

    When the store could not check them all (VictoriaMetrics down: `complete` is False), a reading not found may
    be a duplicate or a conflict of one already shipped, and storing it again could overwrite history: it is
    quarantined as `unchecked` (counted per gateway, to be sent again once the store is back), and a value beyond
    a trip limit among them still raises its late occurrence (fail safe)."""
    stored_values = store.existing([(sid, ts) for _r, (sid, ts, _v) in older])
    checked = getattr(stored_values, "complete", True)
    unchecked: list[tuple] = []
    for result, row in older:
        sid, ts, value = row
        known = stored_values.get((sid, ts))
        if known is None and not checked:
            code = directory.by_id(sid).code
            why = "the time-series store did not answer: it may hold this reading already"
            bad = _Bad(result.gateway, code, ts, value, QuarantineReason.UNCHECKED, why)
            bad_by_result.append((result, bad))
            unchecked.append(row)
        elif known is None:
            result.out_of_order += 1
            result.stored += 1
            to_store.append(row)
        elif known == value:
            result.duplicates += 1
        else:
            code = directory.by_id(sid).code
            bad = _Bad(result.gateway, code, ts, value, QuarantineReason.CONFLICT, f"stored {known}")
            bad_by_result.append((result, bad))
    if unchecked:
        older[0][0].alarms_raised += _late_trips(unchecked)


def _store_and_evaluate(per_batch, bad_by_result, results, batches, now_ms, doubtful) -> None:
    store = reading_store()
    total = sum(len(rows) for _r, _h, rows in per_batch)
    keys = {(row[0], row[1]) for _r, _h, rows in per_batch for row in rows}
    if len(keys) != total:
        per_batch = _dedupe_in_flush(per_batch, bad_by_result)
    # Sensors with only not-a-number readings too: their fault condition is locked below, and a sensor's
    # conditions are locked only after its state (the one lock order, see alarms._lock_sensor_states).
    states = _lock_states(sorted({sid for sid, _ts in keys} | {sid for sid, _ts in doubtful}))
    max_ts = {sid: -1 if newest is None else newest for sid, (_last, newest) in states.items()}

    to_store: list[tuple] = []
    live_rows: list[tuple] = []
    historical_rows: list[tuple] = []
    older: list[tuple] = []
    for result, historical, rows in per_batch:
        fresh = [row for row in rows if row[1] > max_ts[row[0]]]  # newer than anything stored: cannot exist
        if len(fresh) != len(rows):
            older.extend((result, row) for row in rows if row[1] <= max_ts[row[0]])
        result.stored += len(fresh)
        to_store.extend(fresh)
        (historical_rows if historical else live_rows).extend(fresh)
    late_rows: list[tuple] = list(historical_rows)
    if older:
        stored_before = len(to_store)
        _resolve_older(older, to_store, bad_by_result, store)
        late_rows.extend(to_store[stored_before:])
    stored = store.insert(to_store)
    if stored != len(to_store):  # cannot happen under the state lock; if it ever does, say so in the counts
        results[0].duplicates += len(to_store) - stored
    store.add_to_aggregates(to_store)

    # Live state and alarms follow only live (non-historical) readings newer than the last live one.
    live: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for sid, ts, value in live_rows:
        live[sid].append((ts, value))
    newest_stored: dict[int, int] = {}
    for sid, points in live.items():
        points.sort()
        last_live = states[sid][0]
        if last_live is not None and points[0][0] <= last_live:
            points[:] = [p for p in points if p[0] > last_live]
        newest_stored[sid] = points[-1][0] if points else -1
    for sid, ts, _v in historical_rows:
        if ts > newest_stored.get(sid, -1):
            newest_stored[sid] = ts
    live = {sid: points for sid, points in live.items() if points}
    _move_state(live, newest_stored)
    raised = _evaluate_alarms(live, now_ms, doubtful)
    if doubtful:
        raised += _faults_without_value(doubtful, states)
    raised += _late_trips(late_rows)
    for result in results:
        if result.received and raised:
            result.alarms_raised = raised  # reported on the flush's first message
            break
    _quarantine(bad_by_result, results, batches)
    _count(results, batches, now_ms)
    # The live pages of the sites whose sensors moved wake when this commits (PostgreSQL): one notify per site.
    moved = map(directory.by_id, {row[0] for row in to_store})
    live_bus.notify(*{live_bus.site_topic(info.site_path) for info in moved if info is not None})


def _move_state(live: dict[int, list[tuple[int, float]]], newest_stored: dict[int, int]) -> None:
    updates = [(points[-1][0], points[-1][1], sid) for sid, points in live.items()]  # points are sorted
    newest = [(ts, sid, ts) for sid, ts in newest_stored.items() if ts >= 0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement over arrays, not a round trip per sensor
            if updates:
                ts, values, sids = (list(c) for c in zip(*updates, strict=True))
                cursor.execute(
                    "UPDATE telemetry_sensorstate AS s SET last_ts = v.ts, last_value = v.value, online = TRUE, "
                    "updated_at = now() FROM unnest(%s::bigint[], %s::float8[], %s::bigint[]) AS v(ts, value, sid) "
                    "WHERE s.sensor_id = v.sid",
                    [ts, values, sids],
                )
            if newest:
                ts, sids, _ = (list(c) for c in zip(*newest, strict=True))
                cursor.execute(
                    "UPDATE telemetry_sensorstate AS s SET max_ts = v.ts "
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(ts, sid) "
                    "WHERE s.sensor_id = v.sid AND (s.max_ts IS NULL OR s.max_ts < v.ts)",
                    [ts, sids],
                )
            return
        # SQLite: one UPDATE per sensor; a live sensor's newest stored time moves in the same statement.
        if updates:
            cursor.executemany(
                "UPDATE telemetry_sensorstate SET last_ts = %s, last_value = %s, online = TRUE, "
                "updated_at = CURRENT_TIMESTAMP, max_ts = MAX(COALESCE(max_ts, %s), %s) WHERE sensor_id = %s",
                [(ts, value, newest_stored[sid], newest_stored[sid], sid) for ts, value, sid in updates],
            )
        newest = [row for row in newest if row[1] not in live]
        if newest:
            cursor.executemany(
                "UPDATE telemetry_sensorstate SET max_ts = %s WHERE sensor_id = %s AND (max_ts IS NULL OR max_ts < %s)",
                newest,
            )


# Refused readings kept one by one per message: past this, only the first reading of each (sensor, reason) not yet
# kept, up to QUARANTINE_KEYS_PER_MESSAGE of them, and one more row says how many more were refused and why (the
# counts per gateway count every one). A 1 MB message of bad readings must not become 200 000 rows, and a
# sensor whose readings are refused (say, a methane head registered on another gateway) is never left out.
QUARANTINE_ROWS_PER_MESSAGE = 100
QUARANTINE_KEYS_PER_MESSAGE = 1000


def _quarantine(bad_by_result: list[tuple[IngestResult, _Bad]], results, batches) -> None:
    if not bad_by_result:
        return
    channel_of = {id(result): batch.channel for result, batch in zip(results, batches, strict=True)}
    rows = []
    kept: Counter = Counter()
    kept_keys: dict[int, set] = defaultdict(set)
    more: dict[int, tuple[IngestResult, Counter]] = {}
    for result, bad in bad_by_result:
        reason = str(bad.reason)
        result.quarantined[reason] += 1
        key = (str(bad.sensor), reason)
        keys = kept_keys[id(result)]
        first_of_its_kind = key not in keys and len(keys) < QUARANTINE_KEYS_PER_MESSAGE
        if kept[id(result)] >= QUARANTINE_ROWS_PER_MESSAGE and not first_of_its_kind:
            more.setdefault(id(result), (result, Counter()))[1][reason] += 1
            continue
        kept[id(result)] += 1
        keys.add(key)
        rows.append(
            Quarantine(
                gateway_code=_stored_text(bad.gateway, 120),
                sensor_code=_stored_text(bad.sensor, 120),
                ts_raw=_stored_text(bad.ts, 64),
                value_raw=_stored_text(bad.value, 64),
                reason=bad.reason,
                detail=_stored_text(bad.detail, 1000),
                channel=channel_of.get(id(result), ""),
            )
        )
    for result, counts in more.values():
        n = sum(counts.values())
        by_reason = ", ".join(f"{reason} {count}" for reason, count in counts.most_common())
        rows.append(
            Quarantine(
                gateway_code=_stored_text(result.gateway, 120),
                reason=counts.most_common(1)[0][0],
                detail=f"{n} more readings of this message refused, not kept one by one (the first "
                f"{QUARANTINE_ROWS_PER_MESSAGE} are, and the first of each sensor and reason): {by_reason}",
                channel=channel_of.get(id(result), ""),
            )
        )
    Quarantine.objects.bulk_create(rows, batch_size=500)


QUARANTINE_PAYLOAD_CHARS = 2 * 1024 * 1024


def quarantine_message(
    *, gateway_code: str, detail: str, raw: bytes | str = b"", channel: str = "mqtt"
) -> None:
    """A whole message that could not be parsed (not JSON, wrong types, bad protobuf, too big)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    gateway_code = _stored_text(gateway_code, 120)
    with transaction.atomic():
        Quarantine.objects.create(
            gateway_code=gateway_code,
            reason=QuarantineReason.MALFORMED,
            # whole, so it can be replayed
            detail=_stored_text(f"{detail[:400]} | {text}", 400 + 3 + QUARANTINE_PAYLOAD_CHARS),
            channel=channel,
        )
        _bump(gateway_code, {QuarantineReason.MALFORMED.value: 1})


def _bump(gateway_code: str, counts: dict[str, int]) -> None:
    _bump_many([(_stored_text(gateway_code, 120), outcome, n) for outcome, n in counts.items() if n])


def _bump_many(rows: list[tuple[str, str, int]]) -> None:
    """Add (gateway code, outcome, n) to the per-gateway counters."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO telemetry_gatewaycounter (gateway_code, outcome, count) VALUES (%s, %s, %s) "
            "ON CONFLICT (gateway_code, outcome) DO UPDATE SET count = telemetry_gatewaycounter.count + excluded.count",
            rows,
        )


def _count(results: list[IngestResult], batches: Sequence[Batch], now_ms: int) -> None:
    per_gateway: dict[str, Counter] = defaultdict(Counter)
    last_seq: dict[str, int] = {}
    for batch, result in zip(batches, results, strict=True):
        gateway_code = _stored_text(result.gateway, 120)  # as the database can hold it (MQTT topics are free)
        c = per_gateway[gateway_code]
        c["stored"] += result.stored - result.out_of_order
        c["duplicate"] += result.duplicates
        c["out_of_order"] += result.out_of_order
        c["messages"] += 1
        for reason, n in result.quarantined.items():
            c[reason] += n
        if batch.seq is not None:
            last_seq[gateway_code] = batch.seq
    seen = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)  # the clock the watchdog compares with
    _gateways_back(per_gateway, now_ms)
    # Two statements per flush, not two per gateway; in code order, so two ingest processes lock the gateways'
    # rows in the same order (PostgreSQL) and never deadlock.
    codes = sorted(per_gateway)
    _bump_many([(code, outcome, n) for code in codes for outcome, n in per_gateway[code].items() if n])
    seen_value = connection.ops.adapt_datetimefield_value(seen)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE telemetry_gateway SET last_seen = %s, online = %s, messages = messages + %s, "
            "readings_stored = readings_stored + %s, last_seq = COALESCE(%s, last_seq) WHERE code = %s",
            [
                (
                    seen_value,
                    True,
                    per_gateway[code]["messages"],
                    per_gateway[code]["stored"] + per_gateway[code]["out_of_order"],
                    last_seq.get(code),
                    code,
                )
                for code in codes
            ],
        )
