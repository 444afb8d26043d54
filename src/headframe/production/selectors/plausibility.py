"""What a figure can be and what it is likely to be, from PlausibleRange data (planners edit it).

A unit's own range replaces the everywhere-range (unit empty) in its subtree; the nearest one wins, whole.
- *Impossible* (refused, type "impossible"): below `impossible_below` or above `impossible_above`. Below 0 is
  impossible for every indicator whatever the ranges say (stored figures are never negative: type "negative").
- *Implausible* (refused unless the person confirms, type "implausible"): a shift figure above `shift_above`,
  a day figure (shift 0) above `day_above`, or above `best_multiple` × the same unit's best shift (for a shift
  figure) or best day (for a day figure) of the 90 days before the figure's day.
A figure equal to the one already stored is not judged implausible again (re-sending changes nothing).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Q
from django.utils.translation import gettext as _

from headframe.core.errors import ErrorItem
from headframe.core.formatting import format_exact
from headframe.core.messages import named
from headframe.org.roles import Perm
from headframe.org.selectors import ancestor_paths, scope_for
from headframe.production.models import Actual, DailyTotal, PlausibleRange

BEST_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Bounds:
    impossible_below: Decimal | None = None
    impossible_above: Decimal | None = None
    shift_above: Decimal | None = None
    day_above: Decimal | None = None
    best_multiple: Decimal | None = None


def bounds_for(pairs) -> dict[tuple[int, int], Bounds | None]:
    """(unit, indicator) pairs → the range that holds there (the nearest unit's, else the everywhere one).
    One query."""
    pairs = list(pairs)
    if not pairs:
        return {}
    paths = {p for unit, _i in pairs for p in ancestor_paths(unit.path)}
    found: dict[tuple[int, str | None], Bounds] = {}
    for row in PlausibleRange.objects.filter(
        Q(unit__isnull=True) | Q(unit__path__in=paths), indicator_id__in={i.pk for _u, i in pairs}
    ).values(
        "indicator_id",
        "unit__path",
        "impossible_below",
        "impossible_above",
        "shift_above",
        "day_above",
        "best_multiple",
    ):
        key = (row.pop("indicator_id"), row.pop("unit__path"))
        found[key] = Bounds(**row)
    out = {}
    for unit, indicator in pairs:
        nearest = [p for p in ancestor_paths(unit.path) if (indicator.pk, p) in found]
        out[(unit.pk, indicator.pk)] = (
            found[(indicator.pk, nearest[-1])] if nearest else found.get((indicator.pk, None))
        )
    return out


def _shown(value: Decimal) -> str:
    return format_exact(value)


def _best_values(rows, wanted: list[int]) -> dict[int, Decimal]:
    """Row index → the unit's best shift (shift rows) or best day (day rows) of the 90 days before the row's
    day. Two queries."""
    if not wanted:
        return {}
    units = {rows[n][0].pk for n in wanted}
    indicators = {rows[n][1].pk for n in wanted}
    days = [rows[n][2] for n in wanted]
    span = (min(days) - dt.timedelta(days=BEST_WINDOW_DAYS), max(days) - dt.timedelta(days=1))
    shift_best: dict[tuple, list] = defaultdict(list)
    if any(rows[n][3] for n in wanted):
        for unit_id, indicator_id, day, best in (
            Actual.objects.filter(
                unit_id__in=units, indicator_id__in=indicators, shift__gt=0, day__range=span
            )
            .values_list("unit_id", "indicator_id", "day")
            .annotate(best=Max("value"))
        ):
            shift_best[(unit_id, indicator_id)].append((day, best))
    day_best: dict[tuple, list] = defaultdict(list)
    if any(not rows[n][3] for n in wanted):
        for unit_id, indicator_id, day, value in DailyTotal.objects.filter(
            unit_id__in=units, indicator_id__in=indicators, day__range=span
        ).values_list("unit_id", "indicator_id", "day", "value"):
            day_best[(unit_id, indicator_id)].append((day, value))
    out = {}
    for n in wanted:
        unit, indicator, day, shift = rows[n][:4]
        series = (shift_best if shift else day_best).get((unit.pk, indicator.pk), ())
        start = day - dt.timedelta(days=BEST_WINDOW_DAYS)
        values = [v for d, v in series if start <= d < day]
        if values:
            out[n] = max(values)
    return out


def plausibility_check(rows, confirmed: set[int]) -> tuple[list[ErrorItem], dict[int, str]]:
    """Judge (unit, indicator, day, shift, value, loc) rows: the errors (impossible values; implausible ones
    whose index is not in `confirmed`) and, for confirmed implausible rows, index → why it was implausible
    (for the audit log)."""
    errors: list[ErrorItem] = []
    confirmed_reasons: dict[int, str] = {}
    if not rows:
        return errors, confirmed_reasons
    bounds = bounds_for({(r[0], r[1]) for r in rows})
    days = [r[2] for r in rows]
    stored = {
        (unit_id, indicator_id, day, shift): value
        for unit_id, indicator_id, day, shift, value in Actual.objects.filter(
            unit_id__in={r[0].pk for r in rows},
            indicator_id__in={r[1].pk for r in rows},
            day__range=(min(days), max(days)),
        ).values_list("unit_id", "indicator_id", "day", "shift", "value")
    }
    pending: list[int] = []
    for n, (unit, indicator, _day, _shift, value, loc) in enumerate(rows):
        if value < 0:
            errors.append(ErrorItem((*loc, "value"), "", "negative", {"value": value}, "negative.value"))
            continue
        b = bounds.get((unit.pk, indicator.pk))
        if b is None:
            continue
        params = {"value": value, "uom": indicator.unit_of_measure, "indicator": named(indicator)}
        if b.impossible_below is not None and value < b.impossible_below:
            errors.append(
                ErrorItem(
                    (*loc, "value"),
                    type="impossible",
                    params={**params, "bound": b.impossible_below},
                    key="impossible.below",
                )
            )
            continue
        if b.impossible_above is not None and value > b.impossible_above:
            errors.append(
                ErrorItem(
                    (*loc, "value"),
                    type="impossible",
                    params={**params, "bound": b.impossible_above},
                    key="impossible.above",
                )
            )
            continue
        pending.append(n)
    needs_best = [n for n in pending if bounds[(rows[n][0].pk, rows[n][1].pk)].best_multiple]
    best = _best_values(rows, needs_best)
    for n in pending:
        unit, indicator, day, shift, value, loc = rows[n]
        if stored.get((unit.pk, indicator.pk, day, shift)) == value:
            continue  # already stored as it is: accepted once, re-sending changes nothing
        b = bounds[(unit.pk, indicator.pk)]
        above = b.shift_above if shift else b.day_above
        reason = key = None
        if above is not None and value > above:
            reason = (_("%(bound)s per shift") if shift else _("%(bound)s per day")) % {
                "bound": _shown(above)
            }
            key, why = ("implausible.shift_above" if shift else "implausible.day_above"), {"bound": above}
        elif b.best_multiple and n in best and value > b.best_multiple * best[n]:
            template = (
                _("%(multiple)s × the best shift of the last 90 days (%(best)s)")
                if shift
                else _("%(multiple)s × the best day of the last 90 days (%(best)s)")
            )
            reason = template % {"multiple": _shown(b.best_multiple), "best": _shown(best[n])}
            key = "implausible.best_shift" if shift else "implausible.best_day"
            why = {"multiple": b.best_multiple, "best": best[n]}
        if reason is None:
            continue
        if n in confirmed:
            confirmed_reasons[n] = reason
            continue
        errors.append(
            ErrorItem(
                (*loc, "value"),
                type="implausible",
                params={
                    "value": value,
                    "uom": indicator.unit_of_measure,
                    "indicator": named(indicator),
                    "unit": unit.code,
                    **why,
                },
                key=key,
            )
        )
    return errors, confirmed_reasons


def ranges_visible(actor, unit=None):
    """The ranges an actor may read: everywhere-ranges and those of units in view; with `unit`, only those
    that bear on it (everywhere, its own and its ancestors', and those in its subtree)."""
    qs = PlausibleRange.objects.select_related("indicator", "unit").filter(
        Q(unit__isnull=True) | scope_for(actor).q(Perm.VIEW, "unit__path")
    )
    if unit is not None:
        qs = qs.filter(
            Q(unit__isnull=True)
            | Q(unit__path__in=ancestor_paths(unit.path))
            | Q(unit__path__startswith=unit.path)
        )
    return qs.order_by("indicator__sort_order", "indicator__code", "unit__path")
