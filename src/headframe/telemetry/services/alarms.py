"""The alarm engine's persistence: conditions locked and saved, alarms opened and closed, the journal.

telemetry.engine decides the transitions; this module applies them to the database. Every other part of the
services (ingest, stale and gateway scans, operator actions, out of service) goes through it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from headframe.core import live_bus
from headframe.telemetry import engine, notifications
from headframe.telemetry.directory import SensorInfo, directory
from headframe.telemetry.models import (
    FAULT_LIMIT,
    GAS_KINDS,
    OVER_RANGE_LIMIT,
    STALE_LIMIT,
    Alarm,
    AlarmCondition,
    AlarmJournal,
    JournalEvent,
    Sensor,
    SensorState,
)
from headframe.telemetry.services.readings import NAN, OVER, UNDER
from headframe.telemetry.services.rise_windows import rise_windows


def _wake_live_pages(site_path: str) -> None:
    """An alarm transition was journalled: wake the site's live pages when this transaction commits
    (PostgreSQL; a no-op on SQLite, whose pages poll). Every journal write calls it."""
    live_bus.notify(live_bus.site_topic(site_path), urgent=True)


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


def _lock_sensor_states(
    sensor_ids: Iterable[int],
) -> dict[int, tuple[int | None, int | None, dt.datetime | None]]:
    """The sensors' live state rows (created if missing), locked in id order: (last live ts, newest stored ts,
    updated at) per sensor.

    The one lock order of the telemetry services (PostgreSQL): a transaction that locks the conditions of more
    than one sensor first locks those sensors' states, by id — as ingest does (`_lock_states`) — then
    conditions, then gateways' conditions, then gateway rows. Ingest locks conditions in no fixed order (the busy
    ones, then each one a reading crosses), which is safe only because nobody else touches a sensor's conditions
    without first waiting for its state: the stale and gateway scans used to, and deadlocked with ingest."""
    sensor_ids = sorted(set(sensor_ids))
    if not sensor_ids:
        return {}
    SensorState.objects.bulk_create([SensorState(sensor_id=sid) for sid in sensor_ids], ignore_conflicts=True)
    states = {}
    for start in range(0, len(sensor_ids), 900):
        rows = _locked(SensorState.objects.filter(sensor_id__in=sensor_ids[start : start + 900]))
        states.update(
            (sid, (last_ts, max_ts, since))
            for sid, last_ts, max_ts, since in rows.order_by("sensor_id").values_list(
                "sensor_id", "last_ts", "max_ts", "updated_at"
            )
        )
    return states


def _conditions_for(sensor_ids: Iterable[int]) -> dict[tuple[int, str], AlarmCondition]:
    """Every condition of these sensors (created if missing), locked after their states (see
    `_lock_sensor_states`) — used where few sensors are touched."""
    sensor_ids = sorted(set(sensor_ids))
    _lock_sensor_states(sensor_ids)
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
    transaction already holds the database's single write lock. FOR NO KEY UPDATE: writers still take turns, but
    an insert that only references the row (an alarm naming its sensor or condition: KEY SHARE) is not blocked by
    it — with plain FOR UPDATE, a sensor returned to service and an ingest raising its alarm could deadlock."""
    if connection.vendor == "postgresql":
        return queryset.select_for_update(no_key=True).order_by("pk")
    return queryset


def _busy_conditions(sensor_ids: list[int]) -> dict[tuple[int, str], AlarmCondition]:
    """The sensors' conditions that are not idle (active, unacked or with an on-delay running), locked. Few at
    any time, and the only ones a reading inside every limit can change."""
    # Hot path (every flush, thousands of sensors): the ids in raw SQL — building an ORM `IN` of 900 ids costs
    # more than running it — and model rows only for the few busy ones.
    busy_ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id FROM telemetry_alarmcondition WHERE sensor_id = ANY(%s) AND {_BUSY}", [sensor_ids]
            )
            busy_ids.extend(row[0] for row in cursor.fetchall())
        else:
            for start in range(0, len(sensor_ids), 900):
                chunk = sensor_ids[start : start + 900]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT id FROM telemetry_alarmcondition WHERE sensor_id IN ({marks}) AND {_BUSY}", chunk
                )
                busy_ids.extend(row[0] for row in cursor.fetchall())
    if not busy_ids:
        return {}
    busy: dict[tuple[int, str], AlarmCondition] = {}
    for start in range(0, len(busy_ids), 900):
        # Decided again on the locked rows: one may have become idle while this waited for its lock.
        rows = AlarmCondition.objects.filter(pk__in=busy_ids[start : start + 900]).filter(
            Q(active=True) | Q(acked=False) | Q(pending_since__isnull=False)
        )
        busy.update({(c.sensor_id, c.limit_code): c for c in _locked(rows)})
    return busy


_BUSY = "(active OR NOT acked OR pending_since IS NOT NULL)"  # `_busy_conditions`: not idle


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
    by_id = directory.by_id
    for sid, points in live.items():
        info = by_id(sid)
        if info is None or not info.in_service:
            continue
        flags = [doubtful.get((sid, ts)) for ts, _v in points] if doubtful else None
        doubted = flags is not None and any(flags)
        if len(points) == 1:  # the group's shape: one instant per sensor per message
            low = high = points[0][1]
        else:
            values = [value for _ts, value in points]
            low, high = min(values), max(values)
        held = busy_by_sensor.get(sid, ())
        for rule in info.rules:
            limit = rule.limit
            cond = busy.get((sid, rule.code)) if held else None
            if cond is None:
                direction = limit.direction
                if direction == "rise":  # against its window's lowest value, not this flush's values
                    raised += _evaluate_rise(sid, info, rule, points, flags, None)
                    continue
                # An idle condition changes only when a reading crosses its limit (or is doubtful).
                if not doubted and (high < limit.threshold if direction != "low" else low > limit.threshold):
                    continue
                cond = _idle_condition(sid, rule.code)
            elif limit.direction == "rise":
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
        if doubted or any(c.limit_code in (OVER_RANGE_LIMIT, FAULT_LIMIT) for c in held):
            raised += _range_conditions(sid, info, points, flags, busy)
        if held:
            _clear_unevaluated(info, points[-1], held)
    return raised


def _clear_unevaluated(info: SensorInfo, newest: tuple[int, float], held: list[AlarmCondition]) -> None:
    """Fresh data clears "no data"; a limit disabled or removed while active returns with the next reading
    instead of staying active forever with nothing left to evaluate it."""
    codes = {OVER_RANGE_LIMIT, FAULT_LIMIT, *(rule.code for rule in info.rules)}
    ts, value = newest
    for cond in held:
        if cond.limit_code in codes or not cond.active:
            continue
        state = _state_of(cond)
        event = engine.force_clear(state)
        if event is not None:
            _apply(cond, state, event, info, ts=ts, value=value, rule=None)
            if cond.suppressed_by:
                cond.suppressed, cond.suppressed_by = False, ""
                cond.save(update_fields=["suppressed", "suppressed_by"])
            _persist(cond, state)


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


def _open_alarm(
    cond, *, at, value, priority, threshold, message, site_id, site_path, sensor_id, gateway_id, subject=""
):
    alarm = Alarm.objects.create(
        condition=cond,
        sensor_id=sensor_id,
        gateway_id=gateway_id,
        site_id=site_id,
        site_path=site_path,
        subject=subject,
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
    _wake_live_pages(info.site_path)
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


STALE_CHUNK = (
    20  # sensors per transaction: a flood of stale alarms must not hold SQLite's write lock for long
)
# SQLite has one writer and no queue for it: a loop that begins its next transaction as soon as its last one
# committed takes the lock again before a writer waiting in SQLite's busy handler (which looks every 100 ms)
# wakes. Under bench_load a flood of 10 000 "no data" alarms so held ingest off — methane trips with it — for
# 20 s at a time. The watchdog's loops pause this long between their transactions (SQLite only: PostgreSQL locks
# rows, and its writers never wait for one another's unrelated work).
GIVE_WAY_S = 0.12


StillSilent = Callable[[SensorInfo, tuple[int | None, int | None, dt.datetime | None] | None], bool]


def in_turns(items: list, *, give_way: bool, budget_s: float | None = None) -> Iterator[list]:
    """`items` in chunks of STALE_CHUNK, each for one transaction of the caller. With `give_way` (a background
    scan) and on SQLite, a pause between chunks lets a waiting writer — ingest — in; with `budget_s`, no new chunk
    once the chunks took that long (a scan goes on at its next round: what it left is still there to find)."""
    pause = GIVE_WAY_S if give_way and connection.vendor == "sqlite" else 0.0
    spent = 0.0
    for start in range(0, len(items), STALE_CHUNK):
        if start:
            if budget_s is not None and spent >= budget_s:
                return
            if pause:
                time.sleep(pause)
        began = time.monotonic()
        yield items[start : start + STALE_CHUNK]
        spent += time.monotonic() - began


def _raise_stale(
    infos: list[SensorInfo],
    now_ms: int,
    *,
    reason: str,
    still_silent: StillSilent | None = None,
    give_way: bool = False,
    budget_s: float | None = None,
) -> int:
    """The "no data" alarm of these sensors. With `still_silent`, a sensor is decided again on its state as
    committed once its lock is held: the scan's list was read before, and ingest may have stored fresh data of
    it meanwhile (a "no data" alarm over fresh data is a false alarm). `give_way`, `budget_s`: see in_turns."""
    raised = 0
    for chunk in in_turns(infos, give_way=give_way, budget_s=budget_s):
        with transaction.atomic():
            if still_silent is not None:
                states = _lock_sensor_states([i.id for i in chunk])
                chunk = [info for info in chunk if still_silent(info, states.get(info.id))]
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
    _wake_live_pages(info.site_path)
