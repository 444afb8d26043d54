"""A figure's value, with no reads or writes: what may be stored (parse_figure), at what precision, and a
day's figure from its shift figures (summed, averaged, last, or weighted)."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from headframe.core.errors import ErrorItem
from headframe.production.models import Aggregation, Indicator

QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)
MAX_VALUE = Decimal("1e15")


_FIGURE_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


class FigureError(ValueError):
    """Why a value is not a storable figure: `msg` for people, `type` for programs."""

    def __init__(self, msg: str, type: str, key: str = "", params: dict | None = None):
        super().__init__(msg)
        self.msg, self.type, self.key, self.params = msg, type, key, params

    def item(self, loc) -> ErrorItem:
        return ErrorItem(tuple(loc), "", self.type, self.params, self.key)


def parse_figure(value) -> Decimal:
    """A figure as stored (quantized to QUANTUM), or FigureError: not a number, beyond MAX_VALUE in size, or
    a non-zero value that would be stored as 0 at the stored precision."""
    number = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        number = Decimal(repr(value))
    elif isinstance(value, str) and len(value) <= 40 and _FIGURE_TEXT.fullmatch(value.strip(" ")):
        number = Decimal(value.strip(" "))
    if number is None or not number.is_finite():
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
        raise FigureError(
            f"not a number: {shown!r}", "not_a_number", "not_a_number.value", {"value": repr(shown)}
        )
    if abs(number) >= MAX_VALUE:
        raise FigureError(
            f"value {number:.4g} is implausibly large (a figure is below 10^15)",
            "too_large",
            "too_large.figure",
            {"value": f"{number:.4g}"},
        )
    stored = number.quantize(QUANTUM, rounding=ROUND_HALF_UP)
    if number and not stored:
        raise FigureError(
            f"value {number:g} is below the stored precision ({_plain(QUANTUM)}): it would be stored as 0",
            "below_precision",
            "below_precision.value",
            {"value": number, "precision": QUANTUM.normalize()},
        )
    return stored


def _as_decimal(value) -> Decimal | None:
    """parse_figure for callers that only need "a number or not"."""
    try:
        return parse_figure(value)
    except FigureError:
        return None


def _plain(value: Decimal) -> str:
    """'100', '120.5' — no exponent, no trailing zeros (Decimal.normalize alone gives '1E+2')."""
    return format(value.normalize(), "f")


def day_values(shift_values: dict, indicators: dict[int, Indicator], keys) -> dict[tuple, Decimal]:
    """Each (unit, indicator, day) key's daily figure from its shift figures ({key: [(shift, value)]}):
    summed, averaged, the last shift's, or — for a weighted average — weighted by the weight indicator's
    figures of the same shifts (clean-coal tonnes weigh each shift's ash)."""
    out = {}
    for key in keys:
        values = shift_values.get(key)
        if not values:
            continue
        indicator = indicators[key[1]]
        weights = None
        if indicator.aggregation == Aggregation.WEIGHTED_AVERAGE:
            weights = dict(shift_values.get((key[0], indicator.weight_id, key[2]), ()))
        out[key] = day_value(indicator.aggregation, values, weights)
    return out


def day_value(
    aggregation: str, shift_values: list[tuple[int, Decimal]], weights: dict | None = None
) -> Decimal:
    """A day's figure from its shifts: summed, averaged, the last shift's value, or weighted by the weight
    indicator's figure of each shift (plain mean when the weights are missing)."""
    ordered = sorted(shift_values)
    values = [v for _s, v in ordered]
    if aggregation == Aggregation.SUM:
        return sum(values, Decimal(0))
    if aggregation == Aggregation.LAST:
        return values[-1]
    if aggregation == Aggregation.WEIGHTED_AVERAGE and weights:
        total_weight = sum((weights.get(s, ZERO) for s, _v in ordered), ZERO)
        if total_weight and all(s in weights for s, _v in ordered):
            weighted = sum((v * weights[s] for s, v in ordered), ZERO)
            return (weighted / total_weight).quantize(QUANTUM, rounding=ROUND_HALF_UP)
    return (sum(values, Decimal(0)) / len(values)).quantize(QUANTUM, rounding=ROUND_HALF_UP)
