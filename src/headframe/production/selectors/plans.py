"""The plan series: a unit's plan versions (or its planned descendants'), spread over working days."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from headframe.org.models import Unit
from headframe.org.selectors import ancestor_paths
from headframe.production.calendar import working_days
from headframe.production.models import Aggregation, Indicator, PlanMonth, PlanVersion
from headframe.production.selectors.reads import holidays_by_path, holidays_of_path
from headframe.production.selectors.results import ZERO
from headframe.production.selectors.totals import Buckets


@dataclass
class _PlanSeries:
    """Plans of one year per (bucket, indicator): cumulative daily plan of additive indicators (a range sum
    is two lookups), and monthly levels of averages. Each planned unit counts with one approved version:
    the one in force on the summary's date (an adjusted plan replaces the original for the whole year, as
    the approved document does), or its original version."""

    year: int
    cumulative: dict = field(default_factory=dict)  # (bucket, ind) → [Σ plan of days before day-of-year i]
    levels: dict = field(
        default_factory=lambda: defaultdict(dict)
    )  # (bucket, ind) → {month: [(level, weight)]}
    adjusted: set = field(
        default_factory=set
    )  # (bucket, ind) with a unit whose version in force is not its first

    def index(self, day: dt.date) -> int:
        return (day - dt.date(self.year, 1, 1)).days


IN_FORCE, ORIGINAL = "in force", "original"


def _plan_series(
    root: Unit, indicators: list[Indicator], year: int, bucket: Buckets, on: dt.date | None = None
) -> _PlanSeries:
    return _plan_series_many(root, indicators, year, {"main": bucket}, on=on)["main"]


@dataclass
class _PlanInputs:
    """One read of a year's plan versions under a root, shared by every series built from them."""

    year: int
    by_unit: dict  # unit path → [PlanVersion] by effective date
    months: dict  # version id → {(indicator id, month): value}
    planned: dict  # indicator id → unit paths with a plan for it
    aggregation: dict  # indicator id → aggregation
    weight_of: dict  # indicator id → weight indicator id
    holiday_paths: dict  # see reads.holidays_by_path

    @property
    def any_adjusted(self) -> bool:
        return any(len(versions) > 1 for versions in self.by_unit.values())


def _plan_inputs(root: Unit, indicators: list[Indicator], year: int) -> _PlanInputs:
    base_ids = _base_indicator_ids(indicators)
    versions = list(
        PlanVersion.objects.filter(unit__path__startswith=root.path, year=year)
        .select_related("unit")
        .order_by("effective_from", "pk")
    )
    inputs = _PlanInputs(year, defaultdict(list), defaultdict(dict), defaultdict(set), {}, {}, {})
    if not versions:
        return inputs
    for version_id, indicator_id, month, value in PlanMonth.objects.filter(
        version__in=versions, indicator_id__in=base_ids
    ).values_list("version_id", "indicator_id", "month", "value"):
        inputs.months[version_id][(indicator_id, month)] = value
    for version in versions:
        inputs.by_unit[version.unit.path].append(version)
    for path, unit_versions in inputs.by_unit.items():
        for version in unit_versions:
            for indicator_id, _m in inputs.months[version.pk]:
                inputs.planned[indicator_id].add(path)
    inputs.holiday_paths = holidays_by_path(year)
    for pk, agg, weight_id in Indicator.objects.filter(pk__in=base_ids).values_list(
        "pk", "aggregation", "weight_id"
    ):
        inputs.aggregation[pk], inputs.weight_of[pk] = agg, weight_id
    return inputs


def _plan_series_many(
    root: Unit,
    indicators: list[Indicator],
    year: int,
    bucketings: dict,
    *,
    on: dt.date | None = None,
    which: str = IN_FORCE,
    inputs: _PlanInputs | None = None,
) -> dict:
    """One _PlanSeries per bucketing, from one read of the plan versions (or the `inputs` read already).
    `on` picks the version in force (default: the end of the year); `which=ORIGINAL` takes each unit's first
    version instead."""
    on = on or dt.date(year, 12, 31)
    inputs = inputs or _plan_inputs(root, indicators, year)
    out = {name: _PlanSeries(year=year) for name in bucketings}
    if not inputs.by_unit:
        return out
    by_unit, months, planned = inputs.by_unit, inputs.months, inputs.planned
    aggregation, weight_of, holiday_paths = inputs.aggregation, inputs.weight_of, inputs.holiday_paths
    year_length = (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1
    first_ordinal = dt.date(year, 1, 1).toordinal()
    indicators_of = {pk: {k[0] for k in figures} for pk, figures in months.items()}
    for name, bucket in bucketings.items():
        series = out[name]
        # (key, indicator) → {holidays: {month: Σ per-day rate}}: units with the same holidays are spread
        # over the days together.
        spread: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: ZERO)))
        for indicator_id, paths in planned.items():
            # A unit's own plan stands for its subtree, within a bucket: a planned ancestor in the same
            # bucket replaces its descendants' plans, one in another bucket (or none) does not.
            keyed = {p: bucket(p) for p in paths}
            top = [p for p in paths if keyed[p] is not None and not _has_planned_ancestor(p, keyed)]
            for path in top:
                key = keyed[path]
                unit_versions = [v for v in by_unit[path] if indicator_id in indicators_of[v.pk]]
                version = unit_versions[0] if which == ORIGINAL else _in_force(unit_versions, on)
                if version is not unit_versions[0]:
                    series.adjusted.add((key, indicator_id))
                figures = months[version.pk]
                additive = aggregation[indicator_id] == Aggregation.SUM
                holidays = holidays_of_path(holiday_paths, path) if additive else None
                for month in range(1, 13):
                    value = figures.get((indicator_id, month))
                    if value is None:
                        continue
                    if not additive:
                        weight = figures.get((weight_of[indicator_id], month)) or ZERO
                        series.levels[(key, indicator_id)].setdefault(month, []).append((value, weight))
                        continue
                    work = working_days(year, month, holidays)
                    if work:  # the month's figure spread over its working days
                        spread[(key, indicator_id)][holidays][month] += value / len(work)
        for key, by_holidays in spread.items():
            rates = [ZERO] * year_length
            for holidays, by_month in by_holidays.items():
                for month, per_day in by_month.items():
                    for day in working_days(year, month, holidays):
                        rates[day.toordinal() - first_ordinal] += per_day
            total, cumulative = ZERO, [ZERO]
            for rate in rates:
                total += rate
                cumulative.append(total)
            series.cumulative[key] = cumulative
    return out


def _has_planned_ancestor(path: str, keyed: dict[str, str | None]) -> bool:
    """Whether a unit above `path` has a plan of its own in the same bucket."""
    return any(keyed[ancestor] == keyed[path] for ancestor in ancestor_paths(path)[:-1] if ancestor in keyed)


def _in_force(versions: list[PlanVersion], day: dt.date) -> PlanVersion:
    """The version in force on a day: the latest effective on or before it (the first one before that)."""
    current = versions[0]
    for version in versions:
        if version.effective_from <= day:
            current = version
    return current


def _base_indicator_ids(indicators: list[Indicator]) -> set[int]:
    ids = set()
    for i in indicators:
        if i.aggregation == Aggregation.RATIO:
            ids |= {i.numerator_id, i.denominator_id}
        else:
            ids.add(i.pk)
        if i.weight_id:
            ids.add(i.weight_id)
    return ids


def _plan_sum(series: _PlanSeries, key, indicator_id, start: dt.date, end: dt.date) -> Decimal | None:
    cumulative = series.cumulative.get((key, indicator_id))
    if cumulative is None:
        return None
    first, last = max(series.index(start), 0), min(series.index(end), len(cumulative) - 2)
    if last < first:
        return ZERO
    total = cumulative[last + 1] - cumulative[first]
    return total.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _plan_value(indicator, series, key, start, end) -> Decimal | None:
    if indicator.aggregation == Aggregation.RATIO:
        num = _plan_value(indicator.numerator, series, key, start, end)
        den = _plan_value(indicator.denominator, series, key, start, end)
        return (num / den).quantize(Decimal("0.0001")) if num is not None and den else None
    if indicator.aggregation == Aggregation.SUM:
        return _plan_sum(series, key, indicator.pk, start, end)
    levels = series.levels.get((key, indicator.pk))
    if not levels:
        return None
    if indicator.aggregation == Aggregation.LAST:
        # Like the actual: each planned unit's level at the end of the period, added up.
        at_end = levels.get(end.month)
        return sum((level for level, _w in at_end), ZERO) if at_end else None
    pairs = [
        pair for m, month_pairs in levels.items() if start.month <= m <= end.month for pair in month_pairs
    ]
    if not pairs:
        return None
    total_weight = sum((w for _level, w in pairs), ZERO)
    if indicator.aggregation == Aggregation.WEIGHTED_AVERAGE and total_weight:
        # Like the actual: weighted by the weight indicator's plan (clean-coal tonnes weigh the ash target).
        return (sum((level * w for level, w in pairs), ZERO) / total_weight).quantize(Decimal("0.0001"))
    return (sum((level for level, _w in pairs), ZERO) / len(pairs)).quantize(Decimal("0.0001"))
