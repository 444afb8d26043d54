"""Reads of the organisation tree, filtered by what the caller may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.org.messages import both_languages
from headframe.org.models import BridgePoint, Person, RoleAssignment, Unit, UnitKind, UnitParentPeriod
from headframe.org.roles import ROLE_PERMS, Perm

if TYPE_CHECKING:
    from django.http import HttpRequest

    from headframe.core.actors import Actor
    from headframe.core.errors import Loc


@dataclass(frozen=True)
class Scope:
    """What one user may do where: for each permission, the unit paths (subtree roots) it holds on."""

    is_superuser: bool = False
    grants: tuple[tuple[str, str], ...] = ()  # (unit path, role)
    _cache: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)

    def paths(self, perm: str) -> list[str]:
        """Minimal set of subtree roots where perm holds (a path already covered by its ancestor is dropped)."""
        if perm not in self._cache:
            paths = sorted({path for path, role in self.grants if perm in ROLE_PERMS.get(role, ())})
            minimal: list[str] = []
            for path in paths:
                if not any(path.startswith(kept) for kept in minimal):
                    minimal.append(path)
            self._cache[perm] = minimal
        return self._cache[perm]

    def allows(self, perm: str, path: str) -> bool:
        return self.is_superuser or any(path.startswith(root) for root in self.paths(perm))

    def q(self, perm: str = Perm.VIEW, field_name: str = "path") -> Q:
        """A filter for rows whose unit path lies in this scope."""
        if self.is_superuser:
            return Q()
        roots = self.paths(perm)
        if not roots:
            return Q(pk__in=[])
        return reduce(or_, (Q(**{f"{field_name}__startswith": root}) for root in roots))

    @property
    def is_empty(self) -> bool:
        return not self.is_superuser and not self.grants


SYSTEM_SCOPE = Scope(is_superuser=True)


def scope_for(user: Actor) -> Scope:
    """The user's scope, computed once per user object (a request reuses it)."""
    if user is None:
        return SYSTEM_SCOPE  # the shell (CLI) and demo loader act as the system
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    cached: Scope | None = getattr(user, "_headframe_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = SYSTEM_SCOPE
    else:
        grants = RoleAssignment.objects.filter(user=user, unit__is_active=True).values_list(
            "unit__path", "role"
        )
        scope = Scope(grants=tuple(grants))
    # Not a field, kept on the user object only. setattr: request.user is a lazy proxy that forwards it to the
    # user itself (where role_grant drops it), and the user types declare no such attribute.
    setattr(user, "_headframe_scope", scope)  # noqa: B010
    return scope


def units_visible(user: Actor, perm: str = Perm.VIEW) -> QuerySet[Unit]:
    return Unit.objects.filter(scope_for(user).q(perm))


def unit_get(user: Actor, code: str, perm: str = Perm.VIEW, *, loc: Loc = ("path", "code")) -> Unit:
    """The unit if the user may see it; 404 otherwise (a unit outside one's scope is not revealed: it answers
    exactly as an unknown code does). If the user may see it but lacks perm on it, 403.
    `loc` names where the code came from: ("query", "unit") for a query parameter."""
    unit = Unit.objects.filter(code=code).select_related("parent").first()
    scope = scope_for(user)
    if unit is None or not scope.allows(Perm.VIEW, unit.path):
        raise NotFound(loc=tuple(loc), key="not_found.unit", params={"unit": repr(code)})
    if perm != Perm.VIEW and not scope.allows(perm, unit.path):
        raise PermissionDenied(
            loc=tuple(loc),
            key="permission_denied.perm_for_unit",
            params={"action": both_languages(Perm(perm).label), "unit": code},
        )
    return unit


def unit_named(user: Actor, code: str | None, *, loc: Loc) -> Unit:
    """The unit a write names by its code: unknown — or outside the user's view, which is not revealed — is a
    field error (422 unknown_unit) at loc. A user of None is the system and sees every unit."""
    unit = Unit.objects.filter(code=code).first() if code else None
    if unit is None or not scope_for(user).allows(Perm.VIEW, unit.path):
        raise ValidationFailed(
            loc=loc, type="unknown_unit", params={"unit": repr(code)}, key="unknown_unit.named"
        )
    return unit


def subtree(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(path__startswith=unit.path)


def ancestor_paths(path: str) -> list[str]:
    """'/G/A/A-M1/' → ['/G/', '/G/A/', '/G/A/A-M1/']: the paths of the units above, the unit itself last."""
    codes = path.strip("/").split("/")
    return ["/" + "/".join(codes[: n + 1]) + "/" for n in range(len(codes))]


def ancestors(unit: Unit) -> list[Unit]:
    codes = [c for c in unit.path.strip("/").split("/")][:-1]
    by_code = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


@dataclass
class TreeNode:
    unit: Unit
    children: list[TreeNode] = field(default_factory=list)


def unit_tree(
    user: Actor, *, root: Unit | None = None, max_kind: str | None = None, active_only: bool = False
) -> list[TreeNode]:
    """The visible forest: one node per subtree root in the user's scope, children ordered by code."""
    qs = units_visible(user)
    if root is not None:
        qs = qs.filter(path__startswith=root.path)
    if max_kind is not None:
        order = list(UnitKind.values)
        qs = qs.filter(kind__in=order[: order.index(max_kind) + 1])
    if active_only:
        qs = qs.filter(is_active=True)
    nodes: dict[str, TreeNode] = {}
    roots: list[TreeNode] = []
    for unit in qs.order_by("depth", "code"):
        node = TreeNode(unit)
        nodes[unit.path] = node
        parent_path = unit.path[: unit.path.rstrip("/").rfind("/") + 1]
        parent = nodes.get(parent_path)
        (parent.children if parent else roots).append(node)
    return roots


def parent_on(unit: Unit, on: dt.date) -> Unit | None:
    """The unit's parent as the tree stood on a date (units keep their history when moved)."""
    period = (
        UnitParentPeriod.objects.filter(unit=unit, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .select_related("parent")
        .first()
    )
    return period.parent if period else None


def unit_history(unit: Unit) -> QuerySet[UnitParentPeriod]:
    return UnitParentPeriod.objects.filter(unit=unit).select_related("parent").order_by("valid_from")


def bridge_points_visible(user: Actor) -> QuerySet[BridgePoint]:
    return BridgePoint.objects.filter(scope_for(user).q(Perm.VIEW, "unit__path")).select_related("unit")


def people_visible(user: Actor, *, under: Unit | None = None) -> QuerySet[Person]:
    qs = Person.objects.filter(scope_for(user).q(Perm.VIEW, "unit__path")).select_related("unit")
    if under is not None:
        qs = qs.filter(unit__path__startswith=under.path)
    return qs


def picked_unit(request: HttpRequest) -> Unit | None:
    """The unit chosen in the page shell's picker (kept in the session), if the user still may see it."""
    code = request.session.get("unit")
    if not code or not request.user.is_authenticated:
        return None
    return units_visible(request.user).filter(code=code).first()
