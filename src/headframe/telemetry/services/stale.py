"""Fail safe: the "no data" alarm of silent sensors and the "never reported" alarm of gateways whose sensors
never sent anything."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from headframe.telemetry import engine
from headframe.telemetry.directory import SensorInfo, directory
from headframe.telemetry.models import (
    GAS_KINDS,
    GATEWAY_LOST_LIMIT,
    NEVER_REPORTED_LIMIT,
    STALE_LIMIT,
    Alarm,
    AlarmCondition,
    Gateway,
    SensorKind,
    SensorState,
)
from headframe.telemetry.services.alarms import _locked, _persist, _raise_stale, _state_of
from headframe.telemetry.services.gateways import (
    _annunciate_after_gateway_return,
    _apply_gateway,
    _gateway_condition,
    _lost_gateways,
    _suppress_stale,
    gateway_lost,
)


def stale_scan(*, now_ms: int | None = None, give_way: bool = False) -> int:
    """Raise the "no data" alarm of every in-service sensor silent for 3× its period (fail safe); returns how
    many were raised. A sensor whose gateway is lost is not annunciated one by one: its stale condition is
    suppressed by that rule (journalled), and annunciated only if it is still silent once its gateway is back.

    A sensor's own "no data" alarm starts with its first reading: one that was registered and has never
    reported (commissioning, a bulk registry import) is due 3 periods after it was registered, and all such
    sensors of a gateway make ONE "never reported" alarm of that gateway (listing them), which returns once
    every one of them has reported — never tens of thousands of stale alarms for a registry change, and never
    a silent sensor that nobody is told about. A sensor that has reported and stops is always its own alarm.
    Runs every few seconds in `headframe ingest`; any process may run it (compare-and-set).

    A flood (ingest behind, thousands of sensors silent at once) is raised gas sensors first, for at most
    STALE_BUDGET_S per scan, and with `give_way` (the watchdog) pausing between its transactions for ingest:
    the scan of a flood must never hold off the readings — and the trips — that end it."""
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
        verdict, due = _silence(info, state, now_ms)
        if verdict == SILENT:
            silent.append(info)
        elif verdict == NEVER:
            never.append(info)
            due_ms[info.id] = due
    if without_state:
        SensorState.objects.bulk_create(
            [SensorState(sensor_id=sid) for sid in without_state], ignore_conflicts=True, batch_size=500
        )
    lost = _lost_gateways()
    raised = _never_seen_gateways_lost([*silent, *never], lost, now_ms)
    if raised:
        lost = _lost_gateways()

    # Decided again under each sensor's state lock: ingest may have stored fresh data since the read above.
    def still_silent(info: SensorInfo, state) -> bool:
        return state is not None and _silence(info, state, now_ms)[0] == SILENT

    # Sensors whose "no data" condition is already active have nothing to raise or suppress: left out before any
    # transaction (a flood goes on for minutes, and every scan would otherwise lock them all again).
    active = _stale_active()
    pending = sorted((i for i in silent if i.id not in active), key=_gas_first)
    by_rule = [i for i in pending if i.gateway_id in lost]
    if by_rule:
        _suppress_stale(
            by_rule, now_ms, still_silent=still_silent, give_way=give_way, budget_s=STALE_BUDGET_S
        )
    raised += _raise_stale(
        [i for i in pending if i.gateway_id not in lost],
        now_ms,
        reason="",
        still_silent=still_silent,
        give_way=give_way,
        budget_s=STALE_BUDGET_S,
    )
    raised += _never_reported_scan(never, due_ms, lost, now_ms)
    return raised + _annunciate_after_gateway_return(silent, lost, now_ms, give_way=give_way)


# Time one scan spends raising (or suppressing) "no data" alarms, pauses for ingest apart: at ~3 ms an alarm,
# several hundred per round. A flood larger than that goes on at the next round, gas sensors first.
STALE_BUDGET_S = 1.0


def _stale_active() -> set[int]:
    return set(
        AlarmCondition.objects.filter(limit_code=STALE_LIMIT, active=True, sensor__isnull=False).values_list(
            "sensor_id", flat=True
        )
    )


def _gas_first(info: SensorInfo) -> tuple[int, int]:
    """Methane first, then the other gases, then the rest: the order a flood of "no data" alarms is raised in."""
    return (0 if info.kind == SensorKind.CH4 else 1 if info.kind in GAS_KINDS else 2, info.id)


SILENT, NEVER = "silent", "never"


def _silence(info: SensorInfo, state: tuple, now_ms: int) -> tuple[str | None, int]:
    """(SILENT, 0) for a sensor silent past 3 periods, (NEVER, when it became due) for one registered and never
    reported past its due time, (None, 0) otherwise; `state` is its (last live ts, newest stored ts, updated at)."""
    last_ts, max_ts, since = state
    if last_ts is None:
        if since is None:
            return None, 0
        if max_ts is None:  # never reported since it was registered
            due = int(since.timestamp() * 1000) + 3000 * info.period_s
            return (NEVER, due) if now_ms > due else (None, 0)
        last_ts = int(since.timestamp() * 1000)  # only late (historical) values so far
    return (SILENT, 0) if now_ms - last_ts > 3000 * info.period_s else (None, 0)


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
