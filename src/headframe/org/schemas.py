"""Input and output schemas of the org API (separate per direction, no logic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

KindLiteral = Literal["group", "company", "site", "area", "position"]
SiteTypeLiteral = Literal["", "underground", "open_pit", "plant", "port"]
PositionKindLiteral = Literal[
    "",
    "longwall_face",
    "development_heading",
    "pump_station",
    "main_fan",
    "shaft",
    "conveyor",
    "bench",
    "processing_line",
    "berth",
    "other",
]


class UnitOut(Schema):
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


class UnitNodeOut(UnitOut):
    children: list[UnitNodeOut] = []


class ParentPeriodOut(Schema):
    parent: str | None
    valid_from: dt.date
    valid_to: dt.date | None


class UnitDetailOut(UnitOut):
    ancestors: list[str]
    children: list[str]
    history: list[ParentPeriodOut]


class UnitCreateIn(Schema):
    code: str = Field(min_length=1, max_length=40)
    name_vi: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    kind: KindLiteral
    parent: str | None = Field(None, description="code of the parent unit; only the group has none")
    site_type: SiteTypeLiteral = ""
    position_kind: PositionKindLiteral = ""
    is_active: bool = True
    valid_from: dt.date | None = None


class UnitCreateAtCodeIn(Schema):
    name_vi: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    kind: KindLiteral
    parent: str | None = None
    site_type: SiteTypeLiteral = ""
    position_kind: PositionKindLiteral = ""
    is_active: bool = True
    valid_from: dt.date | None = None


class UnitPatchIn(Schema):
    name_vi: str | None = Field(None, min_length=1, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    parent: str | None = Field(None, description="code of the new parent: moves the unit and its subtree")
    site_type: SiteTypeLiteral | None = None
    position_kind: PositionKindLiteral | None = None
    is_active: bool | None = None
    valid_from: dt.date | None = None


class BridgePointOut(Schema):
    code: str
    name_vi: str
    name_en: str
    unit: str
    location: str
    is_active: bool


class PersonOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    job_title: str
    is_active: bool


class RoleOut(Schema):
    role: str
    unit: str


class MeOut(Schema):
    username: str
    is_superuser: bool
    roles: list[RoleOut]
