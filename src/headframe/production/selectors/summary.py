"""The summary engine: plan versus actual for a subtree on a day, by period, bucketed as asked.

See the package docstring for the conventions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from headframe.org.models import Unit
from headframe.production.calendar import same_day_last_year, working_days
from headframe.production.models import Aggregation, Indicator
from headframe.production.selectors.plans import (
    ORIGINAL,
    _base_indicator_ids,
    _plan_series_many,
    _plan_value,
    _PlanSeries,
)
from headframe.production.selectors.reads import holidays_in, indicators_for
from headframe.production.selectors.results import (
    RATE_QUANTUM,
    ZERO,
    Figure,
    IndicatorSummary,
    month_last_day,
    next_month,
    prev_month,
)
from headframe.production.selectors.totals import (
    PERIODS,
    WHOLE,
    Buckets,
    _Acc,
    _accumulate,
    _Classes,
    _classes,
    _daily_rows,
    _daily_values,
    _latest_values,
    _merge,
    _month_source,
    _month_to_date_rows,
    _monthly_rows,
    _special_rows,
    _special_values,
    _SpecialRows,
    _unit_paths,
    _value,
    _weigh_days,
)


@dataclass
class _Periods:
    """Accumulated actuals and plans for the periods of a summary, under one bucketing."""

    day: _Acc
    mtd: _Acc
    ytd: _Acc
    ly_day: _Acc
    ly_mtd: _Acc
    ly_ytd: _Acc
    special: dict
    plans: _PlanSeries  # the versions in force on the summary's date
    original: _PlanSeries | None  # each unit's first version, when some unit's plan was adjusted
    period: _Acc | None = None  # [period_start, on], when asked
    period_plans: dict | None = None  # year → _PlanSeries covering the period's days of that year


def _periods(
    root: Unit,
    on: dt.date,
    indicators: list[Indicator],
    bucketings: dict[str, Buckets],
    period_start: dt.date | None = None,
) -> dict:
    """{bucketing name: _Periods}: every bucketing is computed from the same rows, read once."""
    bucketings = {name: _memoised(bucket) for name, bucket in bucketings.items()}
    classes = _classes(_unit_paths(root), bucketings)
    ids = _base_indicator_ids(indicators)
    year, month_first = on.year, on.replace(day=1)
    ly = same_day_last_year(on)
    ly_month_first = ly.replace(day=1)
    source, ly_source = _month_source(root, ids, on), _month_source(root, ids, ly)
    this_month = _month_to_date_rows(root, ids, on, classes, source)
    before = _monthly_rows(root, ids, dt.date(year, 1, 1), prev_month(month_first), classes)
    ly_month = _month_to_date_rows(root, ids, ly, classes, ly_source)
    ly_before = _monthly_rows(root, ids, dt.date(ly.year, 1, 1), prev_month(ly_month_first), classes)
    special = [i for i in indicators if i.aggregation in (Aggregation.LAST, Aggregation.WEIGHTED_AVERAGE)]
    special_this = special_ly = special_period = None
    if special:
        special_this = _special_rows(root, special, dt.date(year, 1, 1), on, classes, source)
        special_ly = _special_rows(root, special, dt.date(ly.year, 1, 1), ly, classes, ly_source)
    plans = _plan_series_many(root, indicators, year, bucketings, on=on)
    adjusted = any(series.adjusted for series in plans.values())
    original = (
        _plan_series_many(root, indicators, year, bucketings, on=on, which=ORIGINAL) if adjusted else {}
    )
    period_rows = period_plans = None
    if period_start is not None:
        period_rows = _range_rows(root, ids, period_start, on, classes)
        if special:
            special_period = _special_range(root, special, period_start, on, classes)
        period_plans = {year: plans}
        for earlier in range(period_start.year, year):
            period_plans[earlier] = _plan_series_many(
                root, indicators, earlier, bucketings, on=dt.date(earlier, 12, 31)
            )
    out = {}
    for name, bucket in bucketings.items():
        mtd = _accumulate(this_month, bucket, classes)
        ly_mtd = _accumulate(ly_month, bucket, classes)
        specials: dict = {name: {} for name in ("day", "mtd", "ytd", "ly_day", "ly_mtd", "ly_ytd", "period")}
        if special and name == "main":  # restricted bucketings only serve ratios of additive terms
            for period in PERIODS:
                specials[period] = _special_values(special_this, period, bucket, classes)
                specials[f"ly_{period}"] = _special_values(special_ly, period, bucket, classes)
            if special_period is not None:
                specials["period"] = _special_values(special_period, "day", bucket, classes)
        out[name] = _Periods(
            day=_accumulate(this_month, bucket, classes, "ds", "dn"),
            mtd=mtd,
            ytd=_merge(_accumulate(before, bucket, classes), mtd),
            ly_day=_accumulate(ly_month, bucket, classes, "ds", "dn"),
            ly_mtd=ly_mtd,
            ly_ytd=_merge(_accumulate(ly_before, bucket, classes), ly_mtd),
            special=specials,
            plans=plans[name],
            original=original.get(name),
            period=_accumulate(period_rows, bucket, classes) if period_rows is not None else None,
            period_plans={y: series[name] for y, series in period_plans.items()} if period_plans else None,
        )
    return out


def _range_rows(root: Unit, indicator_ids, start: dt.date, end: dt.date, classes: _Classes) -> list[dict]:
    """Per class and indicator: sum and count over any [start, end] — whole months from their MonthlyTotal
    rows, the partial months at either end from the days."""
    first_full = start if start.day == 1 else next_month(start)
    last_full = prev_month(end.replace(day=1)) if end != month_last_day(end) else end.replace(day=1)
    if first_full > last_full:
        return _daily_rows(root, indicator_ids, start, end, end, classes)
    rows = _monthly_rows(root, indicator_ids, first_full, last_full, classes)
    if start < first_full:
        rows += _daily_rows(root, indicator_ids, start, first_full - dt.timedelta(days=1), end, classes)
    tail_start = next_month(last_full)
    if tail_start <= end:
        rows += _daily_rows(root, indicator_ids, tail_start, end, end, classes)
    return rows


def _special_range(
    root: Unit, special: list[Indicator], start: dt.date, end: dt.date, classes
) -> _SpecialRows:
    """`last` and weighted-average figures over any [start, end], in the "day" slot of a _SpecialRows."""
    out = _SpecialRows()
    lasts = [i.pk for i in special if i.aggregation == Aggregation.LAST]
    if lasts:
        out.last["day"].update(_latest_values(root, lasts, start, end))
    weighted = [i for i in special if i.aggregation == Aggregation.WEIGHTED_AVERAGE]
    if weighted:
        values = _daily_values(root, weighted, start, end)
        for indicator in weighted:
            _weigh_days(out, "day", indicator, values, classes, sign=1)
    return out


def _memoised(bucket: Buckets) -> Buckets:
    """A bucketing is asked about the same few hundred unit paths thousands of times per summary."""
    known: dict[str, str | None] = {}

    def cached(path: str):
        if path not in known:
            known[path] = bucket(path)
        return known[path]

    return cached


def _restricted(bucket: Buckets, site_types: frozenset[str], site_type_of_path: dict[str, str]) -> Buckets:
    """The same bucketing, counting only units in sites of the given types (e.g. stripping ratio: open pits)."""

    def restricted(path: str):
        site_path = "/" + "/".join(path.strip("/").split("/")[:3]) + "/"
        return bucket(path) if site_type_of_path.get(site_path) in site_types else None

    return restricted


def summaries(
    root: Unit,
    on: dt.date,
    indicators: list[Indicator],
    bucket: Buckets | None = None,
    keys: Iterable = (WHOLE,),
    period_start: dt.date | None = None,
) -> dict:
    """{bucket key: [IndicatorSummary, …]} for `root`'s subtree on a date. Without `bucket`, one key
    (WHOLE) covering the whole subtree; with it, a summary per bucket (e.g. per child unit). With
    `period_start`, each summary also has the actual and plan of [period_start, on] (a meeting's period).

    A derived indicator limited to some site types (stripping ratio: open-pit mines) takes both of its
    terms from those sites only, so underground coal does not dilute an open-pit ratio."""
    bucket = bucket or (lambda _path: WHOLE)
    bucketings: dict[str, Buckets] = {"main": bucket}
    restrictions = {frozenset(i.site_types) for i in indicators if i.is_derived and i.site_types}
    if restrictions:
        site_type_of_path = dict(Unit.objects.filter(kind="site").values_list("path", "site_type"))
        for types in restrictions:
            bucketings["|".join(sorted(types))] = _restricted(bucket, types, site_type_of_path)
    if period_start is not None and period_start > on:
        raise ValueError(f"the period starts ({period_start}) after it ends ({on})")
    periods = _periods(root, on, indicators, bucketings, period_start)
    main = periods["main"]
    year = on.year
    holidays = holidays_in(year, root)
    month_work = working_days(year, on.month, holidays)
    year_work = [d for m in range(1, 13) for d in working_days(year, m, holidays)]
    month_first, year_start, year_end = on.replace(day=1), dt.date(year, 1, 1), dt.date(year, 12, 31)
    out = {}
    for key in keys:
        rows = []
        for ind in indicators:
            p = periods["|".join(sorted(ind.site_types))] if ind.is_derived and ind.site_types else main
            s = IndicatorSummary(indicator=ind)
            s.day = Figure(_value(ind, key, p.day, p.special["day"]), _plan_value(ind, p.plans, key, on, on))
            s.mtd = Figure(
                _value(ind, key, p.mtd, p.special["mtd"]), _plan_value(ind, p.plans, key, month_first, on)
            )
            s.ytd = Figure(
                _value(ind, key, p.ytd, p.special["ytd"]), _plan_value(ind, p.plans, key, year_start, on)
            )
            s.month_plan = _plan_value(ind, p.plans, key, month_first, month_last_day(on))
            s.year_plan = _plan_value(ind, p.plans, key, year_start, year_end)
            s.plan_adjusted = _is_adjusted(ind, p.plans, key)
            s.year_plan_original = (
                _plan_value(ind, p.original, key, year_start, year_end) if s.plan_adjusted else s.year_plan
            )
            if p.period is not None:
                s.period = Figure(
                    _value(ind, key, p.period, p.special["period"]),
                    _plan_over(ind, p.period_plans, key, period_start, on),
                )
            s.last_year_day = _value(ind, key, p.ly_day, p.special["ly_day"])
            s.last_year_mtd = _value(ind, key, p.ly_mtd, p.special["ly_mtd"])
            s.last_year_ytd = _value(ind, key, p.ly_ytd, p.special["ly_ytd"])
            if ind.aggregation == Aggregation.SUM:
                _rates(s, on, month_work, year_work)
            rows.append(s)
        out[key] = rows
    return out


def _rates(s: IndicatorSummary, on, month_work, year_work) -> None:
    elapsed_m = sum(1 for d in month_work if d <= on)
    left_m = len(month_work) - elapsed_m
    elapsed_y = sum(1 for d in year_work if d <= on)
    left_y = len(year_work) - elapsed_y
    mtd, ytd = s.mtd.actual or ZERO, s.ytd.actual or ZERO
    if elapsed_m and s.mtd.actual is not None:
        s.forecast_month_end = (mtd / elapsed_m * len(month_work)).quantize(
            RATE_QUANTUM, rounding=ROUND_HALF_UP
        )
    if elapsed_y and s.ytd.actual is not None:
        s.forecast_year_end = (ytd / elapsed_y * len(year_work)).quantize(
            RATE_QUANTUM, rounding=ROUND_HALF_UP
        )
    if s.month_plan is not None and left_m:
        s.required_daily_month = (max(s.month_plan - mtd, ZERO) / left_m).quantize(
            RATE_QUANTUM, ROUND_HALF_UP
        )
    if s.year_plan is not None and left_y:
        s.required_daily_year = (max(s.year_plan - ytd, ZERO) / left_y).quantize(RATE_QUANTUM, ROUND_HALF_UP)


def _is_adjusted(indicator: Indicator, series: _PlanSeries, key) -> bool:
    if indicator.aggregation == Aggregation.RATIO:
        return _is_adjusted(indicator.numerator, series, key) or _is_adjusted(
            indicator.denominator, series, key
        )
    return (key, indicator.pk) in series.adjusted


def _plan_over(indicator: Indicator, by_year: dict, key, start: dt.date, end: dt.date) -> Decimal | None:
    """The plan of any [start, end], across a new year too (a week from 29/12): sums add up year by year,
    ratios are the ratio of their terms' plans, levels are those of the last year."""
    if start.year == end.year:
        return _plan_value(indicator, by_year[end.year], key, start, end)
    if indicator.aggregation == Aggregation.RATIO:
        num = _plan_over(indicator.numerator, by_year, key, start, end)
        den = _plan_over(indicator.denominator, by_year, key, start, end)
        return (num / den).quantize(Decimal("0.0001")) if num is not None and den else None
    if indicator.aggregation != Aggregation.SUM:
        return _plan_value(indicator, by_year[end.year], key, dt.date(end.year, 1, 1), end)
    parts = [
        _plan_value(indicator, by_year[y], key, max(start, dt.date(y, 1, 1)), min(end, dt.date(y, 12, 31)))
        for y in range(start.year, end.year + 1)
    ]
    known = [p for p in parts if p is not None]
    return sum(known, ZERO) if known else None


def unit_summary(
    unit: Unit, on: dt.date, indicators: list[Indicator] | None = None, period_start: dt.date | None = None
) -> list[IndicatorSummary]:
    return summaries(unit, on, indicators or indicators_for(), period_start=period_start)[WHOLE]


def children_summaries(
    unit: Unit,
    on: dt.date,
    indicators: list[Indicator],
    children: list[Unit],
    period_start: dt.date | None = None,
) -> dict:
    """{child code: [IndicatorSummary]} for each given child of unit, in one pass over unit's subtree."""
    child_paths = {c.path: c.code for c in children}

    def bucket(path: str) -> str | None:
        depth = unit.depth + 1
        prefix = "/" + "/".join(path.strip("/").split("/")[: depth + 1]) + "/"
        return child_paths.get(prefix)

    return summaries(
        unit, on, indicators, bucket=bucket, keys=[c.code for c in children], period_start=period_start
    )


@dataclass
class DayFigures:
    actual: Decimal | None
    plan: Decimal | None


def day_figures(unit: Unit, indicator: Indicator, day: dt.date) -> DayFigures:
    s = summaries(unit, day, [indicator])[WHOLE][0]
    return DayFigures(s.day.actual, s.day.plan)
