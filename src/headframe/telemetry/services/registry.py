"""The sensor registry: creating gateways and sensors, audited, within the actor's scope."""

from __future__ import annotations

from django.db import transaction

from headframe.core.audit import audit_record
from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.services import audited_create
from headframe.core.text import check_clean_text
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    KIND_DEFAULTS,
    Gateway,
    Sensor,
    SensorState,
)


def _require_manage(actor, path: str, loc: tuple = ()) -> None:
    if not scope_for(actor).allows(Perm.MANAGE, path):
        raise PermissionDenied(loc=loc, type="permission_denied", params={}, key="permission_denied.registry")


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
        raise ValidationFailed(
            loc=("body", "site"), type="unknown_unit", params={"site": site_code}, key="unknown_unit.site"
        )
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
        raise ValidationFailed(loc=(*loc, "in_service"), params={}, key="value_error.new_in_service")
    sensor = Sensor(**fields)
    gateway = getattr(sensor, "gateway", None) if sensor.gateway_id else None
    if gateway is not None:  # the permission first: nothing of another company's registry is revealed
        _require_manage(actor, gateway.site.path, (*loc, "gateway"))
    check_clean_text(sensor.name, loc=(*loc, "name"), label="the name")
    position = Unit.objects.filter(pk=sensor.position_id).first() if sensor.position_id else None
    if gateway is not None and position is not None and not position.path.startswith(gateway.site.path):
        raise ValidationFailed(
            loc=(*loc, "position"),
            params={"position": position.code, "site": gateway.site.code},
            key="value_error.position_site",
        )
    audited_create(actor=actor, obj=sensor, unit_path=gateway.site.path if gateway else "", loc=loc)
    SensorState.objects.get_or_create(sensor=sensor)
    transaction.on_commit(directory.invalidate)
    return sensor
