"""Helpers shared by the safety reads: who may report or inspect, the 404/403 of a record found by id, and a
day as an instant."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from headframe.core.errors import NotFound, PermissionDenied
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, units_visible
from headframe.safety.messages import both_languages


def may_report_or_inspect(scope, path: str) -> bool:
    """The reporting role (the shift overman on the spot) or the safety role on a unit: who may countersign
    an inspection, report an incident and attach photos or evidence."""
    return scope.allows(Perm.REPORT, path) or scope.allows(Perm.SAFETY, path)


def _allow_at(user, unit: Unit | None, perm: str, *, missing: str, ident=None) -> None:
    """For a record found by id at this unit (None: no such record): 404 "<missing> <id> not found" (the
    catalogue's not_found.<missing>) when there is none or its unit is outside the user's view (never
    revealing what exists out of scope), 403 when visible without perm."""
    scope = scope_for(user)
    if unit is None or not scope.allows(Perm.VIEW, unit.path):
        params = {} if ident is None else {"id": str(ident)}
        raise NotFound(loc=("path", "id"), key=f"not_found.{missing}", params=params)
    if perm != Perm.VIEW and not scope.allows(perm, unit.path):
        raise PermissionDenied(
            loc=("path", "id"),
            key="permission_denied.perm_for",
            params={"action": both_languages(Perm(perm).label), "unit": unit.code},
        )


def day_bound(value, *, end: bool) -> dt.datetime:
    """A date as the start of that local day (for an end: the start of the next day, so it is inclusive)."""
    if isinstance(value, dt.datetime):
        return value
    day = value + dt.timedelta(days=1) if end else value
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def top_unit(user) -> Unit | None:
    """The highest unit the user may see (the pages' default), by depth then code."""
    return units_visible(user).order_by("depth", "code").first()


def _sites_and_areas(paths: list[str]) -> dict[str, Unit]:
    """Every unit on the given paths, by code."""
    codes = {c for p in paths for c in p.strip("/").split("/")}
    return {u.code: u for u in Unit.objects.filter(code__in=codes)}
