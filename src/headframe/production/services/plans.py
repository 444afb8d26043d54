"""Plan versions: a unit's approved plan for a year, by month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from headframe.core.audit import audit_record
from headframe.core.dates import check_day
from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.messages import named
from headframe.core.text import check_clean_text
from headframe.org.roles import Perm
from headframe.production import selectors
from headframe.production.calendar import split_by_working_days
from headframe.production.models import Indicator, PlanMonth, PlanVersion
from headframe.production.services._common import _unit_for
from headframe.production.values import FigureError, parse_figure


@transaction.atomic
def plan_version_create(
    *,
    actor,
    unit_code: str,
    year: int,
    effective_from: dt.date,
    values: dict[str, Decimal | list],
    kind: str = PlanVersion.Kind.ORIGINAL,
    note: str = "",
) -> PlanVersion:
    """Approve a plan version. `values` maps indicator code to an annual figure (split into months by
    working days) or to a list of twelve monthly figures (explicit split)."""
    unit = _unit_for(actor, unit_code, Perm.PLAN, refusal="permission_denied.approve_plans")
    check_day(effective_from, loc=("body", "effective_from"))
    check_clean_text(note, loc=("body", "note"), multiline=True, label="the note")
    if effective_from.year != year:
        raise ValidationFailed(
            loc=("body", "effective_from"),
            type="year_mismatch",
            params={"year": str(year)},
            key="year_mismatch.plan",
        )
    if not values:
        raise ValidationFailed(loc=("body", "values"), type="missing", params={}, key="missing.indicator")
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=values)}
    holidays = selectors.holidays_in(year)
    months_by_indicator: dict[Indicator, list[Decimal]] = {}
    errors = []
    for code, figure in values.items():
        loc = ("body", "values", code)
        indicator = indicators.get(code)
        if indicator is None:
            errors.append(
                ErrorItem(loc, "", "unknown_indicator", {"indicator": repr(code)}, "unknown_indicator.named")
            )
            continue
        if indicator.is_derived:
            errors.append(
                ErrorItem(
                    loc, "", "derived_indicator", {"indicator": named(indicator)}, "derived_indicator.plan"
                )
            )
            continue
        try:
            if isinstance(figure, list | tuple):
                if len(figure) != 12:
                    errors.append(ErrorItem(loc, "", "months", {"count": len(figure)}, "months.count"))
                    continue
                monthly = [parse_figure(v) for v in figure]
            else:
                monthly = split_by_working_days(parse_figure(figure), year, holidays)
        except FigureError as exc:
            errors.append(exc.item(loc))
            continue
        if any(v < 0 for v in monthly):
            errors.append(ErrorItem(loc, "", "negative", {}, "negative.plan"))
        else:
            months_by_indicator[indicator] = monthly
    if errors:
        raise ValidationFailed(items=errors)
    if PlanVersion.objects.filter(unit=unit, year=year, effective_from=effective_from).exists():
        raise ValidationFailed(
            loc=("body", "effective_from"),
            type="duplicate_version",
            params={"unit": unit.code, "year": str(year), "day": effective_from},
            key="duplicate_version.plan",
        )
    version = PlanVersion.objects.create(
        unit=unit,
        year=year,
        kind=kind,
        effective_from=effective_from,
        approved_by=actor if getattr(actor, "pk", None) else None,
        note=note,
    )
    PlanMonth.objects.bulk_create(
        PlanMonth(version=version, indicator=indicator, month=m + 1, value=value)
        for indicator, monthly in months_by_indicator.items()
        for m, value in enumerate(monthly)
    )
    audit_record(
        actor=actor,
        action="create",
        obj=version,
        unit_path=unit.path,
        after={
            "year": year,
            "kind": kind,
            "effective_from": effective_from.isoformat(),
            "annual": {i.code: str(sum(m)) for i, m in months_by_indicator.items()},
        },
    )
    return version
