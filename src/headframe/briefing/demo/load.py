"""Loading the briefing demo through the services (see the package's docstring)."""

from __future__ import annotations

import datetime as dt
from dataclasses import field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from headframe.briefing import services
from headframe.briefing.demo.data import (
    AGENDA,
    ATTENDEES,
    BRIEFING_2021,
    CLOSED_MEETINGS,
    DIRECTIVES,
    DIRECTIVES_2021,
    EVIDENCE,
    GROUP_CODE,
    KEY_TASKS,
    KEY_TASKS_2021,
    MEETING_DAY,
    MEETING_HOUR,
    REGISTER_YEAR,
)
from headframe.briefing.models import KeyTask, KpiKind, Meeting, MeetingType, Section
from headframe.briefing.selectors import directive_counts
from headframe.briefing.services import AgendaItemIn, BridgePointIn
from headframe.core.audit import channel
from headframe.org.models import BridgePoint, Person, Unit


class BriefingDemoResult:
    key_tasks: int = 0
    kpis: int = 0
    meetings: int = 0
    directives: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _next_month(first: dt.date) -> dt.date:
    return _month_end(first) + dt.timedelta(days=1)


def _prev_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def meeting_months(today: dt.date) -> tuple[list[dt.date], dt.date]:
    """The months covered by the last CLOSED_MEETINGS briefings already held, oldest first, and the month
    the next (planned) briefing covers."""
    month = _prev_month(today.replace(day=1))
    if _next_month(month).replace(day=MEETING_DAY) >= today:
        upcoming = month  # last month's briefing has not sat yet
        month = _prev_month(month)
    else:
        upcoming = today.replace(day=1)
    held = []
    for _ in range(CLOSED_MEETINGS):
        held.insert(0, month)
        month = _prev_month(month)
    return held, upcoming


def _person(company_code: str, title_index: int) -> Person | None:
    people = list(Person.objects.filter(unit__code=company_code).order_by("employee_no"))
    return people[title_index] if title_index < len(people) else None


def _key_tasks(group: Unit, year: int, result: BriefingDemoResult, tasks: list = KEY_TASKS) -> None:
    existing = set(KeyTask.objects.filter(owner_unit=group, year=year).values_list("number", flat=True))
    for number, (title_vi, title_en, description, kpis) in enumerate(tasks, start=1):
        if number in existing:
            continue
        task = services.key_task_create(
            actor=None,
            year=year,
            number=number,
            title_vi=title_vi,
            title_en=title_en,
            description=description,
            owner_unit_code=group.code,
        )
        result.key_tasks += 1
        for order, (kind, name_vi, name_en, ref, target, evidence, *comparator) in enumerate(kpis, start=1):
            measure = kind == KpiKind.MEASURE
            kpi = services.kpi_create(
                actor=None,
                key_task=task,
                order=order,
                name_vi=name_vi,
                name_en=name_en,
                kind=kind,
                indicator_code=None if measure else ref,
                measure_code=ref if measure else None,
                comparator=comparator[0] if comparator else "ge",
                target=Decimal(target) if target is not None else None,
            )
            result.kpis += 1
            if evidence:
                evidence, day = evidence if isinstance(evidence, tuple) else (evidence, dt.date(year, 1, 15))
                services.kpi_update_manual(actor=None, kpi=kpi, done=True, evidence=evidence, now=_at(day, 9))


def _meeting(group: Unit, month: dt.date, chair) -> tuple[Meeting, bool]:
    existing = Meeting.objects.filter(unit=group, type=MeetingType.MONTHLY, period_start=month).first()
    if existing is not None:
        return existing, False
    points = [
        BridgePointIn(code, ATTENDEES.get(code, ""))
        for code in BridgePoint.objects.filter(is_active=True, unit__path__startswith=group.path)
        .order_by("code")
        .values_list("code", flat=True)
    ]
    meeting = services.meeting_create(
        actor=None,
        unit_code=group.code,
        type=MeetingType.MONTHLY,
        title=f"Giao ban điều hành sản xuất tháng {month.month}/{month.year}",
        starts_at=_at(_next_month(month).replace(day=MEETING_DAY), MEETING_HOUR),
        period_start=month,
        period_end=_month_end(month),
        chair=chair,
        bridge_points=points,
        agenda=[AgendaItemIn(title, section, presenter) for title, section, presenter in AGENDA],
    )
    return meeting, True


def _raise(meeting: Meeting, held: dt.date, company, title_index, text, days, priority, result):
    """A directive raised at the meeting on the day it sat (None when the demo has no such company)."""
    if not Unit.objects.filter(code=company).exists():
        return None
    directive = services.directive_create(
        actor=None,
        text=text,
        owner_unit_code=company,
        owner_person=_person(company, title_index),
        deadline=held + dt.timedelta(days=days),
        priority=priority,
        meeting=meeting,
        today=held,
        now=_at(held, 10),
    )
    result.directives += 1
    return directive


def _raise_directives(meeting: Meeting, today: dt.date, result: BriefingDemoResult) -> None:
    held = timezone.localtime(meeting.starts_at).date()
    for company, title_index, text, days, priority, fate in DIRECTIVES:
        directive = _raise(meeting, held, company, title_index, text, days, priority, result)
        if directive is None:
            continue
        deadline = directive.deadline
        latest = today - dt.timedelta(days=1)  # progress is never reported in the future
        if fate == "in_progress" and held + dt.timedelta(days=3) <= latest:
            services.directive_update_status(
                actor=None,
                directive=directive,
                status="in_progress",
                comment="Đã giao phân xưởng triển khai, đang thực hiện",
                now=_at(held + dt.timedelta(days=3), 14),
            )
        elif fate == "done" and held + dt.timedelta(days=2) <= latest:
            when = min(deadline - dt.timedelta(days=1), latest)
            services.directive_update_status(
                actor=None,
                directive=directive,
                status="done",
                comment="Đã hoàn thành",
                evidence=EVIDENCE,
                now=_at(when, 16),
            )
        elif fate == "cancelled" and held + dt.timedelta(days=2) <= latest:
            services.directive_update_status(
                actor=None,
                directive=directive,
                status="cancelled",
                comment="Gộp vào chỉ đạo kiểm tra an toàn chung của Tập đoàn",
                now=_at(held + dt.timedelta(days=2), 11),
            )


def _register_2021(group: Unit, chair, result: BriefingDemoResult) -> None:
    """The 2021 register: the 8 key tasks as the group set them, and the Q1/2021 briefing, closed, with its
    directives done."""
    _key_tasks(group, REGISTER_YEAR, result, KEY_TASKS_2021)
    title, start, end, held = BRIEFING_2021
    if Meeting.objects.filter(unit=group, period_start=start, period_end=end).exists():
        return
    points = [
        BridgePointIn(code, ATTENDEES.get(code, ""))
        for code in BridgePoint.objects.filter(is_active=True, unit__path__startswith=group.path)
        .order_by("code")
        .values_list("code", flat=True)
    ]
    agenda = [
        (
            "Tình hình thực hiện kế hoạch sản xuất quý I, lũy kế, so kế hoạch năm",
            Section.PRODUCTION,
            "Ban Điều khiển sản xuất",
        ),
        ("Công tác an toàn, phòng chống dịch COVID-19", Section.SAFETY, "Ban An toàn"),
        ("Tiến độ 8 nhiệm vụ trọng tâm năm 2021", Section.KEY_TASKS, "Ban Kế hoạch"),
        ("Ý kiến các đơn vị; kết luận của Chủ trì", Section.OTHER, "Chủ trì"),
    ]
    meeting = services.meeting_create(
        actor=None,
        unit_code=group.code,
        type=MeetingType.QUARTERLY,
        title=title,
        starts_at=_at(held, MEETING_HOUR),
        period_start=start,
        period_end=end,
        chair=chair,
        bridge_points=points,
        agenda=[AgendaItemIn(t, section, presenter) for t, section, presenter in agenda],
    )
    result.meetings += 1
    services.meeting_start(actor=None, meeting=meeting, now=meeting.starts_at)
    for company, title_index, text, days, priority in DIRECTIVES_2021:
        directive = _raise(meeting, held, company, title_index, text, days, priority, result)
        if directive is None:
            continue
        deadline = directive.deadline
        services.directive_update_status(
            actor=None,
            directive=directive,
            status="done",
            comment="Đã hoàn thành",
            evidence=EVIDENCE,
            now=_at(deadline - dt.timedelta(days=2), 16),
        )
    services.meeting_close(actor=None, meeting=meeting, now=meeting.starts_at + dt.timedelta(hours=3))


def load_briefing_demo(*, today: dt.date | None = None) -> BriefingDemoResult:
    """Key tasks of today's year, the last monthly briefings (closed) with their directives, the next one
    planned. Needs the organisation demo (group HFG, its bridge points and people)."""
    today = today or timezone.localdate()
    result = BriefingDemoResult()
    group = Unit.objects.filter(code=GROUP_CODE).first()
    if group is None:
        raise ValueError(f"load the organisation demo first: no unit {GROUP_CODE}")
    chair = get_user_model().objects.filter(username="planner").first()
    held, upcoming = meeting_months(today)
    with channel("system"), transaction.atomic():
        if today.year > REGISTER_YEAR:
            _register_2021(group, chair, result)
        _key_tasks(group, today.year, result)
        for month in held:
            meeting, created = _meeting(group, month, chair)
            if not created:
                continue
            result.meetings += 1
            start = meeting.starts_at
            services.meeting_start(actor=None, meeting=meeting, now=start)
            _raise_directives(meeting, today, result)
            services.meeting_close(actor=None, meeting=meeting, now=start + dt.timedelta(hours=3))
        _, created = _meeting(group, upcoming, chair)
        result.meetings += created
    result.statuses = directive_counts(None, on=today)
    return result
