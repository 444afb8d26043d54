"""Telemetry writes: one ingest service for every path (HTTP, MQTT JSON, Sparkplug B), the alarm engine's
persistence, operator actions on alarms, and the sensor registry.

Ingest in one transaction per flush: validate every reading (bad ones go to the quarantine with the reason),
lock the live state of the sensors touched (so two ingest processes take turns per sensor), store new readings,
fold them into the aggregates, move live state forward, evaluate alarms, count outcomes per gateway. The caller
(MQTT worker, HTTP handler) acknowledges the message only after this returns — i.e. after the commit.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.core.text import check_clean_text
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm, Role
from headframe.org.selectors import scope_for
from headframe.telemetry import engine, notifications
from headframe.telemetry.directory import SensorInfo, directory
from headframe.telemetry.models import (
    FAULT_LIMIT,
    GAS_KINDS,
    GATEWAY_LOST_LIMIT,
    KIND_DEFAULTS,
    NEVER_REPORTED_LIMIT,
    ON_OFF_KINDS,
    OVER_RANGE_LIMIT,
    STALE_LIMIT,
    Alarm,
    AlarmCondition,
    AlarmJournal,
    Gateway,
    JournalEvent,
    Quarantine,
    QuarantineReason,
    Sensor,
    SensorState,
)
from headframe.telemetry.storage import reading_store

FUTURE_TOLERANCE_MS = 5_000  # gateway clocks drift; more than this ahead is a wrong clock, not drift


def max_age_ms() -> int:
    return 1000 * settings.TELEMETRY_MAX_AGE_S


PRUNE_CHUNK = 50_000


def readings_prune(*, now_ms: int | None = None) -> dict[str, int]:
    """Retention: delete raw readings and 1-minute aggregates older than their settings allow, in chunks so a
    large backlog never holds the write lock for long. Hour aggregates, alarms and the journal are kept."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    deleted = {"raw": 0, "1m": 0}
    plans = [
        ("raw", settings.TELEMETRY_RETENTION_RAW_DAYS, "telemetry_reading", ""),
        ("1m", settings.TELEMETRY_RETENTION_MINUTE_DAYS, "telemetry_readingaggregate", "step = '1m' AND "),
    ]
    for name, days, table, extra in plans:
        if not days:
            continue
        cutoff = now_ms - days * 86_400_000
        column = "ts" if name == "raw" else "bucket"
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                key = "ctid" if connection.vendor == "postgresql" else "rowid"
                cursor.execute(
                    f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} "
                    f"WHERE {extra}{column} < %s LIMIT {PRUNE_CHUNK})",
                    [cutoff],
                )
                count = cursor.rowcount
            deleted[name] += count
            if count < PRUNE_CHUNK:
                break
    return deleted


@dataclass
class Batch:
    """One message: a gateway's readings as received (sensor code, ts, value), not yet validated."""

    gateway_code: str
    readings: Sequence[tuple]
    seq: int | None = None
    historical: bool = False  # store-and-forward values: stored, but never move live state or alarms
    channel: str = "http"


@dataclass
class IngestResult:
    gateway: str
    seq: int | None
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    quarantined: Counter = field(default_factory=Counter)
    alarms_raised: int = 0

    def as_dict(self) -> dict:
        return {
            "gateway": self.gateway,
            "seq": self.seq,
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "quarantined": dict(self.quarantined),
            "alarms_raised": self.alarms_raised,
        }


@dataclass
class _Bad:
    gateway: str
    sensor: str
    ts: object
    value: object
    reason: str
    detail: str = ""


def parse_ts(raw) -> int:
    """Epoch milliseconds from an ISO-8601 string with an offset, or from a number of epoch milliseconds."""
    if raw.__class__ is int:
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return int(raw)
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("not ISO-8601") from None
        if parsed.tzinfo is None:
            raise ValueError("ISO-8601 time needs a UTC offset (Z or +07:00)")
        return int(parsed.timestamp() * 1000)
    raise ValueError("expected ISO-8601 text or epoch milliseconds")


def _gateway_site_path(gateway_code: str) -> str:
    return Gateway.objects.filter(code=gateway_code).values_list("site__path", flat=True).first() or ""


OVER, UNDER, NAN = "over", "under", "nan"  # doubtful readings: above the range, below it, not a number


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


def _int_value(value: int) -> float:
    """An integer reading as a float; one beyond any float (10**400) is no measurement: inf, refused below."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _not_a_number(info: SensorInfo, value) -> str:
    if value.__class__ is bool:
        return f"true/false is a reading of an on/off sensor (pump, fan) only, not of {info.kind}"
    if isinstance(value, str):
        return "a reading value is a JSON number, not text"
    return ""


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
    so those are stored, but never move live state or alarms back in time."""
    stored_values = store.existing([(sid, ts) for _r, (sid, ts, _v) in older])
    for result, row in older:
        sid, ts, value = row
        known = stored_values.get((sid, ts))
        if known is None:
            result.out_of_order += 1
            result.stored += 1
            to_store.append(row)
        elif known == value:
            result.duplicates += 1
        else:
            code = directory.by_id(sid).code
            bad = _Bad(result.gateway, code, ts, value, QuarantineReason.CONFLICT, f"stored {known}")
            bad_by_result.append((result, bad))


def _store_and_evaluate(per_batch, bad_by_result, results, batches, now_ms, doubtful) -> None:
    store = reading_store()
    total = sum(len(rows) for _r, _h, rows in per_batch)
    keys = {(row[0], row[1]) for _r, _h, rows in per_batch for row in rows}
    if len(keys) != total:
        per_batch = _dedupe_in_flush(per_batch, bad_by_result)
    states = _lock_states(sorted({sid for sid, _ts in keys}))
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
        if updates:
            cursor.executemany(
                "UPDATE telemetry_sensorstate SET last_ts = %s, last_value = %s, online = TRUE, "
                "updated_at = CURRENT_TIMESTAMP WHERE sensor_id = %s",
                updates,
            )
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


def _stored_text(value, limit: int) -> str:
    """Text as received, safe to store: a NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding)
    are written as escapes, never an error that would make the whole flush fail."""
    text = value if isinstance(value, str) else str(value)
    text = text[:limit]
    if "\x00" in text or not text.isascii():
        text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")[:limit]
    return text


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
    rows = [(_stored_text(gateway_code, 120), outcome, n) for outcome, n in counts.items() if n]
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
    for gateway_code, counts in per_gateway.items():
        _bump(gateway_code, dict(counts))
        update = {
            "last_seen": seen,
            "online": True,
            "messages": F("messages") + counts["messages"],
            "readings_stored": F("readings_stored") + counts["stored"] + counts["out_of_order"],
        }
        if gateway_code in last_seq:
            update["last_seq"] = last_seq[gateway_code]
        Gateway.objects.filter(code=gateway_code).update(**update)


# ---------------------------------------------------------------- alarm engine persistence


def _state_of(cond: AlarmCondition) -> engine.ConditionState:
    return engine.ConditionState(
        active=cond.active,
        acked=cond.acked,
        latched=cond.latched,
        pending_since=cond.pending_since,
        clearing_since=cond.clearing_since,
        last_eval_ts=cond.last_eval_ts,
        last_value=cond.last_value,
    )


_STATE_FIELDS = ("active", "acked", "latched", "pending_since", "clearing_since")


def _conditions_for(sensor_ids: Iterable[int]) -> dict[tuple[int, str], AlarmCondition]:
    """Every condition of these sensors (created if missing), locked — used where few sensors are touched."""
    sensor_ids = sorted(set(sensor_ids))
    wanted = [
        AlarmCondition(sensor_id=sid, limit_code=code)
        for sid in sensor_ids
        if (info := directory.by_id(sid)) is not None
        for code in [*(rule.code for rule in info.rules), STALE_LIMIT]
    ]
    AlarmCondition.objects.bulk_create(wanted, ignore_conflicts=True)  # only the missing ones are new
    rows = _locked(AlarmCondition.objects.filter(sensor_id__in=sensor_ids))
    return {(c.sensor_id, c.limit_code): c for c in rows}


def _changed(cond: AlarmCondition, state: engine.ConditionState) -> bool:
    return any(getattr(cond, f) != getattr(state, f) for f in _STATE_FIELDS)


def _locked(queryset):
    """Row locks on PostgreSQL (in id order, so two writers never deadlock on a set); SQLite's IMMEDIATE
    transaction already holds the database's single write lock."""
    if connection.vendor == "postgresql":
        return queryset.select_for_update().order_by("pk")
    return queryset


def _busy_conditions(sensor_ids: list[int]) -> dict[tuple[int, str], AlarmCondition]:
    """The sensors' conditions that are not idle (active, unacked or with an on-delay running), locked. Few at
    any time, and the only ones a reading inside every limit can change."""
    busy: dict[tuple[int, str], AlarmCondition] = {}
    for start in range(0, len(sensor_ids), 900):
        rows = AlarmCondition.objects.filter(sensor_id__in=sensor_ids[start : start + 900]).filter(
            Q(active=True) | Q(acked=False) | Q(pending_since__isnull=False)
        )
        busy.update({(c.sensor_id, c.limit_code): c for c in _locked(rows)})
    return busy


def _idle_condition(sid: int, code: str) -> AlarmCondition:
    cond, _ = AlarmCondition.objects.get_or_create(sensor_id=sid, limit_code=code)
    return _locked(AlarmCondition.objects.filter(pk=cond.pk)).get()


def _effective(limit: engine.LimitRule, flag: str | None, value: float) -> float | None:
    """What a reading means to one limit. An out-of-range value may push a condition towards danger but never
    clear one (fail safe): above the range it is at least every high limit (so at least the highest trip), below
    the range at most every low limit; it says nothing to the other direction or to a rate of rise (None)."""
    if flag is None:
        return value
    if limit.direction == "high":
        return max(value, limit.threshold) if flag == OVER else None
    if limit.direction == "low":
        return min(value, limit.threshold) if flag == UNDER else None
    return None


def _evaluate_alarms(
    live: dict[int, list[tuple[int, float]]], now_ms: int, doubtful: dict[tuple[int, int], str] | None = None
) -> int:
    """Evaluate each sensor's new live readings against its rules, in time order.

    Runs under the sensor-state lock taken by _lock_states, and locks the condition rows it reads (operator
    actions lock them too), so what it decides is decided on the current state. An idle condition (normal,
    acked, no on-delay running) can only change when a reading crosses its limit, so it is read from the
    database only then — the common case reads one short query per flush. Readings outside the sensor's range
    (doubtful) also drive the sensor's own over-range and sensor-fault conditions.
    """
    if not live:
        return 0
    doubtful = doubtful or {}
    busy = _busy_conditions(sorted(live))
    busy_by_sensor: dict[int, list[AlarmCondition]] = defaultdict(list)
    for (cond_sid, _code), cond in busy.items():
        busy_by_sensor[cond_sid].append(cond)
    raised = 0
    _refresh_if_back_in_service(live)
    for sid, points in live.items():
        info = directory.by_id(sid)
        if info is None or not info.in_service:
            continue
        flags = [doubtful.get((sid, ts)) for ts, _v in points] if doubtful else None
        values = [value for _ts, value in points]
        low, high = min(values), max(values)
        codes = {OVER_RANGE_LIMIT, FAULT_LIMIT}
        for rule in info.rules:
            codes.add(rule.code)
            cond = busy.get((sid, rule.code))
            if cond is None:
                crossed = rule.limit.exceeded(high) or rule.limit.exceeded(low)
                if not crossed and not (flags and any(flags)) and rule.limit.direction != "rise":
                    continue
                # A rate of rise is evaluated against its window's lowest value, not this flush's values.
                cond = None if rule.limit.direction == "rise" else _idle_condition(sid, rule.code)
            if rule.limit.direction == "rise":
                raised += _evaluate_rise(sid, info, rule, points, flags, cond)
                continue
            state = _state_of(cond)
            for index, (ts, value) in enumerate(points):
                effective = _effective(rule.limit, flags[index] if flags else None, value)
                if effective is None:
                    continue
                event = engine.evaluate(state, rule.limit, ts, effective)
                if event is not None:
                    raised += _apply(cond, state, event, info, ts=ts, value=value, rule=rule)
            if _changed(cond, state):
                _persist(cond, state)
        if (flags and any(flags)) or any(
            c.limit_code in (OVER_RANGE_LIMIT, FAULT_LIMIT) for c in busy_by_sensor[sid]
        ):
            raised += _range_conditions(sid, info, points, flags, busy)
        ts, value = points[-1]
        for cond in busy_by_sensor.get(sid, ()):
            if cond.limit_code in codes or not cond.active:
                continue
            # Fresh data clears "no data"; a limit disabled or removed while active returns with the next
            # reading instead of staying active forever with nothing left to evaluate it.
            state = _state_of(cond)
            event = engine.force_clear(state)
            if event is not None:
                _apply(cond, state, event, info, ts=ts, value=value, rule=None)
                if cond.suppressed_by:
                    cond.suppressed, cond.suppressed_by = False, ""
                    cond.save(update_fields=["suppressed", "suppressed_by"])
                _persist(cond, state)
    return raised


def _refresh_if_back_in_service(live: dict) -> None:
    """Another process may have returned a sensor to service since this one loaded its directory: ask the
    database about the (few) sensors the directory still holds out of service, so none is skipped meanwhile."""
    out = [sid for sid in live if (info := directory.by_id(sid)) is not None and not info.in_service]
    if out and Sensor.objects.filter(pk__in=out, in_service=True).exists():
        directory.invalidate()


def _range_conditions(sid: int, info: SensorInfo, points, flags, busy) -> int:
    """Over-range (urgent on a gas sensor) and sensor fault, raised by a reading outside the sensor's range and
    returned by the next reading inside it. Neither waits for a delay: a doubtful value is a danger now."""
    raised = 0
    for code, wanted in ((OVER_RANGE_LIMIT, OVER), (FAULT_LIMIT, UNDER)):
        cond = busy.get((sid, code))
        state = _state_of(cond) if cond is not None else None
        for index, (ts, value) in enumerate(points):
            flag = flags[index] if flags else None
            if flag == wanted:
                if cond is None:
                    cond = _idle_condition(sid, code)
                    state = _state_of(cond)
                event = engine.force_active(state, ts)
            elif flag is None and state is not None and state.active:
                event = engine.force_clear(state)
            else:
                continue
            if event is not None:
                raised += _apply(cond, state, event, info, ts=ts, value=value, rule=None)
        if cond is not None and state is not None and _changed(cond, state):
            _persist(cond, state)
    return raised


def _faults_without_value(doubtful: dict[tuple[int, int], str], states) -> int:
    """A reading that is not a number stores nothing, but its sensor is not measuring: raise its fault."""
    raised = 0
    newest: dict[int, int] = {}
    for (sid, ts), flag in doubtful.items():
        if flag == NAN and ts > newest.get(sid, -1):
            newest[sid] = ts
    for sid, ts in sorted(newest.items()):
        info = directory.by_id(sid)
        if info is None or not info.in_service:
            continue
        last_live = states.get(sid, (None, None))[0] if sid in states else None
        if last_live is not None and ts <= last_live:
            continue  # an old message: live state has moved on
        cond = _idle_condition(sid, FAULT_LIMIT)
        state = _state_of(cond)
        event = engine.force_active(state, ts)
        if event is not None:
            raised += _apply(cond, state, event, info, ts=ts, value=None, rule=None, comment="not a number")
            _persist(cond, state)
    return raised


class _RiseWindows:
    """Per sensor, the lowest value of the last rate-of-rise window this process has seen, kept as a monotonic
    queue (values increasing from the oldest; a new value drops every older value that is not lower), so each
    reading costs O(1) and no query; a sensor's window is read once from storage when this process first
    evaluates it. Several ingest processes each see a share of a sensor's readings: the lowest value each one
    sees is never below the true one, so a steady rise is still seen by the process that gets its readings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[int, deque] = {}

    @staticmethod
    def _push(window: deque, ts: int, value: float, window_ms: int) -> float:
        while window and window[-1][1] >= value:
            window.pop()
        window.append((ts, value))
        while window[0][0] < ts - window_ms:
            window.popleft()
        return window[0][1]

    def lowest(self, sid: int, window_ms: int, points: list[tuple[int, float]]) -> list[float]:
        """The lowest value in the window ending at each point (points in time order), points included."""
        with self._lock:
            window = self._windows.get(sid)
        if window is None:
            first = points[0][0]
            window = deque()
            for ts, value in reading_store().read_raw(sid, first - window_ms, first, 100_000):
                self._push(window, ts, value, window_ms)
            with self._lock:
                self._windows[sid] = window
        with self._lock:
            return [self._push(window, ts, value, window_ms) for ts, value in points]

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


rise_windows = _RiseWindows()


def _evaluate_rise(sid: int, info: SensorInfo, rule, points, flags, cond) -> int:
    """Rate of rise (e.g. CO from spontaneous heating): each value minus the lowest value within the rule's
    window, against the threshold, through the usual on/off-delay and deadband state machine."""
    trusted = [(ts, v) for i, (ts, v) in enumerate(points) if not (flags and flags[i])]
    if not trusted:
        return 0
    lows = rise_windows.lowest(sid, rule.limit.window_ms, trusted)
    raised = 0
    state = None
    for (ts, value), lowest in zip(trusted, lows, strict=True):
        rise = value - lowest
        if cond is None:
            if not rule.limit.exceeded(rise):
                continue
            cond = _idle_condition(sid, rule.code)
        if state is None:
            state = _state_of(cond)
        event = engine.evaluate(state, rule.limit, ts, rise)
        if event is not None:
            raised += _apply(cond, state, event, info, ts=ts, value=value, rule=rule)
    if cond is not None and state is not None and _changed(cond, state):
        _persist(cond, state)
    return raised


def _late_trips(late_rows: list[tuple]) -> int:
    """Readings that arrive late (out of order, or Sparkplug historical values) never move live state, but a
    late value beyond a trip limit is a real event the control room must see: if that condition is idle it
    gets an occurrence that is already over (returned, unacknowledged), journalled as late."""
    if not late_rows:
        return 0
    worst: dict[tuple[int, str], tuple[int, float]] = {}
    for sid, ts, value in late_rows:
        info = directory.by_id(sid)
        if info is None or not info.in_service:
            continue
        for rule in info.rules:
            if rule.limit.latching and rule.limit.exceeded(value) and (sid, rule.code) not in worst:
                worst[(sid, rule.code)] = (ts, value)
    raised = 0
    for (sid, code), (ts, value) in sorted(worst.items()):
        info = directory.by_id(sid)
        rule = next(r for r in info.rules if r.code == code)
        cond = _idle_condition(sid, code)
        state = _state_of(cond)
        if engine.late_excursion(state) is None:
            continue  # already active or unacknowledged: the operator is on it
        raised += _apply(
            cond, state, engine.RAISED, info, ts=ts, value=value, rule=rule, comment="late reading"
        )
        _apply(cond, state, engine.RETURNED, info, ts=ts, value=value, rule=rule, comment="late reading")
        _persist(cond, state)
    return raised


class ConditionChanged(RuntimeError):
    """A condition changed under a lock we hold: a bug, never a race to ignore — the flush rolls back."""


def _persist(cond: AlarmCondition, state: engine.ConditionState) -> None:
    """Write the engine's decision, compare-and-set on version. Every writer locks the row first, so a lost
    compare-and-set means something is wrong: raise and roll the whole flush back rather than drop a decision."""
    changes = {f: getattr(state, f) for f in _STATE_FIELDS}
    changes.update(
        last_eval_ts=state.last_eval_ts, last_value=state.last_value, current_alarm_id=cond.current_alarm_id
    )
    if state.active != cond.active or (state.active and cond.active_since is None):
        changes["active_since"] = timezone.now() if state.active else None
    updated = AlarmCondition.objects.filter(pk=cond.pk, version=cond.version).update(
        version=F("version") + 1, **changes
    )
    if not updated:
        raise ConditionChanged(f"alarm condition {cond.pk} changed while locked")
    for name, value in changes.items():
        setattr(cond, name, value)
    cond.version += 1


def _message(info: SensorInfo, rule, value: float | None) -> str:
    if rule is None:
        return f"{info.code}: no data (stale)"
    sign = "≥" if rule.limit.direction != "low" else "≤"
    shown = "—" if value is None else f"{value:g}"
    if rule.limit.direction == "rise":
        window = rule.limit.window_ms // 60_000
        return (
            f"{info.code} {shown} {info.unit_of_measure}: +{rule.limit.threshold:g} in {window} min".strip()
        )
    return f"{info.code} {shown} {sign} {rule.limit.threshold:g} {info.unit_of_measure}".strip()


def _alarm_meta(code: str, info: SensorInfo, rule, value) -> tuple[str, float | None, str]:
    """(priority, threshold, message) of a sensor condition's occurrence: a limit's, or a system condition's."""
    if rule is not None:
        return rule.priority, rule.limit.threshold, _message(info, rule, value)
    shown = "—" if value is None else f"{value:g}"
    if code == OVER_RANGE_LIMIT:
        priority = "urgent" if info.kind in GAS_KINDS else "high"
        return (
            priority,
            info.range_max,
            f"{info.code} {shown} > {info.range_max:g} {info.unit_of_measure}: over range",
        )
    if code == FAULT_LIMIT:
        priority = "urgent" if info.kind == "ch4_pct" else "high"
        return priority, None, f"{info.code}: sensor fault ({shown})"
    return "high", None, _message(info, None, value)


def _open_alarm(cond, *, at, value, priority, threshold, message, site_id, site_path, sensor_id, gateway_id):
    alarm = Alarm.objects.create(
        condition=cond,
        sensor_id=sensor_id,
        gateway_id=gateway_id,
        site_id=site_id,
        site_path=site_path,
        limit_code=cond.limit_code,
        priority=priority,
        threshold=threshold,
        message=message[:300],
        raised_at=at,
        raised_value=value,
    )
    cond.current_alarm_id = alarm.id
    _announce(alarm)
    return alarm


def _announce(alarm: Alarm) -> None:
    """Urgent and high alarms go to the people on call: outbox rows in this same transaction, delivered by the
    notifier thread, so a channel that is down never blocks ingest nor loses the notification."""
    notifications.alarm_raised(alarm)


def _apply(cond, state, event: str, info: SensorInfo, *, ts: int, value, rule, user=None, comment="") -> int:
    """Record one transition: open/close the Alarm occurrence and write the journal. Returns 1 if raised."""
    at = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)
    alarm = None
    if event == engine.REANNUNCIATED and cond.current_alarm_id:
        # A new excursion of a latched trip the operator had acknowledged: the old occurrence ends here and a
        # new, unacknowledged one is annunciated — never swallowed by the acknowledged one.
        Alarm.objects.filter(pk=cond.current_alarm_id).update(closed_at=timezone.now(), returned_at=at)
        comment = comment or "new excursion beyond the trip while latched"
    if event in (engine.RAISED, engine.REANNUNCIATED):
        priority, threshold, message = _alarm_meta(cond.limit_code, info, rule, value)
        alarm = _open_alarm(
            cond,
            at=at,
            value=value,
            priority=priority,
            threshold=threshold,
            message=message,
            site_id=info.site_id,
            site_path=info.site_path,
            sensor_id=info.id,
            gateway_id=None,
        )
    else:
        alarm = _close_or_return(cond, event, at)
    AlarmJournal.objects.create(
        at=timezone.now() if user is not None else at,
        condition=cond,
        alarm=alarm,
        site_path=info.site_path,
        event=_JOURNAL_EVENT[event],
        state=engine.display_state(state, shelved=False, suppressed=cond.suppressed, out_of_service=False),
        value=value,
        user=user,
        comment=comment,
    )
    return 1 if event in (engine.RAISED, engine.REANNUNCIATED) else 0


_JOURNAL_EVENT = {
    engine.RAISED: JournalEvent.RAISED,
    engine.REANNUNCIATED: JournalEvent.RAISED,
    engine.REACTIVATED: JournalEvent.RAISED,
    engine.RETURNED: JournalEvent.RETURNED,
    engine.LATCHED: JournalEvent.RETURNED,
    engine.CLOSED: JournalEvent.CLOSED,
    engine.ACKED: JournalEvent.ACKED,
    engine.RESET: JournalEvent.RESET,
}


def _close_or_return(cond, event: str, at: dt.datetime) -> Alarm | None:
    alarm = Alarm.objects.filter(pk=cond.current_alarm_id).first() if cond.current_alarm_id else None
    if alarm is not None:
        if event == engine.REACTIVATED:
            alarm.returned_at = None
        if event in (engine.RETURNED, engine.CLOSED) and alarm.returned_at is None:
            alarm.returned_at = at
        if event == engine.CLOSED:
            alarm.closed_at = timezone.now()
            cond.current_alarm_id = None
        alarm.save(update_fields=["returned_at", "closed_at"])
    return alarm


def stale_scan(*, now_ms: int | None = None) -> int:
    """Raise the "no data" alarm of every in-service sensor silent for 3× its period (fail safe); returns how
    many were raised. A sensor whose gateway is lost is not annunciated one by one: its stale condition is
    suppressed by that rule (journalled), and annunciated only if it is still silent once its gateway is back.

    A sensor's own "no data" alarm starts with its first reading: one that was registered and has never
    reported (commissioning, a bulk registry import) is due 3 periods after it was registered, and all such
    sensors of a gateway make ONE "never reported" alarm of that gateway (listing them), which returns once
    every one of them has reported — never tens of thousands of stale alarms for a registry change, and never
    a silent sensor that nobody is told about. A sensor that has reported and stops is always its own alarm.
    Runs every few seconds in `headframe ingest`; any process may run it (compare-and-set)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    silent: list[SensorInfo] = []
    never: list[SensorInfo] = []  # registered, never reported, past their due time
    due_ms: dict[int, int] = {}  # when each of `never` became due
    states = {
        sid: (last_ts, max_ts, since)
        for sid, last_ts, max_ts, since in SensorState.objects.values_list(
            "sensor_id", "last_ts", "max_ts", "updated_at"
        )
    }
    without_state = []
    for info in directory.all():
        if not info.in_service:
            continue
        state = states.get(info.id)
        if state is None:
            without_state.append(info.id)  # registered elsewhere (the admin): its clock starts now
            continue
        last_ts, max_ts, since = state
        if last_ts is None:
            if since is None:
                continue
            if max_ts is None:  # never reported since it was registered
                due = int(since.timestamp() * 1000) + 3000 * info.period_s
                if now_ms > due:
                    never.append(info)
                    due_ms[info.id] = due
                continue
            last_ts = int(since.timestamp() * 1000)  # only late (historical) values so far
        if now_ms - last_ts > 3000 * info.period_s:
            silent.append(info)
    if without_state:
        SensorState.objects.bulk_create(
            [SensorState(sensor_id=sid) for sid in without_state], ignore_conflicts=True, batch_size=500
        )
    lost = _lost_gateways()
    raised = _never_seen_gateways_lost([*silent, *never], lost, now_ms)
    if raised:
        lost = _lost_gateways()
    by_rule = [i for i in silent if i.gateway_id in lost]
    if by_rule:
        _suppress_stale(by_rule, now_ms)
    raised += _raise_stale([i for i in silent if i.gateway_id not in lost], now_ms, reason="")
    raised += _never_reported_scan(never, due_ms, lost, now_ms)
    return raised + _annunciate_after_gateway_return(silent, lost, now_ms)


NEVER_REPORTED_LISTED = 10  # sensor codes named in the "never reported" alarm's message


def _never_reported_message(gateway_code: str, infos: list[SensorInfo]) -> str:
    codes = sorted(i.code for i in infos)
    shown = ", ".join(codes[:NEVER_REPORTED_LISTED]) + (", …" if len(codes) > NEVER_REPORTED_LISTED else "")
    noun = "sensor has" if len(codes) == 1 else "sensors have"
    return f"gateway {gateway_code}: {len(codes)} registered {noun} never reported ({shown})"


def _never_reported_scan(never: list[SensorInfo], due_ms: dict[int, int], lost: dict, now_ms: int) -> int:
    """One "never reported" condition per gateway: raised while any of its registered in-service sensors is
    past its due time without a first reading, its message kept to the current list, returned when every one
    has reported (or left the gateway or service). A lost gateway already says that nothing of it reports: no
    second alarm for it meanwhile.

    Fail safe: it is high priority (the people on call are told, as they would be of each sensor's own stale
    alarm), nobody may shelve it (see no_operator_override), and a sensor that becomes due after the open
    occurrence was raised re-annunciates it — a new unacknowledged occurrence — so a silent sensor never hides
    behind an alarm somebody acknowledged before it existed."""
    by_gateway: dict[int, list[SensorInfo]] = defaultdict(list)
    for info in never:
        by_gateway[info.gateway_id].append(info)
    active = {
        c.gateway_id: c
        for c in AlarmCondition.objects.filter(
            limit_code=NEVER_REPORTED_LIMIT, active=True, gateway__isnull=False
        )
    }
    if not by_gateway and not active:
        return 0
    gateways = {g.id: g for g in Gateway.objects.select_related("site").filter(pk__in={*by_gateway, *active})}
    back_since = dict(  # a gateway back from an outage: its sensors get their own stale time from its return
        AlarmCondition.objects.filter(
            limit_code=GATEWAY_LOST_LIMIT, gateway_id__in=list(by_gateway)
        ).values_list("gateway_id", "last_eval_ts")
    )
    raised = 0
    for gateway_id, infos in sorted(by_gateway.items()):
        gateway = gateways.get(gateway_id)
        if gateway is None or gateway_id in lost:
            continue
        grace = 3000 * min(i.period_s for i in infos)
        if gateway_id not in active and now_ms - (back_since.get(gateway_id) or 0) <= grace:
            continue
        message = _never_reported_message(gateway.code, infos)
        priority = "high"
        if gateway_id in active:
            raised += _never_reported_update(active[gateway_id], gateway, infos, due_ms, message, now_ms)
            continue
        with transaction.atomic():
            cond = _gateway_condition(gateway_id, NEVER_REPORTED_LIMIT)
            state = _state_of(cond)
            event = engine.force_active(state, now_ms)
            if event is not None:
                raised += _apply_gateway(
                    cond,
                    state,
                    event,
                    gateway,
                    ts=now_ms,
                    comment=f"{len(infos)} sensors registered, no first reading",
                    message=message,
                    priority=priority,
                )
                _persist(cond, state)
    for gateway_id, held in active.items():
        if gateway_id in by_gateway or gateway_id not in gateways:
            continue
        with transaction.atomic():
            cond = _locked(AlarmCondition.objects.filter(pk=held.pk, active=True)).first()
            if cond is None:
                continue
            state = _state_of(cond)
            event = engine.force_clear(state)
            if event is not None:
                comment = "every registered sensor has reported"
                _apply_gateway(cond, state, event, gateways[gateway_id], ts=now_ms, comment=comment)
            _persist(cond, state)
    return raised


def _never_reported_update(held, gateway, infos, due_ms: dict[int, int], message: str, now_ms: int) -> int:
    """The open "never reported" occurrence of a gateway whose list changed: its message says what is left;
    a sensor that became due after the occurrence was raised makes a new unacknowledged occurrence."""
    alarm = Alarm.objects.filter(pk=held.current_alarm_id).first() if held.current_alarm_id else None
    raised_ms = int(alarm.raised_at.timestamp() * 1000) if alarm is not None else None
    if raised_ms is not None and max(due_ms[i.id] for i in infos) <= raised_ms:
        Alarm.objects.filter(pk=alarm.pk).exclude(message=message[:300]).update(message=message[:300])
        return 0
    with transaction.atomic():
        cond = _locked(AlarmCondition.objects.filter(pk=held.pk, active=True)).first()
        if cond is None:
            return 0
        state = _state_of(cond)
        at = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)
        if cond.current_alarm_id:
            Alarm.objects.filter(pk=cond.current_alarm_id).update(closed_at=timezone.now(), returned_at=at)
            cond.current_alarm_id = None
        state.acked = False
        raised = _apply_gateway(
            cond,
            state,
            engine.RAISED,
            gateway,
            ts=now_ms,
            comment=f"{len(infos)} sensors registered, no first reading (the list grew)",
            message=message,
            priority="high",
        )
        _persist(cond, state)
        AlarmCondition.objects.filter(pk=cond.pk).update(
            shelved_until=None, shelved_by=None, shelve_reason=""
        )
    return raised


def _never_seen_gateways_lost(silent: list[SensorInfo], lost: dict, now_ms: int) -> int:
    """A gateway that never sent anything (a new installation, a gateway never connected) has no silence of
    its own to time: as soon as one of its sensors is due, the gateway is what is missing — one alarm, not
    one per sensor."""
    candidates = {info.gateway_id for info in silent if info.gateway_id not in lost}
    if not candidates:
        return 0
    never_seen = Gateway.objects.filter(pk__in=candidates, last_seen__isnull=True).values_list(
        "code", flat=True
    )
    return sum(gateway_lost(gateway_code=code, now_ms=now_ms, reason="never reported") for code in never_seen)


STALE_CHUNK = (
    20  # sensors per transaction: a flood of stale alarms must not hold SQLite's write lock for long
)


def _raise_stale(infos: list[SensorInfo], now_ms: int, *, reason: str) -> int:
    raised = 0
    for start in range(0, len(infos), STALE_CHUNK):
        chunk = infos[start : start + STALE_CHUNK]
        with transaction.atomic():
            conditions = _conditions_for([i.id for i in chunk])
            for info in chunk:
                cond = conditions.get((info.id, STALE_LIMIT))
                if cond is None or cond.active:
                    continue
                state = _state_of(cond)
                event = engine.force_active(state, now_ms)
                if event is not None:
                    raised += _apply(
                        cond, state, event, info, ts=now_ms, value=None, rule=None, comment=reason
                    )
                    _persist(cond, state)
    return raised


# ---------------------------------------------------------------- gateways: one alarm per outage


def _lost_gateways() -> dict[int, AlarmCondition]:
    """Gateway id → its active "gateway lost" condition."""
    return {
        c.gateway_id: c
        for c in AlarmCondition.objects.filter(
            limit_code=GATEWAY_LOST_LIMIT, active=True, gateway__isnull=False
        )
    }


def _gateway_condition(gateway_id: int, limit_code: str = GATEWAY_LOST_LIMIT) -> AlarmCondition:
    cond, _ = AlarmCondition.objects.get_or_create(gateway_id=gateway_id, limit_code=limit_code)
    return _locked(AlarmCondition.objects.filter(pk=cond.pk)).get()


def _apply_gateway(
    cond,
    state,
    event: str,
    gateway: Gateway,
    *,
    ts: int,
    comment: str = "",
    message: str = "",
    priority: str = "urgent",
) -> int:
    at = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)
    if event in (engine.RAISED, engine.REACTIVATED) and not cond.current_alarm_id:
        alarm = _open_alarm(
            cond,
            at=at,
            value=None,
            priority=priority,
            threshold=None,
            message=message or f"gateway {gateway.code} lost",
            site_id=gateway.site_id,
            site_path=gateway.site.path,
            sensor_id=None,
            gateway_id=gateway.id,
        )
        event = engine.RAISED
    else:
        alarm = _close_or_return(cond, event, at)
    AlarmJournal.objects.create(
        at=at,
        condition=cond,
        alarm=alarm,
        site_path=gateway.site.path,
        event=_JOURNAL_EVENT[event],
        state=engine.display_state(state, shelved=False, suppressed=False, out_of_service=False),
        value=None,
        comment=comment,
    )
    return 1 if event == engine.RAISED else 0


def gateway_lost(*, gateway_code: str, now_ms: int | None = None, reason: str = "") -> int:
    """A gateway died (Sparkplug NDEATH, its last will) or went silent past its timeout: ONE urgent "gateway
    lost" alarm; its sensors go offline and their stale alarms are suppressed by this rule (journalled and
    counted, listed with the suppressed alarms), not annunciated one by one. Returns alarms raised."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    gateway = Gateway.objects.select_related("site").filter(code=gateway_code).first()
    if gateway is None:
        return 0
    infos = [i for i in directory.all() if i.gateway_id == gateway.id and i.in_service]
    with transaction.atomic():
        Gateway.objects.filter(pk=gateway.pk).update(online=False)
        SensorState.objects.filter(sensor__gateway_id=gateway.id).update(online=False)
        # Sensors that never reported have no "no data" alarm of their own to suppress: the lost gateway (and,
        # once it is back, its one "never reported" alarm) speaks for them — not a journal row per sensor.
        reported = set(
            SensorState.objects.filter(sensor__gateway_id=gateway.id)
            .filter(Q(last_ts__isnull=False) | Q(max_ts__isnull=False))
            .values_list("sensor_id", flat=True)
        )
        infos = [i for i in infos if i.id in reported]
        cond = _gateway_condition(gateway.id)
        state = _state_of(cond)
        event = engine.force_active(state, now_ms)
        raised = 0
        if event is not None:
            comment = reason or f"{len(infos)} sensors without data"
            raised = _apply_gateway(cond, state, event, gateway, ts=now_ms, comment=comment)
            _persist(cond, state)
    _suppress_stale(infos, now_ms)
    return raised


# The Sparkplug NDEATH path keeps its name.
def gateway_death(*, gateway_code: str, now_ms: int | None = None) -> int:
    return gateway_lost(gateway_code=gateway_code, now_ms=now_ms, reason="NDEATH")


def _suppress_stale(infos: list[SensorInfo], now_ms: int) -> int:
    """Suppress by design the stale conditions of sensors behind a lost gateway: active (so nothing is lost
    from the state), not annunciated, journalled with the rule. One already annunciated stays annunciated."""
    suppressed = 0
    for start in range(0, len(infos), STALE_CHUNK):
        chunk = infos[start : start + STALE_CHUNK]
        with transaction.atomic():
            conditions = _conditions_for([i.id for i in chunk])
            for info in chunk:
                cond = conditions.get((info.id, STALE_LIMIT))
                if cond is None or cond.active or not cond.acked:
                    continue  # an occurrence the operator has not acknowledged stays annunciated
                state = _state_of(cond)
                engine.force_active(state, now_ms)
                state.acked = True  # never annunciated: there is nothing for an operator to acknowledge
                cond.suppressed, cond.suppressed_by = True, f"{GATEWAY_LOST_LIMIT}:{info.gateway_code}"
                cond.save(update_fields=["suppressed", "suppressed_by"])
                _persist(cond, state)
                _journal(
                    cond,
                    info,
                    JournalEvent.SUPPRESSED,
                    state,
                    None,
                    f"suppressed by design: gateway {info.gateway_code} lost",
                    at=dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC),
                )
                suppressed += 1
    return suppressed


def gateways_scan(*, now_ms: int | None = None) -> int:
    """A gateway silent past its timeout is lost: its own timeout, or 2 × the shortest period of its sensors —
    shorter than the 3 periods after which a sensor is stale, so a silent gateway is lost before its sensors
    go stale one by one. Runs in the watchdog before the stale scan."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    shortest: dict[int, int] = {}
    for info in directory.all():
        if info.in_service:
            shortest[info.gateway_id] = min(shortest.get(info.gateway_id, info.period_s), info.period_s)
    lost = _lost_gateways()
    raised = 0
    rows = Gateway.objects.filter(pk__in=list(shortest)).values_list("id", "code", "last_seen", "timeout_s")
    for gateway_id, code, last_seen, timeout_s in rows:
        if gateway_id in lost or last_seen is None:
            continue
        timeout_ms = 1000 * (timeout_s or 2 * shortest[gateway_id])
        if now_ms - int(last_seen.timestamp() * 1000) > timeout_ms:
            raised += gateway_lost(
                gateway_code=code, now_ms=now_ms, reason=f"silent for {timeout_ms // 1000} s"
            )
    return raised


def _gateways_back(gateway_codes: Iterable[str], now_ms: int) -> None:
    """A message from a gateway that was lost: its alarm returns (to be acknowledged); its sensors' suppressed
    stale conditions clear with their fresh data, and the stale scan annunciates any still silent after a
    grace of their own stale time from now."""
    # By the lost condition itself, not the gateway's online flag: the watchdog may mark a gateway lost
    # between this read and the flag update below, and its alarm must still return with the next message.
    lost = AlarmCondition.objects.filter(
        limit_code=GATEWAY_LOST_LIMIT, active=True, gateway__code__in=list(gateway_codes)
    ).values_list("pk", flat=True)
    for pk in list(lost):
        cond = _locked(AlarmCondition.objects.filter(pk=pk, active=True)).first()
        if cond is None:
            continue
        gateway = Gateway.objects.select_related("site").get(pk=cond.gateway_id)
        state = _state_of(cond)
        event = engine.force_clear(state)
        state.last_eval_ts = now_ms  # back since: the grace for its silent sensors counts from here
        if event is not None:
            _apply_gateway(cond, state, event, gateway, ts=now_ms, comment="gateway back")
        _persist(cond, state)


def _annunciate_after_gateway_return(silent: list[SensorInfo], lost: dict, now_ms: int) -> int:
    """Sensors still silent after their gateway came back (and a grace of their stale time): the suppression
    by rule ends and the stale alarm is annunciated now."""
    candidates = [i for i in silent if i.gateway_id not in lost]
    if not candidates:
        return 0
    by_id = {i.id: i for i in candidates}
    held = list(
        AlarmCondition.objects.filter(
            sensor_id__in=list(by_id), limit_code=STALE_LIMIT, active=True, suppressed=True
        ).exclude(suppressed_by="")
    )
    if not held:
        return 0
    back_since = dict(
        AlarmCondition.objects.filter(
            limit_code=GATEWAY_LOST_LIMIT, gateway_id__in={by_id[c.sensor_id].gateway_id for c in held}
        ).values_list("gateway_id", "last_eval_ts")
    )
    raised = 0
    for held_cond in held:
        info = by_id[held_cond.sensor_id]
        since = back_since.get(info.gateway_id) or 0
        if now_ms - since <= 3000 * info.period_s:
            continue
        with transaction.atomic():
            cond = _locked(AlarmCondition.objects.filter(pk=held_cond.pk, active=True)).first()
            if cond is None or not cond.suppressed:
                continue
            cond.suppressed, cond.suppressed_by = False, ""
            cond.save(update_fields=["suppressed", "suppressed_by"])
            state = _state_of(cond)
            state.acked = False
            raised += _apply(
                cond,
                state,
                engine.RAISED,
                info,
                ts=now_ms,
                value=None,
                rule=None,
                comment="still silent after its gateway came back",
            )
            _persist(cond, state)
    return raised


def sensors_offline(*, gateway_code: str, sensor_ids: Sequence[int], now_ms: int | None = None) -> int:
    """A device died (Sparkplug DDEATH): only its sensors go offline and alarm as stale."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    infos = [i for i in (directory.by_id(s) for s in sensor_ids) if i is not None and i.in_service]
    with transaction.atomic():
        SensorState.objects.filter(sensor_id__in=[i.id for i in infos]).update(online=False)
    return _raise_stale(infos, now_ms, reason=f"device on {gateway_code} offline")


# ---------------------------------------------------------------- operator actions


@dataclass(frozen=True)
class GatewaySubject:
    """What operator actions need to know of a gateway condition's subject (a sensor's is its SensorInfo)."""

    code: str
    kind: str
    site_path: str
    in_service: bool = True
    rules: tuple = ()


def _condition_for_action(actor, condition_id: int) -> tuple[AlarmCondition, SensorInfo | GatewaySubject]:
    cond = AlarmCondition.objects.select_for_update().filter(pk=condition_id).first()
    info = None
    if cond is not None and cond.sensor_id is not None:
        info = directory.by_id(cond.sensor_id)
    elif cond is not None:
        gateway = Gateway.objects.select_related("site").get(pk=cond.gateway_id)
        info = GatewaySubject(gateway.code, "gateway", gateway.site.path)
    scope = scope_for(actor)
    if cond is None or info is None or not scope.allows(Perm.VIEW, info.site_path):
        raise NotFound("alarm not found", loc=("path", "condition"))
    if not (scope.allows(Perm.DISPATCH, info.site_path) or scope.allows(Perm.SAFETY, info.site_path)):
        raise PermissionDenied("handling alarms needs the dispatcher or safety officer role at this site")
    return cond, info


def no_operator_override(cond: AlarmCondition, info) -> bool:
    """Conditions nobody may hide from a console or the API: limits the profile marks so (every methane trip),
    a gas sensor's over-range and fault, and a lost gateway (fail safe)."""
    if cond.limit_code in (GATEWAY_LOST_LIMIT, NEVER_REPORTED_LIMIT):
        return True  # the remedy for a sensor that never reported is commissioning it, or out of service
    if cond.limit_code in (OVER_RANGE_LIMIT, FAULT_LIMIT):
        return info.kind in GAS_KINDS
    methane = info.kind == "ch4_pct"  # a methane trip, whatever a profile edit says
    return any(
        r.no_operator_override or (methane and r.limit.latching)
        for r in info.rules
        if r.code == cond.limit_code
    )


def _audit_alarm(actor, cond: AlarmCondition, info, action: str, **after) -> None:
    """An operator's action on an alarm in the audit log as well as the alarm journal, filed under the site of
    the alarm's sensor or gateway (so the site's auditors see who acknowledged, shelved or reset what)."""
    audit_record(
        actor=actor,
        action=action,
        obj=cond,
        unit_path=info.site_path,
        object_repr=f"{info.code}:{cond.limit_code}",
        after={key: value for key, value in after.items() if value not in (None, "")},
    )


def _acknowledge(cond, info, actor, comment: str) -> str | None:
    state = _state_of(cond)
    event = engine.acknowledge(state)
    if event is None:
        return None
    _audit_alarm(actor, cond, info, "alarm_ack", comment=comment, alarm=cond.current_alarm_id)
    alarm = Alarm.objects.filter(pk=cond.current_alarm_id).first() if cond.current_alarm_id else None
    if alarm is not None:
        alarm.acked_at = timezone.now()
        alarm.acked_by = actor
        alarm.ack_comment = comment
        alarm.save(update_fields=["acked_at", "acked_by", "ack_comment"])
    _journal(cond, info, JournalEvent.ACKED, state, actor, comment, alarm)
    if event == engine.CLOSED and alarm is not None:
        alarm.closed_at = timezone.now()
        alarm.save(update_fields=["closed_at"])
        cond.current_alarm_id = None
        _journal(cond, info, JournalEvent.CLOSED, state, actor, "", alarm)
    _persist(cond, state)
    return event


@transaction.atomic
def alarm_acknowledge(*, actor, condition_id: int, comment: str = "") -> str | None:
    cond, info = _condition_for_action(actor, condition_id)
    return _acknowledge(cond, info, actor, comment)


@transaction.atomic
def alarm_acknowledge_many(*, actor, condition_ids: Sequence[int], comment: str = "") -> int:
    """Acknowledge several alarms with one comment (one journal entry each); all or none: one the actor may
    not handle refuses the whole request. Returns how many were acknowledged (already acked ones are skipped)."""
    ids = sorted(set(condition_ids))
    if not ids:
        raise ValidationFailed("choose at least one alarm", loc=("body", "conditions"))
    if len(ids) > 1000:
        raise ValidationFailed("at most 1000 alarms at a time", loc=("body", "conditions"))
    acked = 0
    for condition_id in ids:  # in id order, so two operators never deadlock
        cond, info = _condition_for_action(actor, condition_id)
        acked += _acknowledge(cond, info, actor, comment) is not None
    return acked


@transaction.atomic
def alarm_reset(*, actor, condition_id: int, comment: str = "") -> str | None:
    cond, info = _condition_for_action(actor, condition_id)
    state = _state_of(cond)
    if cond.latched is False and cond.active:
        raise ValidationFailed(
            "the value is still beyond the trip limit: it cannot be reset yet", loc=("body",)
        )
    event = engine.reset(state)
    if event is None:
        return None
    _audit_alarm(actor, cond, info, "alarm_reset", comment=comment, alarm=cond.current_alarm_id)
    alarm = Alarm.objects.filter(pk=cond.current_alarm_id).first() if cond.current_alarm_id else None
    if alarm is not None:
        alarm.returned_at = alarm.returned_at or timezone.now()
        if event == engine.CLOSED:
            alarm.closed_at = timezone.now()
            cond.current_alarm_id = None
        alarm.save()
    _journal(cond, info, JournalEvent.RESET, state, actor, comment, alarm)
    _persist(cond, state)
    return event


@transaction.atomic
def alarm_shelve(*, actor, condition_id: int, minutes: int, reason: str) -> AlarmCondition:
    """Shelve for a while (ISA-18.2): a reason and an expiry always; never a condition with no operator
    override (409)."""
    cond, info = _condition_for_action(actor, condition_id)
    if no_operator_override(cond, info):
        raise Conflict(
            "this alarm can be neither shelved nor suppressed: it is a trip or fail-safe alarm with no operator "
            "override",
            loc=("path", "condition"),
            type="no_operator_override",
        )
    if not reason.strip():
        raise ValidationFailed("say why the alarm is shelved", loc=("body", "reason"))
    max_minutes = getattr(settings, "TELEMETRY_MAX_SHELVE_MINUTES", 8 * 60)
    if not 1 <= minutes <= max_minutes:
        raise ValidationFailed(f"shelve for 1 to {max_minutes} minutes", loc=("body", "minutes"))
    cond.shelved_until = timezone.now() + dt.timedelta(minutes=minutes)
    cond.shelved_by = actor
    cond.shelve_reason = reason.strip()
    cond.save(update_fields=["shelved_until", "shelved_by", "shelve_reason"])
    _audit_alarm(
        actor,
        cond,
        info,
        "alarm_shelve",
        minutes=minutes,
        until=cond.shelved_until.isoformat(),
        reason=reason.strip(),
    )
    _journal(cond, info, JournalEvent.SHELVED, _state_of(cond), actor, f"{minutes} min: {reason.strip()}")
    return cond


@transaction.atomic
def alarm_unshelve(*, actor, condition_id: int, comment: str = "") -> AlarmCondition:
    cond, info = _condition_for_action(actor, condition_id)
    if cond.shelved_until is None:
        return cond
    cond.shelved_until = None
    cond.shelve_reason = ""
    cond.save(update_fields=["shelved_until", "shelve_reason"])
    _audit_alarm(actor, cond, info, "alarm_unshelve", comment=comment)
    _journal(cond, info, JournalEvent.UNSHELVED, _state_of(cond), actor, comment)
    return cond


def shelving_expire(*, now: dt.datetime | None = None) -> int:
    """Unshelve every alarm whose shelving expired (journalled); run by the ingest loop."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        for cond in AlarmCondition.objects.select_for_update().filter(shelved_until__lte=now):
            cond.shelved_until = None
            cond.save(update_fields=["shelved_until"])
            info = directory.by_id(cond.sensor_id) if cond.sensor_id else None
            if info is not None:
                _journal(cond, info, JournalEvent.UNSHELVED, _state_of(cond), None, "shelving expired")
            expired += 1
    return expired


# ---------------------------------------------------------------- out of service: a role, a reason, an expiry

OUT_OF_SERVICE_DEFAULT_HOURS = 8
OUT_OF_SERVICE_MAX_HOURS = 24


def _require_safety(actor, path: str, what: str) -> None:
    """The safety officer role itself on the site (or above it): not any role that happens to include the
    safety permission — an administrator manages the registry, a safety officer decides what is monitored."""
    grants = scope_for(actor).grants
    if not any(role == Role.SAFETY_OFFICER and path.startswith(root) for root, role in grants):
        raise PermissionDenied(f"{what} needs the safety officer role at this site")


@transaction.atomic
def sensor_out_of_service(
    *, actor, sensor: Sensor, reason: str, hours: float = OUT_OF_SERVICE_DEFAULT_HOURS
) -> Sensor:
    """Take a sensor out of service (calibration, repair) until an expiry (8 h by default, 24 h at most); only
    a safety officer of its site. Its readings are still stored and shown; its alarms are neither evaluated nor
    annunciated; a standing indication is listed where operators look; its position counts as not monitored.
    Again on a sensor already out of service: a new reason and expiry (from now)."""
    site_path = sensor.gateway.site.path
    _require_safety(actor, site_path, "taking a sensor out of service")
    if not reason.strip():
        raise ValidationFailed("say why the sensor is taken out of service", loc=("body", "reason"))
    if not 0 < hours <= OUT_OF_SERVICE_MAX_HOURS:
        raise ValidationFailed(
            f"out of service for more than 0 and at most {OUT_OF_SERVICE_MAX_HOURS} hours",
            loc=("body", "hours"),
        )
    until = timezone.now() + dt.timedelta(hours=hours)
    changes = {
        "in_service": False,
        "out_of_service_until": until,
        "out_of_service_reason": reason.strip(),
        "out_of_service_by": actor,
    }
    audited_update(actor=actor, obj=sensor, changes=changes, unit_path=site_path)
    directory.invalidate()
    info = directory.by_id(sensor.id)
    cond = _conditions_for([sensor.id])[(sensor.id, STALE_LIMIT)]
    shown = timezone.localtime(until).strftime("%d/%m/%Y %H:%M")
    _journal(cond, info, JournalEvent.OUT_OF_SERVICE, _state_of(cond), actor, f"→ {shown}: {reason.strip()}")
    transaction.on_commit(directory.invalidate)
    return sensor


def sensor_return_to_service(*, actor, sensor: Sensor, comment: str = "") -> Sensor:
    """Back in service before the expiry (a safety officer of its site); evaluated at once."""
    _require_safety(actor, sensor.gateway.site.path, "returning a sensor to service")
    _return_to_service([sensor.id], actor=actor, comment=comment or "back in service")
    sensor.refresh_from_db()
    return sensor


def out_of_service_expire(*, now: dt.datetime | None = None) -> int:
    """Every sensor whose out-of-service expired is back in service by itself and evaluated at once (run by the
    watchdog); returns how many."""
    now = now or timezone.now()
    ids = list(
        Sensor.objects.filter(in_service=False, out_of_service_until__lte=now).values_list("id", flat=True)
    )
    if ids:
        _return_to_service(ids, actor=None, comment="out of service expired")
    return len(ids)


def _return_to_service(sensor_ids: list[int], *, actor, comment: str) -> None:
    with transaction.atomic():
        sensors = list(
            _locked(Sensor.objects.filter(pk__in=sensor_ids, in_service=False)).select_related(
                "gateway__site"
            )
        )
        for sensor in sensors:
            changes = {"in_service": True, "out_of_service_until": None, "out_of_service_reason": ""}
            changes["out_of_service_by"] = None
            audited_update(actor=actor, obj=sensor, changes=changes, unit_path=sensor.gateway.site.path)
        directory.invalidate()
        ids = [s.id for s in sensors]
        conditions = _conditions_for(ids)
        for sid in ids:
            cond = conditions[(sid, STALE_LIMIT)]
            _journal(cond, directory.by_id(sid), JournalEvent.IN_SERVICE, _state_of(cond), actor, comment)
        # Evaluated at once against the newest value it sent while out of service (fail safe: a trip that
        # happened meanwhile is annunciated now, not at the next reading).
        states = _lock_states(ids)
        values = dict(SensorState.objects.filter(sensor_id__in=ids).values_list("sensor_id", "last_value"))
        live = {
            sid: [(last_ts, values[sid])]
            for sid, (last_ts, _newest) in states.items()
            if last_ts is not None and values.get(sid) is not None
        }
        _evaluate_alarms(live, int(time.time() * 1000))
        transaction.on_commit(directory.invalidate)


def _journal(cond, info: SensorInfo, event, state, actor, comment, alarm=None, at=None) -> None:
    shelved = bool(cond.shelved_until and cond.shelved_until > timezone.now())
    AlarmJournal.objects.create(
        at=at or timezone.now(),
        condition=cond,
        alarm=alarm if alarm is not None else (Alarm.objects.filter(pk=cond.current_alarm_id).first()),
        site_path=info.site_path,
        event=event,
        state=engine.display_state(
            state, shelved=shelved, suppressed=cond.suppressed, out_of_service=not info.in_service
        ),
        value=cond.last_value,
        user=actor if getattr(actor, "pk", None) else None,
        comment=comment,
    )


# ---------------------------------------------------------------- registry


def _require_manage(actor, path: str, loc: tuple = ()) -> None:
    if not scope_for(actor).allows(Perm.MANAGE, path):
        raise PermissionDenied(
            "changing the sensor registry needs the administrator role here",
            loc=loc,
            type="permission_denied",
        )


def require_manage_places(actor, *paths: str, loc: tuple = ()) -> None:
    """Every write to the registry: the administrator role on the object's current place AND on its new one
    (a sensor or gateway moved from one company's site to another's needs both), 403 otherwise."""
    for path in dict.fromkeys(p for p in paths if p):
        _require_manage(actor, path, loc)


def audit_other_place(*, actor, obj, from_path: str, to_path: str, before: dict, after: dict) -> None:
    """A registry object moved between sites is audited under both: the update is filed under its new place
    by the audited service; this files the same change under the place it left, so that place's auditors see
    what happened to their sensor or gateway."""
    if from_path and from_path != to_path and (before or after):
        audit_record(actor=actor, action="update", obj=obj, unit_path=from_path, before=before, after=after)


def gateway_create(
    *, actor, code: str, site_code: str, name: str = "", sparkplug_group: str = "", sparkplug_node: str = ""
) -> Gateway:
    site = Unit.objects.filter(code=site_code, kind=UnitKind.SITE).first()
    if site is None or not scope_for(actor).allows(Perm.VIEW, site.path):  # one outside the scope is unknown
        raise ValidationFailed(f"no site with code {site_code}", loc=("body", "site"), type="unknown_unit")
    _require_manage(actor, site.path, ("body", "site"))
    check_clean_text(name, loc=("body", "name"), label="the name")
    gateway = Gateway(
        code=code, site=site, name=name, sparkplug_group=sparkplug_group, sparkplug_node=sparkplug_node
    )
    audited_create(actor=actor, obj=gateway, unit_path=site.path)
    return gateway


@transaction.atomic
def sensor_create(*, actor, loc: tuple = ("body",), **fields) -> Sensor:
    """Register a sensor; unit of measure and range default from its kind."""
    kind = fields.get("kind")
    if kind in KIND_DEFAULTS:
        uom, lo, hi = KIND_DEFAULTS[kind]
        fields.setdefault("unit_of_measure", uom)
        fields.setdefault("range_min", lo)
        fields.setdefault("range_max", hi)
    if fields.get("in_service") is False:
        raise ValidationFailed(
            "a new sensor is in service; a safety officer takes it out of service with a reason and an expiry",
            loc=(*loc, "in_service"),
        )
    sensor = Sensor(**fields)
    gateway = getattr(sensor, "gateway", None) if sensor.gateway_id else None
    if gateway is not None:  # the permission first: nothing of another company's registry is revealed
        _require_manage(actor, gateway.site.path, (*loc, "gateway"))
    check_clean_text(sensor.name, loc=(*loc, "name"), label="the name")
    position = Unit.objects.filter(pk=sensor.position_id).first() if sensor.position_id else None
    if gateway is not None and position is not None and not position.path.startswith(gateway.site.path):
        raise ValidationFailed(
            f"work position {position.code} is not at the gateway's site {gateway.site.code}",
            loc=(*loc, "position"),
        )
    audited_create(actor=actor, obj=sensor, unit_path=gateway.site.path if gateway else "", loc=loc)
    SensorState.objects.get_or_create(sensor=sensor)
    transaction.on_commit(directory.invalidate)
    return sensor


__all__ = [
    "Batch",
    "IngestResult",
    "alarm_acknowledge",
    "alarm_acknowledge_many",
    "alarm_reset",
    "alarm_shelve",
    "alarm_unshelve",
    "audit_other_place",
    "gateway_create",
    "gateway_death",
    "gateway_lost",
    "gateways_scan",
    "ingest",
    "no_operator_override",
    "out_of_service_expire",
    "parse_ts",
    "quarantine_message",
    "readings_ingest",
    "require_manage_places",
    "sensor_create",
    "sensor_out_of_service",
    "sensor_return_to_service",
    "sensors_offline",
    "shelving_expire",
    "stale_scan",
]
