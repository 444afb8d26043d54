"""The holiday calendar: non-working days on which no daily plan falls (Tết, national days, a company's own
day off). A holiday without a unit holds for the whole group; with one, for that unit's subtree.

Selectors list a year's holidays as they hold at a unit (the group's and those of the unit and the units
above it). Services add and remove one: only a planner of the unit it holds for (of the group, for a
group-wide day) may, never in a month closed anywhere the day would change plans, and every write is audited
under the unit's path like any other write to production reference data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from headframe.core.audit import audit_record, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.text import check_clean_text
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import ancestor_paths, scope_for, unit_named
from headframe.production.models import Holiday, PeriodLock

NAME_MAX = 100


# --- selectors -----------------------------------------------------------------------------------------


def group_root() -> Unit | None:
    """The unit a group-wide holiday is filed under (for permissions and the audit log)."""
    return Unit.objects.filter(kind=UnitKind.GROUP).order_by("depth", "code").first()


def holidays_at(year: int, unit: Unit | None = None) -> list[Holiday]:
    """The year's holidays that hold at `unit`: the group's and those of the unit and the units above it,
    by day (the group's first on a day both declare). Without a unit: the group's only."""
    scope = Q(unit__isnull=True)
    if unit is not None:
        scope |= Q(unit__path__in=ancestor_paths(unit.path))
    return list(
        Holiday.objects.filter(scope, day__year=year)
        .select_related("unit")
        .order_by("day", "unit__depth", "unit__code")
    )


def holiday_get(user, holiday_id: int) -> Holiday:
    """A holiday the user may see: group-wide, or holding somewhere in view (its unit or a unit below it);
    any other id answers as unknown."""
    holiday = Holiday.objects.filter(pk=holiday_id).select_related("unit").first()
    if holiday is None or (
        holiday.unit is not None
        and not Unit.objects.filter(scope_for(user).q(Perm.VIEW), path__startswith=holiday.unit.path).exists()
    ):
        raise NotFound(
            loc=("path", "holiday_id"),
            type="not_found",
            params={"holiday": str(holiday_id)},
            key="not_found.holiday",
        )
    return holiday


def can_plan_holidays(user, unit: Unit | None) -> bool:
    """May the user add or remove holidays of `unit` (None: group-wide ones)?"""
    target = unit if unit is not None else group_root()
    return target is not None and scope_for(user).allows(Perm.PLAN, target.path)


@dataclass(frozen=True)
class HolidayRow:
    holiday: Holiday
    can_remove: bool


def holiday_rows(user, year: int, unit: Unit | None) -> list[HolidayRow]:
    """holidays_at with, per row, whether the user may remove it (for the page)."""
    return [HolidayRow(h, can_plan_holidays(user, h.unit)) for h in holidays_at(year, unit)]


# --- services ------------------------------------------------------------------------------------------


def _target(actor, unit_code: str | None, *, loc: tuple, what: str) -> tuple[Unit | None, Unit]:
    """(the unit to store: None for the group, the unit the write is filed under), after the permission check.
    Naming the group itself means the whole group."""
    unit = unit_named(actor, unit_code, loc=loc) if unit_code else None
    if unit is not None and unit.kind == UnitKind.GROUP and unit.depth == 0:
        unit = None
    return unit, _require_planner(actor, unit, loc=loc, what=what)


def _require_planner(actor, unit: Unit | None, *, loc: tuple, what: str) -> Unit:
    """The unit a write to `unit`'s holidays is filed under (the group root for group-wide ones), once the
    actor is known to plan there."""
    filed = unit if unit is not None else group_root()
    if filed is None:
        raise ValidationFailed(loc=loc, type="unknown_unit", params={}, key="unknown_unit.no_group")
    if not scope_for(actor).allows(Perm.PLAN, filed.path):
        whose = "unit" if unit is not None else "group"
        raise PermissionDenied(
            loc=loc, params={"unit": filed.code}, key=f"permission_denied.{what}_holidays_{whose}"
        )
    return filed


def _check_open(day: dt.date, unit: Unit | None, *, loc: tuple) -> None:
    """A holiday changes the daily plans of every unit it holds for: refuse it in a month closed at the unit,
    above it or anywhere below it (anywhere at all for a group-wide day)."""
    locks = PeriodLock.objects.filter(month=day.replace(day=1))
    if unit is not None:
        locks = locks.filter(
            Q(unit__path__in=ancestor_paths(unit.path)) | Q(unit__path__startswith=unit.path)
        )
    lock = locks.select_related("unit").order_by("unit__depth").first()
    if lock is not None:
        raise Conflict(
            loc=loc,
            type="month_locked",
            params={"month": f"{day:%m/%Y}", "unit": lock.unit.code},
            key="month_locked.holiday",
        )


@transaction.atomic
def holiday_add(*, actor, day: dt.date, name: str, unit_code: str | None = None) -> Holiday:
    """Declare a non-working day for the whole group (no unit, or the group's code) or for a unit's subtree."""
    unit, filed = _target(actor, unit_code, loc=("body", "unit"), what="add")
    check_day(day, loc=("body", "day"))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(loc=("body", "name"), type="missing", params={}, key="missing.holiday_name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            loc=("body", "name"),
            type="string_too_long",
            params={"length": len(name), "max": NAME_MAX},
            key="string_too_long.holiday_name",
        )
    check_clean_text(name, loc=("body", "name"), label="the name")
    holding = [h for h in holidays_at(day.year, unit) if h.day == day]
    if holding:
        params = {"day": day, "name": holding[0].name}
        if holding[0].unit_id:
            params["unit"] = holding[0].unit.code
        raise Conflict(
            loc=("body", "day"),
            type="holiday_exists",
            params=params,
            key="holiday_exists.unit" if holding[0].unit_id else "holiday_exists.group",
        )
    _check_open(day, unit, loc=("body", "day"))
    holiday = Holiday(day=day, name=name, unit=unit)
    holiday.full_clean()
    holiday.save()
    audit_record(actor=actor, action="create", obj=holiday, unit_path=filed.path, after=snapshot(holiday))
    return holiday


@transaction.atomic
def holiday_remove(*, actor, holiday: Holiday) -> None:
    """Make a holiday a working day again (its daily plans come back)."""
    holiday = (
        Holiday.objects.select_for_update(of=("self",)).select_related("unit").filter(pk=holiday.pk).first()
    )
    if holiday is None:
        raise NotFound(loc=("path", "holiday_id"), type="not_found", params={}, key="not_found.holiday_gone")
    filed = _require_planner(actor, holiday.unit, loc=("path", "holiday_id"), what="remove")
    _check_open(holiday.day, holiday.unit, loc=("path", "holiday_id"))
    before = snapshot(holiday)
    audit_record(actor=actor, action="delete", obj=holiday, unit_path=filed.path, before=before)
    holiday.delete()
