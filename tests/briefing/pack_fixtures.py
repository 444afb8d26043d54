"""Fixtures of the pack tests (imported by tests/briefing/test_pack*.py): the shared two-company tree with a
year's plans, October figures this year and last, a directive or two, and a group meeting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from headframe.briefing import services as briefing
from headframe.briefing.services import AgendaItemIn, BridgePointIn
from headframe.org import services as org
from headframe.production import services as production
from headframe.production.services import ActualRow

YEAR = 2026
START, END = dt.date(YEAR, 10, 1), dt.date(YEAR, 10, 31)
NOW = dt.datetime(YEAR, 11, 20, 12, 0, tzinfo=dt.UTC)  # "now" for writes: the whole period is in the past
FACE_A, FACE_B = "A-M1-K1-F1", "B-M1-K1-F1"


def _daily(unit: str, indicator: str, year: int, per_day, days=range(1, 32), month: int = 10) -> list:
    return [ActualRow(unit, indicator, dt.date(year, month, d), 0, per_day(d)) for d in days]


@pytest.fixture
def figures(tree, indicator_catalogue):
    """A ahead of plan, B behind: raw coal at the longwall faces, roadway at A only, sales per company."""
    for year in (YEAR - 1, YEAR):
        for code, raw, roadway in (("A-M1", 365_000, 3_650), ("B-M1", 730_000, None)):
            values = {"raw_coal_t": raw}
            if roadway:
                values["roadway_m"] = roadway
            production.plan_version_create(
                actor=None, unit_code=code, year=year, effective_from=dt.date(year, 1, 1), values=values
            )
    rows = []
    for year, bump in ((YEAR - 1, 0), (YEAR, 50)):
        rows += _daily(FACE_A, "raw_coal_t", year, lambda d, b=bump: 1_050 + b + d)
        rows += _daily(FACE_B, "raw_coal_t", year, lambda d, b=bump: 1_800 + b + (d % 3) * 7)
        rows += _daily("A-M1-K1-F1", "roadway_m", year, lambda d: Decimal("9.5"))
    rows += _daily(FACE_A, "raw_coal_t", YEAR, lambda d: 1_000, days=range(1, 31), month=9)
    production.actuals_upsert(actor=None, rows=rows, source="api", now=NOW)
    return tree


@pytest.fixture
def group_meeting(figures, users):
    for code, unit in (("DC-G", "G"), ("DC-A", "A"), ("DC-B", "B")):
        org.bridge_point_create(actor=None, code=code, name_vi=f"Điểm cầu {unit}", unit_code=unit)
    meeting = briefing.meeting_create(
        actor=users.planner_g,
        unit_code="G",
        title="Giao ban tháng 10/2026",
        starts_at=timezone.make_aware(dt.datetime(YEAR, 11, 5, 8)),
        period_start=START,
        period_end=END,
        chair=users.planner_g,
        bridge_points=[BridgePointIn("DC-G", "Lãnh đạo Tập đoàn"), BridgePointIn("DC-A", "Giám đốc A")],
        agenda=[
            AgendaItemIn("Tình hình sản xuất", "production", "Ban Điều khiển sản xuất"),
            AgendaItemIn("An toàn", "safety"),
            AgendaItemIn("Kết luận", "directives"),
        ],
    )
    # Raised at last month's briefing: one overdue by the period's end, one done within it, one due later.
    raised = dt.datetime(YEAR, 9, 5, 9, 0, tzinfo=dt.UTC)
    overdue = briefing.directive_create(
        actor=users.planner_g,
        text="Khắc phục sự cố băng tải lò chợ B",
        owner_unit_code="B",
        deadline=dt.date(YEAR, 10, 15),
        today=raised.date(),
        now=raised,
    )
    done = briefing.directive_create(
        actor=users.planner_g,
        text="Bổ sung thiết bị đo khí CH₄ cầm tay",
        owner_unit_code="A",
        deadline=dt.date(YEAR, 10, 20),
        today=raised.date(),
        now=raised,
    )
    due = briefing.directive_create(
        actor=users.planner_g,
        text="Lập phương án khai thác quý I/2027",
        owner_unit_code="A",
        deadline=dt.date(YEAR, 12, 31),
        today=raised.date(),
        now=raised,
    )
    briefing.directive_update_status(
        actor=users.planner_g,
        directive=done,
        status="done",
        evidence="Biên bản bàn giao 12/10",
        now=dt.datetime(YEAR, 10, 12, 3, 0, tzinfo=dt.UTC),
    )
    return SimpleNamespace(meeting=meeting, overdue=overdue, done=done, due=due)
