"""Org endpoints: parse → call selector/service → serialise."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from headframe.core.actors import is_user
from headframe.core.errors import ValidationFailed
from headframe.org import selectors, services
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.schemas import (
    BridgePointOut,
    MeOut,
    PersonOut,
    RoleOut,
    UnitCreateAtCodeIn,
    UnitCreateIn,
    UnitDetailOut,
    UnitNodeOut,
    UnitOut,
    UnitPatchIn,
)

if TYPE_CHECKING:
    from headframe.core.actors import Actor

router = Router(tags=["organisation"])


class UnitData(TypedDict):
    """A unit as the API shows it (UnitOut)."""

    code: str
    name_vi: str
    name_en: str
    kind: str
    site_type: str
    position_kind: str
    parent: str | None
    path: str
    depth: int
    is_active: bool
    valid_from: dt.date


class UnitNodeData(UnitData):
    """UnitNodeOut: a unit with its subtree."""

    children: list[UnitNodeData]


class ParentPeriodData(TypedDict):
    parent: str | None
    valid_from: dt.date
    valid_to: dt.date | None


class UnitDetailData(UnitData):
    """UnitDetailOut: a unit with its place in the tree."""

    ancestors: list[str]
    children: list[str]  # codes of the visible children
    history: list[ParentPeriodData]


class MeData(TypedDict):
    """MeOut."""

    username: str
    is_superuser: bool
    roles: list[RoleOut]


def _unit_out(unit: Unit) -> UnitData:
    parent_path = unit.path[: unit.path.rstrip("/").rfind("/") + 1]
    parent_code = parent_path.strip("/").rsplit("/", 1)[-1] if unit.depth else None
    return {
        "code": unit.code,
        "name_vi": unit.name_vi,
        "name_en": unit.name_en,
        "kind": unit.kind,
        "site_type": unit.site_type,
        "position_kind": unit.position_kind,
        "parent": parent_code,
        "path": unit.path,
        "depth": unit.depth,
        "is_active": unit.is_active,
        "valid_from": unit.valid_from,
    }


def _node_out(node: selectors.TreeNode) -> UnitNodeData:
    return {**_unit_out(node.unit), "children": [_node_out(child) for child in node.children]}


def _detail_out(user: Actor, unit: Unit) -> UnitDetailData:
    visible_children = selectors.units_visible(user).filter(parent=unit).order_by("code")
    return {
        **_unit_out(unit),
        "ancestors": [
            u.code for u in selectors.ancestors(unit) if selectors.scope_for(user).allows(Perm.VIEW, u.path)
        ],
        "children": [u.code for u in visible_children],
        "history": [
            {
                "parent": p.parent.code if p.parent else None,
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
            }
            for p in selectors.unit_history(unit)
        ],
    }


class UnitTreeFilter(Schema):
    down_to: UnitKind | None = None
    active: bool | None = None
    root: str | None = None


@router.get("/units", response=list[UnitNodeOut], summary="The unit tree you may see")
def units_tree(request: HttpRequest, filters: Query[UnitTreeFilter]) -> list[UnitNodeData]:
    root = selectors.unit_get(request.user, filters.root, loc=("query", "root")) if filters.root else None
    forest = selectors.unit_tree(
        request.user, root=root, max_kind=filters.down_to, active_only=bool(filters.active)
    )
    return [_node_out(node) for node in forest]


@router.post("/units", response={201: UnitOut}, summary="Create a unit")
def unit_create(request: HttpRequest, payload: UnitCreateIn) -> Status[UnitData]:
    data = payload.dict()
    unit = services.unit_create(actor=request.user, parent_code=data.pop("parent"), **data)
    return Status(201, _unit_out(unit))


@router.get("/units/{code}", response=UnitDetailOut, summary="One unit with its place in the tree")
def unit_detail(request: HttpRequest, code: str) -> UnitDetailData:
    return _detail_out(request.user, selectors.unit_get(request.user, code))


@router.post("/units/{code}", response={201: UnitOut}, summary="Create a unit with the code in the path")
def unit_create_at_code(request: HttpRequest, code: str, payload: UnitCreateAtCodeIn) -> Status[UnitData]:
    data = payload.dict()
    unit = services.unit_create(actor=request.user, code=code, parent_code=data.pop("parent"), **data)
    return Status(201, _unit_out(unit))


@router.patch("/units/{code}", response=UnitDetailOut, summary="Change or move a unit")
def unit_patch(request: HttpRequest, code: str, payload: UnitPatchIn) -> UnitDetailData:
    unit = selectors.unit_get(request.user, code)
    changes = payload.dict(exclude_unset=True)
    for name in ("name_vi", "is_active", "valid_from"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(loc=("body", name), type="null", params={"field": name}, key="null.field")
    services.unit_update(actor=request.user, unit=unit, changes=changes)
    return _detail_out(request.user, unit)


@router.get("/bridge-points", response=list[BridgePointOut], summary="Bridge points you may see")
def bridge_points(request: HttpRequest) -> list[dict[str, Any]]:
    points = selectors.bridge_points_visible(request.user)
    return [
        {
            **{f: getattr(p, f) for f in ("code", "name_vi", "name_en", "location", "is_active")},
            "unit": p.unit.code,
        }
        for p in points
    ]


@router.get("/people", response=list[PersonOut], summary="People of the units you may see")
def people(request: HttpRequest, unit: str | None = None) -> list[dict[str, Any]]:
    under = selectors.unit_get(request.user, unit, loc=("query", "unit")) if unit else None
    return [
        {
            **{f: getattr(p, f) for f in ("employee_no", "full_name", "job_title", "is_active")},
            "unit": p.unit.code,
        }
        for p in selectors.people_visible(request.user, under=under)
    ]


@router.get("/me", response=MeOut, summary="Who you are and your roles")
def me(request: HttpRequest) -> MeData:
    user = request.user
    assert is_user(user)  # every API route is authenticated (headframe.api: a token or a session)
    roles = [
        RoleOut(role=a.role, unit=a.unit.code)
        for a in user.role_assignments.select_related("unit").order_by("id")
    ]
    return {"username": user.username, "is_superuser": user.is_superuser, "roles": roles}
