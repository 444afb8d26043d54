"""Period locks (a closed month) and deviations (why a unit missed its plan)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.dates import check_day, day_in_range, out_of_range_item
from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.text import check_clean_text
from headframe.org.roles import Perm
from headframe.production import selectors
from headframe.production.models import Deviation, Indicator, LostTimeCategory, PeriodLock
from headframe.production.services._common import _unit_for
from headframe.production.values import _as_decimal


@transaction.atomic
def period_lock(*, actor, unit_code: str, month: dt.date) -> PeriodLock:
    unit = _unit_for(actor, unit_code, Perm.PLAN, refusal="permission_denied.close_months")
    check_day(month, loc=("body", "month"))
    lock, created = PeriodLock.objects.get_or_create(
        unit=unit,
        month=month.replace(day=1),
        defaults={"locked_by": actor if getattr(actor, "pk", None) else None},
    )
    if created:
        audit_record(
            actor=actor, action="create", obj=lock, unit_path=unit.path, after={"month": f"{month:%m/%Y}"}
        )
    return lock


@transaction.atomic
def deviation_record(
    *,
    actor,
    unit_code: str,
    indicator_code: str,
    day: dt.date,
    category: str,
    lost_hours,
    shift: int = 0,
    note: str = "",
) -> Deviation:
    """Why a unit missed its plan: a coded reason, lost hours and a note. The shortfall against the day's
    plan is computed now and kept, so the month's top reasons can be ranked by tonnes lost."""
    unit = _unit_for(actor, unit_code, Perm.REPORT, refusal="permission_denied.report_for")
    indicator = Indicator.objects.filter(code=indicator_code).first()
    errors = []
    if indicator is None:
        errors.append(
            ErrorItem(
                ("body", "indicator"),
                "",
                "unknown_indicator",
                {"indicator": repr(indicator_code)},
                "unknown_indicator.named",
            )
        )
    if category not in LostTimeCategory.values:
        errors.append(
            ErrorItem(
                ("body", "category"),
                type="enum",
                params={"category": repr(category), "expected": list(LostTimeCategory.values)},
                key="enum.reason",
            )
        )
    try:
        check_clean_text(note, loc=("body", "note"), multiline=True, label="the note")
    except ValidationFailed as exc:
        errors.extend(exc.items)
    hours = _as_decimal(lost_hours)
    if hours is None or not Decimal(0) <= hours <= Decimal(24):
        errors.append(ErrorItem(("body", "lost_hours"), "", "range", {}, "range.lost_hours"))
    if not day_in_range(day):
        errors.append(out_of_range_item(("body", "day"), day))
    elif day > timezone.localdate():
        errors.append(ErrorItem(("body", "day"), "", "future_day", {"day": day}, "future_day.day"))
    if errors:
        raise ValidationFailed(items=errors)
    figures = selectors.day_figures(unit, indicator, day)
    shortfall = max((figures.plan or Decimal(0)) - (figures.actual or Decimal(0)), Decimal(0))
    deviation = Deviation.objects.create(
        unit=unit,
        indicator=indicator,
        day=day,
        shift=shift,
        category=category,
        lost_hours=hours,
        shortfall=shortfall,
        note=note,
        entered_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="create",
        obj=deviation,
        unit_path=unit.path,
        after={"category": category, "lost_hours": str(hours), "shortfall": str(shortfall), "note": note},
    )
    return deviation
