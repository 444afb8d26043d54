"""Helpers for the meeting, directive and key-task tests (plain functions, no fixtures: the pack tests keep
their own conftest)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from headframe.briefing import services
from headframe.briefing.services import AgendaItemIn, BridgePointIn
from headframe.org import services as org_services
from headframe.org.models import BridgePoint


def bridge_points(tree) -> None:
    """DC-G at the group, DC-A and DC-B at the companies of the shared `tree` fixture."""
    for code, unit in (("DC-G", "G"), ("DC-A", "A"), ("DC-B", "B")):
        if not BridgePoint.objects.filter(code=code).exists():
            org_services.bridge_point_create(
                actor=None, code=code, name_vi=f"Điểm cầu {unit}", unit_code=unit
            )


def at(day: dt.date, hour: int = 8) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def meeting(
    *,
    unit: str = "G",
    actor=None,
    month: dt.date = dt.date(2027, 10, 1),
    points=(("DC-G", "Lãnh đạo Tập đoàn"), ("DC-A", "Giám đốc A"), ("DC-B", "Giám đốc B")),
    title: str | None = None,
    **kwargs,
):
    """A monthly meeting of `unit` covering `month`, held on the 5th of the next month."""
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return services.meeting_create(
        actor=actor,
        unit_code=unit,
        title=title or f"Giao ban tháng {month.month}/{month.year}",
        starts_at=at(end + dt.timedelta(days=5)),
        period_start=month,
        period_end=end,
        bridge_points=[BridgePointIn(code, who) for code, who in points],
        agenda=[
            AgendaItemIn("Tình hình sản xuất", "production", "Ban Điều khiển sản xuất"),
            AgendaItemIn("An toàn", "safety", "Ban An toàn"),
            AgendaItemIn("Kết luận", "directives", "Chủ trì"),
        ],
        **kwargs,
    )


def run(meeting, actor=None):
    services.meeting_start(actor=actor, meeting=meeting)
    return services.meeting_close(actor=actor, meeting=meeting)
