"""Plausible ranges: what planners set as impossible or implausible for an indicator at a unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from headframe.core.errors import ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.messages import named
from headframe.core.services import audited_create, audited_update
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.models import Indicator, PlausibleRange
from headframe.production.services._common import _unit_for
from headframe.production.values import FigureError, parse_figure

RANGE_FIELDS = ("impossible_below", "impossible_above", "shift_above", "day_above", "best_multiple")


def _group_root() -> Unit | None:
    return Unit.objects.filter(parent__isnull=True).order_by("pk").first()


def plausible_range_set(
    *, actor, indicator_code: str, unit_code: str | None = None, **bounds
) -> PlausibleRange:
    """Create or replace the plausible range of an indicator at a unit (its subtree; the nearest range wins)
    or, without a unit, everywhere. Needs the planner's right on the unit — on the whole group for an
    everywhere-range. `bounds` are the RANGE_FIELDS (None: no bound); a field left out is cleared. Audited."""
    unknown = set(bounds) - set(RANGE_FIELDS)
    if unknown:
        raise TypeError(f"unknown bounds {sorted(unknown)}")
    if unit_code:
        unit = _unit_for(
            actor,
            unit_code,
            Perm.PLAN,
            refusal="permission_denied.plausible_ranges",
        )
        path = unit.path
    else:
        unit, root = None, _group_root()
        path = root.path if root else "/"
        if not scope_for(actor).allows(Perm.PLAN, path):
            raise PermissionDenied(loc=("body", "unit"), params={}, key="permission_denied.range_everywhere")
    errors: list[ErrorItem] = []
    indicator = Indicator.objects.filter(code=indicator_code).first()
    if indicator is None:
        errors.append(
            ErrorItem(
                ("body", "indicator"),
                type="unknown_indicator",
                params={"indicator": repr(indicator_code)},
                key="unknown_indicator.named",
            )
        )
    elif indicator.is_derived:
        errors.append(
            ErrorItem(
                ("body", "indicator"),
                type="derived_indicator",
                params={"indicator": named(indicator)},
                key="derived_indicator.entered",
            )
        )
    values: dict[str, Decimal | None] = {}
    for name in RANGE_FIELDS:
        raw = bounds.get(name)
        if raw is None:
            values[name] = None
            continue
        try:
            values[name] = parse_figure(raw)
        except FigureError as exc:
            errors.append(exc.item(("body", name)))
    low, high = values.get("impossible_below"), values.get("impossible_above")
    if low is not None and high is not None and low >= high:
        errors.append(
            ErrorItem(
                ("body", "impossible_above"),
                type="range_order",
                params={"low": low},
                key="range_order.impossible",
            )
        )
    for name in ("shift_above", "day_above", "best_multiple"):
        value = values.get(name)
        if value is not None and value <= 0:
            errors.append(ErrorItem(("body", name), type="range", params={}, key="range.above_zero"))
    multiple = values.get("best_multiple")
    if multiple is not None:
        values["best_multiple"] = multiple.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if values["best_multiple"] != multiple or multiple >= 10_000:
            errors.append(
                ErrorItem(("body", "best_multiple"), type="range", params={}, key="range.best_multiple")
            )
    if errors:
        raise ValidationFailed(items=errors)
    current = PlausibleRange.objects.filter(indicator=indicator, unit=unit).first()
    with transaction.atomic():
        if current is None:
            return audited_create(
                actor=actor, obj=PlausibleRange(indicator=indicator, unit=unit, **values), unit_path=path
            )
        audited_update(actor=actor, obj=current, changes=values, unit_path=path)
    return current
