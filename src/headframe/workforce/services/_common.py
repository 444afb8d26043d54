"""Helpers shared by the workforce services: the acting user, the scope check on a unit, finding a worker by
tag number at a mine."""

from __future__ import annotations

from headframe.core.errors import NotFound, PermissionDenied
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import Worker


def actor_user(actor):
    """The user to store on a row (None for the system: the CLI, the demo loader)."""
    return actor if getattr(actor, "pk", None) else None


def require(actor, unit: Unit, perm: str, *, loc: tuple, key: str) -> None:
    """404 when the unit is outside the actor's view (not revealed), 403 when visible without perm."""
    scope = scope_for(actor)
    if not scope.allows(Perm.VIEW, unit.path):
        raise NotFound(loc=loc, key="not_found.unit", params={"unit": repr(unit.code)})
    if not scope.allows(perm, unit.path):
        raise PermissionDenied(loc=loc, key=key, params={"unit": unit.code})


def unit_by_code(actor, code: str, perm: str, *, loc: tuple, key: str) -> Unit:
    unit = Unit.objects.filter(code=(code or "").strip()).first()
    if unit is None:
        raise NotFound(loc=loc, key="not_found.unit", params={"unit": repr(code)})
    require(actor, unit, perm, loc=loc, key=key)
    return unit


def company_path(unit: Unit) -> str:
    """The path of the company a unit belongs to ('/G/A/A-M1/' → '/G/A/'); a company or group: its own."""
    codes = unit.path.strip("/").split("/")
    return "/" + "/".join(codes[:2]) + "/" if unit.kind != UnitKind.GROUP else unit.path


def worker_by_tag(tag_no: str, site: Unit, *, loc: tuple = ("body", "tag_no")) -> Worker:
    """The active worker carrying this tag, among the people of the mine's company: another company's tag is
    unknown here (its people are not revealed)."""
    tag = (tag_no or "").strip()
    worker = (
        Worker.objects.select_related("unit")
        .filter(tag_no=tag, is_active=True, unit__path__startswith=company_path(site))
        .first()
        if tag
        else None
    )
    if worker is None:
        raise NotFound(loc=loc, type="unknown_tag", key="unknown_tag.named", params={"tag": tag_no})
    return worker


def person(worker: Worker) -> str:
    """How a message names a person: name and employee number."""
    return f"{worker.full_name} ({worker.employee_no})"
