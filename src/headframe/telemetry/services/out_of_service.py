"""Out of service: a role, a reason, an expiry."""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.services import audited_update
from headframe.org.roles import Role
from headframe.org.selectors import scope_for
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    STALE_LIMIT,
    JournalEvent,
    Sensor,
    SensorState,
)
from headframe.telemetry.services.alarms import (
    _conditions_for,
    _evaluate_alarms,
    _journal,
    _locked,
    _state_of,
)
from headframe.telemetry.services.ingestion import _lock_states

OUT_OF_SERVICE_DEFAULT_HOURS = 8
OUT_OF_SERVICE_MAX_HOURS = 24


def _require_safety(actor, path: str, key: str) -> None:
    """The safety officer role itself on the site (or above it): not any role that happens to include the
    safety permission — an administrator manages the registry, a safety officer decides what is monitored.
    `key`: the catalogue message saying what needs it (permission_denied.out_of_service / return_to_service)."""
    grants = scope_for(actor).grants
    if not any(role == Role.SAFETY_OFFICER and path.startswith(root) for root, role in grants):
        raise PermissionDenied(params={}, key=key)


@transaction.atomic
def sensor_out_of_service(
    *, actor, sensor: Sensor, reason: str, hours: float = OUT_OF_SERVICE_DEFAULT_HOURS
) -> Sensor:
    """Take a sensor out of service (calibration, repair) until an expiry (8 h by default, 24 h at most); only
    a safety officer of its site. Its readings are still stored and shown; its alarms are neither evaluated nor
    annunciated; a standing indication is listed where operators look; its position counts as not monitored.
    Again on a sensor already out of service: a new reason and expiry (from now)."""
    site_path = sensor.gateway.site.path
    _require_safety(actor, site_path, "permission_denied.out_of_service")
    if not reason.strip():
        raise ValidationFailed(
            loc=("body", "reason"), type="missing", params={}, key="missing.out_of_service_reason"
        )
    if not 0 < hours <= OUT_OF_SERVICE_MAX_HOURS:
        raise ValidationFailed(
            loc=("body", "hours"),
            type="range",
            params={"max": OUT_OF_SERVICE_MAX_HOURS},
            key="range.out_of_service_hours",
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
    _require_safety(actor, sensor.gateway.site.path, "permission_denied.return_to_service")
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
