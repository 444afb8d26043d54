"""Plan versus actual: the one place for the arithmetic.

For any unit (its whole subtree) and date: day, month-to-date and year-to-date actual and plan, % of plan,
the same period last year, run-rate forecasts and the daily rate still needed — per indicator, respecting
its aggregation. Reads the materialised DailyTotal/MonthlyTotal rows, so a group-wide year-to-date figure
reads about twelve rows per reporting unit.

Conventions
- Plans: a unit's plan is its own plan versions if it has them, else the sum of its planned descendants
  (the top-most planned units under it). Each day's plan comes from the version in force that day: the
  month's figure spread over the month's working days (every day except group holidays).
- Forecasts and required rates count working days: the rate so far × working days, and what is left of
  the plan ÷ working days left after the date.
- Derived indicators (ratios) are computed from the totals of their terms at every level, never summed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    Expression,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Round

from headframe.org.models import Unit
from headframe.org.selectors import ancestor_paths
from headframe.production.calendar import month_days, same_day_last_year, working_days
from headframe.production.models import (
    Aggregation,
    DailyTotal,
    Deviation,
    Holiday,
    Indicator,
    LostTimeCategory,
    MonthlyTotal,
    PeriodLock,
    PlanMonth,
    PlanVersion,
)
from headframe.production.reporting import MissingReport, missing_reports  # noqa: F401 (their home)

ZERO = Decimal(0)
RATE_QUANTUM = Decimal("0.01")
GREEN_FROM, AMBER_FROM = Decimal(100), Decimal(95)


# --- small reads used by the services ------------------------------------------------------------------


def holidays_in(year: int, unit: Unit | None = None) -> frozenset[dt.date]:
    """The year's non-working days: the group's, and with a unit also those of the unit and the units above
    it (a company's own day off holds in its subtree)."""
    paths = _holiday_paths(year)
    return _holidays_of_path(paths, unit.path) if unit is not None else paths.get(None, frozenset())


def _holiday_paths(year: int) -> dict[str | None, frozenset[dt.date]]:
    """{unit path (None: the whole group): the year's holidays it declared}."""
    out: dict = defaultdict(set)
    for path, day in Holiday.objects.filter(day__year=year).values_list("unit__path", "day"):
        out[path].add(day)
    return {path: frozenset(days) for path, days in out.items()}


def _holidays_of_path(paths: dict[str | None, frozenset[dt.date]], path: str) -> frozenset[dt.date]:
    days = set(paths.get(None, ()))
    for own_path, own in paths.items():
        if own_path is not None and path.startswith(own_path):
            days |= own
    return frozenset(days)


def site_types_of(units: Iterable[Unit]) -> dict[int, str]:
    """Each unit's site type: its own, or that of the site above it ('' for the group and companies)."""
    units = list(units)
    site_codes = {u.pk: u.path.strip("/").split("/")[2] for u in units if u.depth >= 2}
    types = dict(Unit.objects.filter(code__in=set(site_codes.values())).values_list("code", "site_type"))
    return {u.pk: types.get(site_codes.get(u.pk, ""), "") for u in units}


def locked_months(units: Iterable[Unit]) -> list[tuple[str, dt.date]]:
    paths = [u.path for u in units]
    if not paths:
        return []
    return [
        (path, month)
        for path, month in PeriodLock.objects.values_list("unit__path", "month")
        if any(p.startswith(path) for p in paths)
    ]


def is_locked(unit: Unit, day: dt.date, locks: list[tuple[str, dt.date]]) -> bool:
    month = day.replace(day=1)
    return any(unit.path.startswith(path) and locked == month for path, locked in locks)


def reported_at(indicator: Indicator, site_type: str) -> bool:
    """Whether units of a site of this type report the indicator (above site level: any indicator)."""
    return not indicator.site_types or not site_type or site_type in indicator.site_types


def reportable_indicators(unit: Unit) -> list[Indicator]:
    """What a unit enters: active, not derived, and reported at its site's type."""
    site_type = site_types_of([unit]).get(unit.pk, "")
    return [i for i in indicators_for() if not i.is_derived and reported_at(i, site_type)]


def indicators_for(key_only: bool = False) -> list[Indicator]:
    qs = Indicator.objects.filter(is_active=True).select_related("numerator", "denominator", "weight")
    if key_only:
        qs = qs.filter(is_key=True)
    return list(qs)


# --- figures -------------------------------------------------------------------------------------------


def _pct(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (numerator * 100 / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figure:
    actual: Decimal | None = None
    plan: Decimal | None = None

    @property
    def pct(self) -> Decimal | None:
        return _pct(self.actual, self.plan)


@dataclass
class IndicatorSummary:
    indicator: Indicator
    day: Figure = field(default_factory=Figure)
    mtd: Figure = field(default_factory=Figure)
    ytd: Figure = field(default_factory=Figure)
    month_plan: Decimal | None = None
    year_plan: Decimal | None = None  # the approved version in force on the date (adjusted plan)
    year_plan_original: Decimal | None = None  # the original version's, kept for reference
    plan_adjusted: bool = False  # a version in force is not the original
    period: Figure | None = None  # actual and plan of a meeting's period [period_start, on], when asked
    last_year_day: Decimal | None = None
    last_year_mtd: Decimal | None = None
    last_year_ytd: Decimal | None = None
    forecast_month_end: Decimal | None = None
    forecast_year_end: Decimal | None = None
    required_daily_month: Decimal | None = None
    required_daily_year: Decimal | None = None

    @property
    def month_pct(self) -> Decimal | None:
        """% of the month plan: the month to date against the whole month's plan."""
        return _pct(self.mtd.actual, self.month_plan)

    @property
    def year_pct(self) -> Decimal | None:
        """% of the year plan (in force): the year to date against the whole year's plan."""
        return _pct(self.ytd.actual, self.year_plan)

    @property
    def year_pct_original(self) -> Decimal | None:
        return _pct(self.ytd.actual, self.year_plan_original)

    @property
    def mtd_change_pct(self) -> Decimal | None:
        return _change(self.mtd.actual, self.last_year_mtd)

    @property
    def ytd_change_pct(self) -> Decimal | None:
        return _change(self.ytd.actual, self.last_year_ytd)

    @property
    def status(self) -> str:
        """Traffic light on month-to-date against the pro-rata plan: green, amber, red ('' without a plan)."""
        pct = self.mtd.pct
        if pct is None:
            return ""
        if not self.indicator.higher_is_better:
            pct = Decimal(200) - pct
        if pct >= GREEN_FROM:
            return "green"
        return "amber" if pct >= AMBER_FROM else "red"


def _change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or not previous:
        return None
    return ((current - previous) * 100 / previous).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- reading totals ------------------------------------------------------------------------------------


Buckets = Callable[[str], str | None]  # unit path → bucket key (None: not counted)
WHOLE = "*"  # the bucket of a summary over the whole subtree
NOT_COUNTED = -1  # the class of units that no bucketing counts


@dataclass
class _Acc:
    """Sum and count of daily values per (bucket, indicator)."""

    sums: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    counts: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, key, value_sum, count):
        self.sums[key] += value_sum or ZERO
        self.counts[key] += count or 0


@dataclass
class _Classes:
    """The subtree's units grouped by where every bucketing of a summary puts them. The database sums the
    rows of a class (a few dozen rows for a summary instead of one per unit and indicator), and a class's
    sums are bucketed by the path of any of its units: every bucketing puts them all in the same bucket."""

    of_unit: dict[int, int]  # unit id → class
    paths: dict[int, str]  # class → the path of one of its units
    unit_paths: dict[int, str]  # unit id → path, for the figures that stay per unit (last values)
    everyone: bool  # no unit is left out

    def expression(self):
        """SQL: the class of a row's unit (NOT_COUNTED for units no bucketing counts)."""
        if not self.paths:
            return Value(NOT_COUNTED)
        members = defaultdict(list)
        for unit_id, cls in self.of_unit.items():
            members[cls].append(unit_id)
        # With everyone counted, the largest class is what is left over: the shortest IN lists.
        default = max(members, key=lambda c: len(members[c])) if self.everyone else NOT_COUNTED
        whens = [When(unit_id__in=ids, then=Value(cls)) for cls, ids in members.items() if cls != default]
        if not whens:
            return Value(default)
        return Case(*whens, default=Value(default), output_field=IntegerField())


def _classes(unit_paths: dict[int, str], bucketings: dict[str, Buckets]) -> _Classes:
    keys: dict[tuple, int] = {}
    of_unit, paths = {}, {}
    for unit_id, path in unit_paths.items():
        key = tuple(bucket(path) for bucket in bucketings.values())
        if all(k is None for k in key):
            continue
        cls = keys.setdefault(key, len(keys))
        of_unit[unit_id] = cls
        paths.setdefault(cls, path)
    return _Classes(of_unit, paths, unit_paths, everyone=len(of_unit) == len(unit_paths))


def _total(name: str, expression, places: int = 4) -> dict:
    """Annotations that sum a decimal expression exactly, read back by _total_of. PostgreSQL adds numerics
    exactly; SQLite stores decimals as floats and would add them as floats (a group's year of revenue in
    VND is off in the cents), so there the whole parts and the fractions — as integers of 10^-places — are
    summed apart, each exactly."""
    if not isinstance(expression, Expression):
        expression = F(expression)
    if connection.vendor != "sqlite":
        return {name: Sum(expression, output_field=DecimalField(max_digits=38, decimal_places=places))}
    whole = Cast(expression, IntegerField())
    fraction = Cast(Round((expression - whole) * Value(10**places)), IntegerField())
    return {f"{name}__whole": Sum(whole), f"{name}__fraction": Sum(fraction)}


def _total_of(row: dict, name: str, places: int = 4) -> Decimal | None:
    if name in row:
        return row[name]
    whole = row[f"{name}__whole"]
    return None if whole is None else Decimal(whole) + Decimal(row[f"{name}__fraction"]).scaleb(-places)


def _in_subtree(qs, root: Unit):
    """Rows of units under root. Under the only top-level unit that is every row: no join on units."""
    if root.depth == 0 and not Unit.objects.filter(depth=0).exclude(pk=root.pk).exists():
        return qs
    return qs.filter(unit__path__startswith=root.path)


def _unit_paths(root: Unit) -> dict[int, str]:
    return dict(Unit.objects.filter(path__startswith=root.path).values_list("pk", "path"))


def _by_class(qs, classes: _Classes):
    return qs.annotate(cls=classes.expression()).values("cls", "indicator_id")


def _daily_rows(
    root: Unit, indicator_ids, start: dt.date, end: dt.date, day: dt.date, classes: _Classes
) -> list[dict]:
    """Per class and indicator: sum and count over [start, end] and over `day`, in one query."""
    rows = _by_class(
        _in_subtree(DailyTotal.objects, root).filter(
            indicator_id__in=indicator_ids, day__gte=start, day__lte=end
        ),
        classes,
    ).annotate(
        **_total("s", "value"),
        n=Count("id"),
        **_total("ds", Case(When(day=day, then="value"), output_field=DecimalField())),
        dn=Count(Case(When(day=day, then=1))),
    )
    return [
        {"cls": r["cls"], "indicator_id": r["indicator_id"], "s": _total_of(r, "s"), "n": r["n"]}
        | {"ds": _total_of(r, "ds"), "dn": r["dn"]}
        for r in rows
    ]


def _nothing_after(root: Unit, indicator_ids, on: dt.date) -> bool:
    """No figure later than `on` in its month: the month's MonthlyTotal row is then its month-to-date."""
    month_end = _month_last_day(on)
    return on == month_end or not (
        _in_subtree(DailyTotal.objects, root)
        .filter(indicator_id__in=indicator_ids, day__gt=on, day__lte=month_end)
        .exists()
    )


def _tail_without_month(root: Unit, indicator_ids, on: dt.date) -> bool:
    """A figure after `on` in its month whose unit has no MonthlyTotal row for the month (totals not
    refreshed): the month minus its tail would be wrong, the days up to `on` must be read."""
    month_first = on.replace(day=1)
    monthly = MonthlyTotal.objects.filter(
        unit_id=OuterRef("unit_id"), indicator_id=OuterRef("indicator_id"), month=month_first
    )
    return (
        _in_subtree(DailyTotal.objects, root)
        .filter(indicator_id__in=indicator_ids, day__gt=on, day__lte=_month_last_day(on))
        .exclude(Exists(monthly))
        .exists()
    )


MONTHS, MONTH_LESS_TAIL, DAYS = "months", "month less tail", "days"


def _month_source(root: Unit, indicator_ids, on: dt.date) -> str:
    """How to read the month up to `on`: its MonthlyTotal rows when nothing was reported after `on` (the
    usual summary of yesterday); those rows less the days after `on` when those are fewer than the days
    up to it (last year's same period); else the days up to `on`."""
    if _nothing_after(root, indicator_ids, on):
        return MONTHS
    if (_month_last_day(on) - on).days >= on.day or _tail_without_month(root, indicator_ids, on):
        return DAYS
    return MONTH_LESS_TAIL


def _month_to_date_rows(root: Unit, indicator_ids, on: dt.date, classes: _Classes, source: str) -> list[dict]:
    """Like _daily_rows for [first of month, on] and `on`, reading as few daily rows as the source allows
    (see _month_source): only `on` itself is read daily when the month comes from MonthlyTotal."""
    month_first, month_end = on.replace(day=1), _month_last_day(on)
    if source == DAYS:
        return _daily_rows(root, indicator_ids, month_first, on, on, classes)
    rows = {
        (r["cls"], r["indicator_id"]): {**r, "ds": None, "dn": 0}
        for r in _monthly_rows(root, indicator_ids, month_first, month_first, classes)
    }
    if source == MONTH_LESS_TAIL:
        for tail in _daily_rows(
            root, indicator_ids, on + dt.timedelta(days=1), month_end, month_end, classes
        ):
            row = rows[(tail["cls"], tail["indicator_id"])]
            row["s"] -= tail["s"]
            row["n"] -= tail["n"]
    for r in _by_class(
        _in_subtree(DailyTotal.objects, root).filter(indicator_id__in=indicator_ids, day=on), classes
    ).annotate(**_total("ds", "value"), dn=Count("id")):
        row = rows.setdefault(
            (r["cls"], r["indicator_id"]),
            {"cls": r["cls"], "indicator_id": r["indicator_id"], "s": ZERO, "n": 0},
        )
        row["ds"], row["dn"] = _total_of(r, "ds"), r["dn"]
    return list(rows.values())


def _monthly_rows(
    root: Unit, indicator_ids, first_month: dt.date, last_month: dt.date, classes: _Classes
) -> list[dict]:
    if last_month < first_month:
        return []
    rows = _by_class(
        _in_subtree(MonthlyTotal.objects, root).filter(
            indicator_id__in=indicator_ids, month__gte=first_month, month__lte=last_month
        ),
        classes,
    ).annotate(**_total("s", "value_sum"), n=Sum("day_count"))
    return [
        {"cls": r["cls"], "indicator_id": r["indicator_id"], "s": _total_of(r, "s"), "n": r["n"]}
        for r in rows
    ]


def _accumulate(rows, bucket: Buckets, classes: _Classes, sum_key="s", count_key="n") -> _Acc:
    acc = _Acc()
    for row in rows:
        path = classes.paths.get(row["cls"])
        key = bucket(path) if path is not None else None
        if key is not None:
            acc.add((key, row["indicator_id"]), row[sum_key], row[count_key])
    return acc


PERIODS = ("day", "mtd", "ytd")


@dataclass
class _SpecialRows:
    """`last` and weighted-average figures of one year part up to a day, for the day itself, its month to
    date and its year to date. A `last` figure stays per unit (each unit's latest value, added up later);
    a weighted average is Σ(value × weight) and Σ weight, summed per class."""

    last: dict = field(default_factory=lambda: {p: {} for p in PERIODS})  # period → {(unit, ind): value}
    weighted: dict = field(  # period → {(class, ind): [Σ value × weight, Σ weight]}
        default_factory=lambda: {p: defaultdict(lambda: [ZERO, ZERO]) for p in PERIODS}
    )

    def weigh(self, period: str, cls: int, indicator_id: int, vw, w) -> None:
        if cls != NOT_COUNTED and w:
            pair = self.weighted[period][(cls, indicator_id)]
            pair[0] += vw
            pair[1] += w


def _special_rows(
    root: Unit, special: list[Indicator], year_start: dt.date, on: dt.date, classes: _Classes, source: str
) -> _SpecialRows:
    month_first, month_end = on.replace(day=1), _month_last_day(on)
    lasts = [i.pk for i in special if i.aggregation == Aggregation.LAST]
    weighted = [i for i in special if i.aggregation == Aggregation.WEIGHTED_AVERAGE]
    out = _SpecialRows()
    # The day itself.
    values = _daily_values(root, special, on, on)
    for (unit_id, indicator_id), by_day in values.items():
        if indicator_id in lasts:
            out.last["day"][(unit_id, indicator_id)] = by_day[on]
    for indicator in weighted:
        _weigh_days(out, "day", indicator, values, classes, sign=1)
    # The month to date (see _month_source).
    if source == DAYS:
        head = _daily_values(root, special, month_first, on)
        for (unit_id, indicator_id), by_day in head.items():
            if indicator_id in lasts:
                out.last["mtd"][(unit_id, indicator_id)] = by_day[max(by_day)]
        for indicator in weighted:
            _weigh_days(out, "mtd", indicator, head, classes, sign=1)
    else:
        month = _in_subtree(MonthlyTotal.objects, root).filter(month=month_first)
        if lasts and source == MONTHS:
            for unit_id, indicator_id, value in month.filter(
                indicator_id__in=lasts, last_day__isnull=False
            ).values_list("unit_id", "indicator_id", "last_value"):
                out.last["mtd"][(unit_id, indicator_id)] = value
        elif lasts:  # the latest day up to `on` of each unit: a day can not be subtracted
            head = _latest_values(root, lasts, month_first, on)
            out.last["mtd"].update(head)
        _weigh_months(out, "mtd", month, weighted, classes)
        if source == MONTH_LESS_TAIL:
            tail = _daily_values(root, weighted, on + dt.timedelta(days=1), month_end)
            for indicator in weighted:
                _weigh_days(out, "mtd", indicator, tail, classes, sign=-1)
    # The year to date: the month to date and the earlier months' rows.
    out.last["ytd"] = dict(out.last["mtd"])
    for key, (vw, w) in out.weighted["mtd"].items():
        out.weighted["ytd"][key] = [vw, w]
    if year_start < month_first:
        earlier = _in_subtree(MonthlyTotal.objects, root).filter(month__gte=year_start, month__lt=month_first)
        _weigh_months(out, "ytd", earlier, weighted, classes)
        if lasts:
            # Units without a figure this month: their latest figure of the earlier months.
            latest: dict = {}
            reported = defaultdict(int)
            for unit_id, _i in out.last["mtd"]:
                reported[unit_id] += 1
            complete = [u for u, n in reported.items() if n == len(lasts)]  # every `last` figure this month
            for unit_id, indicator_id, last_day, last_value in (
                earlier.filter(indicator_id__in=lasts, last_day__isnull=False)
                .exclude(unit_id__in=complete)
                .values_list("unit_id", "indicator_id", "last_day", "last_value")
            ):
                if (unit_id, indicator_id) in out.last["mtd"]:
                    continue
                current = latest.get((unit_id, indicator_id))
                if current is None or last_day > current[0]:
                    latest[(unit_id, indicator_id)] = (last_day, last_value)
            for key, (_day, value) in latest.items():
                out.last["ytd"][key] = value
    return out


def _daily_values(root: Unit, indicators: list[Indicator], start: dt.date, end: dt.date) -> dict:
    """{(unit, indicator): {day: value}} of the indicators and their weights over [start, end]."""
    ids = {i.pk for i in indicators} | {i.weight_id for i in indicators if i.weight_id}
    out: dict = defaultdict(dict)
    if not ids:
        return out
    for unit_id, indicator_id, day, value in (
        _in_subtree(DailyTotal.objects, root)
        .filter(indicator_id__in=ids, day__gte=start, day__lte=end)
        .values_list("unit_id", "indicator_id", "day", "value")
    ):
        out[(unit_id, indicator_id)][day] = value
    return out


def _latest_values(root: Unit, indicator_ids, start: dt.date, end: dt.date) -> dict:
    """{(unit, indicator): value on the unit's latest day in [start, end] with a figure}."""
    latest = (
        _in_subtree(DailyTotal.objects, root)
        .filter(indicator_id__in=indicator_ids, day__gte=start, day__lte=end)
        .values("unit_id", "indicator_id")
        .annotate(last=Max("day"))
    )
    by_day = defaultdict(set)
    for row in latest:
        by_day[row["last"]].add((row["unit_id"], row["indicator_id"]))
    out = {}
    for day, pairs in by_day.items():  # usually one day: every unit's latest figure is from `end`
        for unit_id, indicator_id, value in DailyTotal.objects.filter(
            day=day, unit_id__in={u for u, _i in pairs}, indicator_id__in=indicator_ids
        ).values_list("unit_id", "indicator_id", "value"):
            if (unit_id, indicator_id) in pairs:
                out[(unit_id, indicator_id)] = value
    return out


def _weigh_days(
    out: _SpecialRows, period: str, indicator: Indicator, values: dict, classes, sign: int
) -> None:
    """Add (sign 1) or take away (-1) Σ value × weight and Σ weight of the given days, per class. A day
    without a weight figure weighs nothing."""
    for (unit_id, indicator_id), by_day in values.items():
        if indicator_id != indicator.pk:
            continue
        weights = values.get((unit_id, indicator.weight_id), {})
        vw = sum((v * weights.get(d, ZERO) for d, v in by_day.items()), ZERO)
        w = sum((weights.get(d, ZERO) for d in by_day), ZERO)
        if sign < 0:
            vw, w = -vw, -w
        out.weigh(period, classes.of_unit.get(unit_id, NOT_COUNTED), indicator.pk, vw, w)


def _weigh_months(out: _SpecialRows, period: str, months, weighted: list[Indicator], classes) -> None:
    if not weighted:
        return
    for row in _by_class(months.filter(indicator_id__in=[i.pk for i in weighted]), classes).annotate(
        **_total("vw", "weighted_sum", 8), **_total("w", "weight_sum")
    ):
        vw, w = _total_of(row, "vw", 8), _total_of(row, "w")
        out.weigh(period, row["cls"], row["indicator_id"], vw or ZERO, w)


def _special_values(rows: _SpecialRows, period: str, bucket, classes) -> dict:
    """Period values (day, mtd or ytd) of `last` and weighted-average indicators per (bucket, indicator):
    the units' latest figures added up, Σ(value × weight) ÷ Σ weight."""
    out: dict = {}
    for (unit_id, indicator_id), value in rows.last[period].items():
        key = bucket(classes.unit_paths[unit_id])
        if key is not None:
            out[(key, indicator_id)] = out.get((key, indicator_id), ZERO) + value
    weighted = defaultdict(lambda: [ZERO, ZERO])
    for (cls, indicator_id), (vw, w) in rows.weighted[period].items():
        key = bucket(classes.paths[cls])
        if key is not None:
            weighted[(key, indicator_id)][0] += vw
            weighted[(key, indicator_id)][1] += w
    for key, (vw, w) in weighted.items():
        out[key] = (vw / w).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if w else None
    return out


def _value(indicator: Indicator, key, acc: _Acc, special: dict) -> Decimal | None:
    """A period value of one indicator for one bucket from the accumulated sums."""
    k = (key, indicator.pk)
    if indicator.aggregation == Aggregation.RATIO:
        num = _value(indicator.numerator, key, acc, special)
        den = _value(indicator.denominator, key, acc, special)
        if num is None or not den:
            return None
        return (num / den).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if indicator.aggregation in (Aggregation.LAST, Aggregation.WEIGHTED_AVERAGE):
        return special.get(k)
    if not acc.counts.get(k):
        return None
    if indicator.aggregation == Aggregation.AVERAGE:
        return (acc.sums[k] / acc.counts[k]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return acc.sums[k]


def _merge(a: _Acc, b: _Acc) -> _Acc:
    out = _Acc()
    for src in (a, b):
        for k, v in src.sums.items():
            out.sums[k] += v
        for k, v in src.counts.items():
            out.counts[k] += v
    return out


# --- plans ---------------------------------------------------------------------------------------------


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
    holiday_paths: dict  # see _holiday_paths

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
    inputs.holiday_paths = _holiday_paths(year)
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
                holidays = _holidays_of_path(holiday_paths, path) if additive else None
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


# --- the summary ---------------------------------------------------------------------------------------


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
    before = _monthly_rows(root, ids, dt.date(year, 1, 1), _prev_month(month_first), classes)
    ly_month = _month_to_date_rows(root, ids, ly, classes, ly_source)
    ly_before = _monthly_rows(root, ids, dt.date(ly.year, 1, 1), _prev_month(ly_month_first), classes)
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
    first_full = start if start.day == 1 else _next_month(start)
    last_full = _prev_month(end.replace(day=1)) if end != _month_last_day(end) else end.replace(day=1)
    if first_full > last_full:
        return _daily_rows(root, indicator_ids, start, end, end, classes)
    rows = _monthly_rows(root, indicator_ids, first_full, last_full, classes)
    if start < first_full:
        rows += _daily_rows(root, indicator_ids, start, first_full - dt.timedelta(days=1), end, classes)
    tail_start = _next_month(last_full)
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


def _next_month(day: dt.date) -> dt.date:
    return _month_last_day(day) + dt.timedelta(days=1)


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
            s.month_plan = _plan_value(ind, p.plans, key, month_first, _month_last_day(on))
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


def _prev_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def _month_last_day(day: dt.date) -> dt.date:
    return month_days(day.year, day.month)[-1]


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


# --- causes and warnings -------------------------------------------------------------------------------


@dataclass
class ReasonTotal:
    category: str
    label: str
    occurrences: int
    lost_hours: Decimal
    shortfall: Decimal


def top_reasons(unit: Unit, on: dt.date, limit: int = 5) -> list[ReasonTotal]:
    """The month's deviations in the subtree by reason, largest shortfall first."""
    rows = (
        Deviation.objects.filter(unit__path__startswith=unit.path, day__gte=on.replace(day=1), day__lte=on)
        .values("category")
        .annotate(n=Count("id"), hours=Sum("lost_hours"), shortfall=Sum("shortfall"))
        .order_by("-shortfall", "-hours")[:limit]
    )
    return [
        ReasonTotal(
            r["category"], str(LostTimeCategory(r["category"]).label), r["n"], r["hours"], r["shortfall"]
        )
        for r in rows
    ]


@dataclass
class EarlyWarning:
    unit: Unit
    indicator: Indicator
    required_daily: Decimal
    best_30_day_rate: Decimal
    year_plan: Decimal
    ytd_actual: Decimal


def best_30_day_rates(
    units: list[Unit], indicators: list[Indicator], on: dt.date
) -> dict[tuple[str, int], Decimal]:
    """(unit code, indicator id) → the unit's best 30-day average output per working day in the 365 days
    up to `on`. The database sums per unit subtree and day (one row per unit-day, not per reporting unit)."""
    start = on - dt.timedelta(days=364)
    holidays = holidays_in(on.year) | holidays_in(on.year - 1)
    if not units or not indicators:
        return {}
    owner = Case(
        *[When(unit__path__startswith=u.path, then=Value(u.code)) for u in units],
        default=Value(""),
        output_field=CharField(),
    )
    per_unit_day = defaultdict(dict)
    rows = (
        DailyTotal.objects.filter(indicator__in=indicators, day__gte=start, day__lte=on)
        .filter(reduce(or_, (Q(unit__path__startswith=u.path) for u in units)))
        .annotate(owner=owner)
        .values("owner", "indicator_id", "day")
        .annotate(total=Sum("value"))
    )
    for row in rows:
        per_unit_day[(row["owner"], row["indicator_id"])][row["day"]] = row["total"]
    days = [start + dt.timedelta(days=i) for i in range(365)]
    work = [0 if d in holidays else 1 for d in days]
    rates = {}
    for unit in units:
        for indicator in indicators:
            series = per_unit_day.get((unit.code, indicator.pk), {})
            values = [series.get(d, ZERO) for d in days]
            best, window_sum, window_work = ZERO, ZERO, 0
            for i, (value, w) in enumerate(zip(values, work, strict=True)):
                window_sum += value
                window_work += w
                if i >= 30:
                    window_sum -= values[i - 30]
                    window_work -= work[i - 30]
                if i >= 29 and window_work:
                    best = max(best, window_sum / window_work)
            rates[(unit.code, indicator.pk)] = best.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    return rates


def early_warnings(
    root: Unit, on: dt.date, units: list[Unit], indicators: list[Indicator], per_child: dict | None = None
) -> list[EarlyWarning]:
    """Units whose daily rate still needed to meet the year's plan exceeds the best 30-day rate they have
    achieved in the past year: they will miss the year unless something changes. `units` are units below
    root and may include root itself (over its whole subtree): a group behind its plan is a warning even
    when no company is. `per_child` may pass in children_summaries(root, on, indicators, units) — and the
    root's own summary under its code — when the caller has them already (the dashboard, the pack)."""
    additive = [i for i in indicators if i.aggregation == Aggregation.SUM and i.higher_is_better]
    if not units or not additive:
        return []
    below = [u for u in units if u.pk != root.pk]
    if per_child is None:
        per_child = children_summaries(root, on, additive, below) if below else {}
    wanted = {i.pk for i in additive}
    per_unit = {code: [s for s in rows if s.indicator.pk in wanted] for code, rows in per_child.items()}
    best = best_30_day_rates(below, additive, on)
    if len(below) < len(units):  # the root itself, over its whole subtree
        if root.code not in per_unit:
            per_unit[root.code] = unit_summary(root, on, additive)
        best |= best_30_day_rates([root], additive, on)
    warnings = []
    for unit in units:
        for s in per_unit.get(unit.code, []):
            if s.required_daily_year is None or s.year_plan is None:
                continue
            rate = best[(unit.code, s.indicator.pk)]
            if s.required_daily_year > rate:
                warnings.append(
                    EarlyWarning(
                        unit, s.indicator, s.required_daily_year, rate, s.year_plan, s.ytd.actual or ZERO
                    )
                )
    warnings.sort(
        key=lambda w: (w.required_daily / w.best_30_day_rate) if w.best_30_day_rate else Decimal(10**9),
        reverse=True,
    )
    return warnings


def daily_series(unit: Unit, indicator: Indicator, start: dt.date, end: dt.date) -> dict[dt.date, Decimal]:
    """Day-by-day actual totals of an additive indicator over the subtree (for charts)."""
    rows = (
        DailyTotal.objects.filter(
            unit__path__startswith=unit.path, indicator=indicator, day__gte=start, day__lte=end
        )
        .values("day")
        .annotate(total=Sum("value"))
    )
    return {r["day"]: r["total"] for r in rows}


def daily_plan_series(
    unit: Unit, indicator: Indicator, year: int, on: dt.date | None = None
) -> dict[dt.date, Decimal]:
    """Day by day plan of the year, from the versions in force on `on` (default: the year's end)."""
    series = _plan_series(unit, [indicator], year, lambda _p: WHOLE, on=on)
    cumulative = series.cumulative.get((WHOLE, indicator.pk))
    if cumulative is None:
        return {}
    start = dt.date(year, 1, 1)
    return {
        start + dt.timedelta(days=i): cumulative[i + 1] - cumulative[i] for i in range(len(cumulative) - 1)
    }


# --- reads for the API and pages -----------------------------------------------------------------------


def default_day() -> dt.date:
    """Yesterday, local: the last complete production day (what a dispatcher reviews at 5 a.m.)."""
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=1)


def indicators_by_codes(codes: Iterable[str]) -> list[Indicator]:
    from headframe.core.errors import ValidationFailed

    codes = [c.strip() for c in codes if c.strip()]
    found = {i.code: i for i in indicators_for() if i.code in codes}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationFailed(
            f"unknown indicator(s): {', '.join(unknown)}",
            loc=("query", "indicators"),
            type="unknown_indicator",
        )
    return [found[c] for c in codes]


def actuals_of(unit: Unit, since: dt.date, until: dt.date, indicator: str | None = None, limit: int = 10000):
    from headframe.production.models import Actual

    qs = Actual.objects.filter(unit__path__startswith=unit.path, day__gte=since, day__lte=until)
    if indicator:
        qs = qs.filter(indicator__code=indicator)
    return qs.select_related("unit", "indicator", "entered_by").order_by(
        "day", "unit__path", "indicator", "shift"
    )[:limit]


def plan_versions(unit: Unit, year: int):
    return (
        PlanVersion.objects.filter(unit=unit, year=year)
        .select_related("unit", "approved_by")
        .order_by("effective_from")
    )


def plan_out(version: PlanVersion) -> dict:
    months = defaultdict(lambda: [0.0] * 12)
    for code, month, value in PlanMonth.objects.filter(version=version).values_list(
        "indicator__code", "month", "value"
    ):
        months[code][month - 1] = float(value)
    return {
        "id": version.pk,
        "unit": version.unit.code,
        "year": version.year,
        "kind": version.kind,
        "effective_from": version.effective_from,
        "approved_by": version.approved_by.username if version.approved_by else None,
        "approved_at": version.approved_at,
        "note": version.note,
        "months": dict(months),
    }


def deviations_of(unit: Unit, month: dt.date):
    first = month.replace(day=1)
    return (
        Deviation.objects.filter(
            unit__path__startswith=unit.path, day__gte=first, day__lte=_month_last_day(first)
        )
        .select_related("unit", "indicator")
        .order_by("-day", "unit__path")
    )


def deviation_out(d: Deviation) -> dict:
    return {
        "id": d.pk,
        "unit": d.unit.code,
        "indicator": d.indicator.code,
        "day": d.day,
        "shift": d.shift,
        "category": d.category,
        "lost_hours": float(d.lost_hours),
        "shortfall": float(d.shortfall),
        "note": d.note,
    }


def children_of(unit: Unit, visible=None) -> list[Unit]:
    qs = Unit.objects.filter(parent=unit, is_active=True).order_by("code")
    if visible is not None:
        qs = qs.filter(pk__in=visible.values("pk"))
    return list(qs)


def early_warnings_below(root: Unit, on: dt.date, visible) -> list[EarlyWarning]:
    """Early warnings for root and the units one level below it (the group and its companies, a company
    and its sites…)."""
    children = children_of(root, visible)
    return early_warnings(root, on, [root, *children], indicators_for(key_only=True))


def stored_values(unit: Unit, day: dt.date) -> dict[tuple[str, int], tuple[Decimal, bool]]:
    """(indicator code, shift) → (stored value, entered late) for one unit and day (the form's pre-fill)."""
    from headframe.production.models import Actual

    return {
        (code, shift): (value, late)
        for code, shift, value, late in Actual.objects.filter(unit=unit, day=day).values_list(
            "indicator__code", "shift", "value", "is_late"
        )
    }


def late_figures(unit: Unit, on: dt.date) -> int:
    """How many of the month's figures in the subtree were entered after 08:00 the next morning."""
    from headframe.production.models import Actual

    return Actual.objects.filter(
        unit__path__startswith=unit.path, day__gte=on.replace(day=1), day__lte=on, is_late=True
    ).count()


def month_locked(unit: Unit, on: dt.date) -> bool:
    return is_locked(unit, on, locked_months([unit]))


def reporting_units(unit: Unit) -> list[Unit]:
    """The units a template for `unit` lists: its work positions, else its areas, else itself."""
    below = Unit.objects.filter(path__startswith=unit.path, is_active=True).exclude(pk=unit.pk)
    for kind in ("position", "area"):
        units = list(below.filter(kind=kind).order_by("path"))
        if units:
            return units
    return [unit]
