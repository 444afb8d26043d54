"""Gateways: one alarm per outage (lost, Sparkplug death, back), and the sensors a dead device takes offline."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Q

from headframe.telemetry import engine
from headframe.telemetry.directory import SensorInfo, directory
from headframe.telemetry.models import (
    GATEWAY_LOST_LIMIT,
    STALE_LIMIT,
    AlarmCondition,
    AlarmJournal,
    Gateway,
    JournalEvent,
    Sensor,
    SensorState,
)
from headframe.telemetry.services.alarms import (
    _JOURNAL_EVENT,
    StillSilent,
    _apply,
    _close_or_return,
    _conditions_for,
    _journal,
    _lock_sensor_states,
    _locked,
    _open_alarm,
    _persist,
    _raise_stale,
    _state_of,
    _wake_live_pages,
    in_turns,
)


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
    _wake_live_pages(gateway.site.path)
    return 1 if event == engine.RAISED else 0


def gateway_lost(
    *,
    gateway_code: str,
    now_ms: int | None = None,
    reason: str = "",
    seen_at: dt.datetime | None = None,
    give_way: bool = False,
) -> int:
    """A gateway died (Sparkplug NDEATH, its last will) or went silent past its timeout: ONE urgent "gateway
    lost" alarm; its sensors go offline and their stale alarms are suppressed by this rule (journalled and
    counted, listed with the suppressed alarms), not annunciated one by one. Returns alarms raised.

    `seen_at`: the gateway's last message as the caller saw it when it found it silent; if a newer one was
    stored meanwhile (read once its sensors' states are locked, i.e. after ingest committed), it is not lost.
    Locks in the one order of the services (see `alarms._lock_sensor_states`): its sensors' states, then its
    condition, then its row — the reverse of ingest (which ends with the gateway row) deadlocked. `give_way`:
    the watchdog's call, whose suppression of the sensors' alarms pauses for other writers (alarms.in_turns)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    gateway = Gateway.objects.select_related("site").filter(code=gateway_code).first()
    if gateway is None:
        return 0
    infos = [i for i in directory.all() if i.gateway_id == gateway.id and i.in_service]
    with transaction.atomic():
        sensor_ids = list(Sensor.objects.filter(gateway_id=gateway.id).values_list("id", flat=True))
        _lock_sensor_states(sensor_ids)
        if seen_at is not None:
            last_seen = Gateway.objects.filter(pk=gateway.pk).values_list("last_seen", flat=True).first()
            if last_seen is not None and last_seen > seen_at:
                return 0  # a message arrived while the scan was looking: not lost
        SensorState.objects.filter(sensor_id__in=sensor_ids).update(online=False)
        # Sensors that never reported have no "no data" alarm of their own to suppress: the lost gateway (and,
        # once it is back, its one "never reported" alarm) speaks for them — not a journal row per sensor.
        reported = set(
            SensorState.objects.filter(sensor__gateway_id=gateway.id)
            .filter(Q(last_ts__isnull=False) | Q(max_ts__isnull=False))
            .values_list("sensor_id", flat=True)
        )
        infos = [i for i in infos if i.id in reported]
        cond = _gateway_condition(gateway.id)
        Gateway.objects.filter(pk=gateway.pk).update(online=False)
        state = _state_of(cond)
        event = engine.force_active(state, now_ms)
        raised = 0
        if event is not None:
            comment = reason or f"{len(infos)} sensors without data"
            raised = _apply_gateway(cond, state, event, gateway, ts=now_ms, comment=comment)
            _persist(cond, state)
    _suppress_stale(infos, now_ms, while_lost=gateway.id, give_way=give_way)
    return raised


# The Sparkplug NDEATH path keeps its name.
def gateway_death(*, gateway_code: str, now_ms: int | None = None) -> int:
    return gateway_lost(gateway_code=gateway_code, now_ms=now_ms, reason="NDEATH")


def _suppress_stale(
    infos: list[SensorInfo],
    now_ms: int,
    *,
    still_silent: StillSilent | None = None,
    while_lost: int | None = None,
    give_way: bool = False,
    budget_s: float | None = None,
) -> int:
    """Suppress by design the stale conditions of sensors behind a lost gateway: active (so nothing is lost
    from the state), not annunciated, journalled with the rule. One already annunciated stays annunciated.
    Decided again once each chunk's sensor states are locked (ingest may have committed fresh data meanwhile):
    `still_silent` per sensor, as for `_raise_stale`; `while_lost` (a gateway id): only while that gateway's
    "gateway lost" condition is still active — a message that brought it back ends the suppression.
    `give_way`, `budget_s`: see alarms.in_turns."""
    suppressed = 0
    for chunk in in_turns(infos, give_way=give_way, budget_s=budget_s):
        with transaction.atomic():
            if still_silent is not None or while_lost is not None:
                states = _lock_sensor_states([i.id for i in chunk])
            if still_silent is not None:
                chunk = [info for info in chunk if still_silent(info, states.get(info.id))]
            if while_lost is not None and not _lost_gateways().get(while_lost):
                break
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


def gateways_scan(*, now_ms: int | None = None, give_way: bool = False) -> int:
    """A gateway silent past its timeout is lost: its own timeout, or 2 × the shortest period of its sensors —
    shorter than the 3 periods after which a sensor is stale, so a silent gateway is lost before its sensors
    go stale one by one. Runs in the watchdog before the stale scan (`give_way`: see alarms.in_turns)."""
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
                gateway_code=code,
                now_ms=now_ms,
                reason=f"silent for {timeout_ms // 1000} s",
                seen_at=last_seen,
                give_way=give_way,
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
    for pk in sorted(lost):  # id order: two ingest processes bring the same gateways back
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


def _annunciate_after_gateway_return(
    silent: list[SensorInfo], lost: dict, now_ms: int, *, give_way: bool = False
) -> int:
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
    due = [
        c
        for c in held
        if now_ms - (back_since.get(by_id[c.sensor_id].gateway_id) or 0) > 3000 * by_id[c.sensor_id].period_s
    ]
    raised = 0
    for chunk in in_turns(due, give_way=give_way):
        for held_cond in chunk:
            info = by_id[held_cond.sensor_id]
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
        # In id order first, as ingest locks them (an UPDATE locks in no order and could deadlock with it).
        _lock_sensor_states([i.id for i in infos])
        SensorState.objects.filter(sensor_id__in=[i.id for i in infos]).update(online=False)
    return _raise_stale(infos, now_ms, reason=f"device on {gateway_code} offline")
