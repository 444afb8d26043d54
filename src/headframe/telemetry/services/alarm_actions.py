"""Operator actions on alarms: acknowledge, reset, shelve, unshelve; shelving expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry import engine
from headframe.telemetry.directory import SensorInfo, directory
from headframe.telemetry.models import (
    FAULT_LIMIT,
    GAS_KINDS,
    GATEWAY_LOST_LIMIT,
    NEVER_REPORTED_LIMIT,
    OVER_RANGE_LIMIT,
    Alarm,
    AlarmCondition,
    Gateway,
    JournalEvent,
)
from headframe.telemetry.services.alarms import _journal, _persist, _state_of

EXTERNAL_KIND = "external"  # GatewaySubject.kind of a condition reported through services.external


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
    elif cond is not None and cond.site_id is not None:  # reported by another part (services.external)
        info = GatewaySubject(cond.subject, EXTERNAL_KIND, cond.site.path)
    elif cond is not None:
        gateway = Gateway.objects.select_related("site").get(pk=cond.gateway_id)
        info = GatewaySubject(gateway.code, "gateway", gateway.site.path)
    scope = scope_for(actor)
    if cond is None or info is None or not scope.allows(Perm.VIEW, info.site_path):
        raise NotFound(loc=("path", "condition"), params={}, key="not_found.alarm")
    if not (scope.allows(Perm.DISPATCH, info.site_path) or scope.allows(Perm.SAFETY, info.site_path)):
        raise PermissionDenied(params={}, key="permission_denied.handle_alarms")
    return cond, info


def no_operator_override(cond: AlarmCondition, info) -> bool:
    """Conditions nobody may hide from a console or the API: limits the profile marks so (every methane trip),
    a gas sensor's over-range and fault, and a lost gateway (fail safe)."""
    if cond.site_id is not None or info.kind == EXTERNAL_KIND:
        return True  # reported by another part of the system (a person overdue underground): cleared there
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
        raise ValidationFailed(loc=("body", "conditions"), type="missing", params={}, key="missing.alarms")
    if len(ids) > 1000:
        raise ValidationFailed(
            loc=("body", "conditions"), params={"count": 1000}, key="value_error.too_many_alarms"
        )
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
        raise ValidationFailed(loc=("body",), params={}, key="value_error.still_tripped")
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
            loc=("path", "condition"),
            type="no_operator_override",
            params={},
            key="no_operator_override.shelve",
        )
    if not reason.strip():
        raise ValidationFailed(loc=("body", "reason"), type="missing", params={}, key="missing.shelve_reason")
    max_minutes = settings.TELEMETRY_MAX_SHELVE_MINUTES
    if not 1 <= minutes <= max_minutes:
        raise ValidationFailed(
            loc=("body", "minutes"), type="range", params={"max": max_minutes}, key="range.shelve_minutes"
        )
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
