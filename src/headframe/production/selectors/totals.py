"""Reading totals: one pass over the materialised DailyTotal/MonthlyTotal rows of a subtree, bucketed by
unit class, with the special aggregations (weighted, latest value) on top."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    Expression,
    F,
    IntegerField,
    Max,
    OuterRef,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Round

from headframe.org.models import Unit
from headframe.production.models import Aggregation, DailyTotal, Indicator, MonthlyTotal
from headframe.production.selectors.results import ZERO, month_last_day

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
    month_end = month_last_day(on)
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
        .filter(indicator_id__in=indicator_ids, day__gt=on, day__lte=month_last_day(on))
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
    if (month_last_day(on) - on).days >= on.day or _tail_without_month(root, indicator_ids, on):
        return DAYS
    return MONTH_LESS_TAIL


def _month_to_date_rows(root: Unit, indicator_ids, on: dt.date, classes: _Classes, source: str) -> list[dict]:
    """Like _daily_rows for [first of month, on] and `on`, reading as few daily rows as the source allows
    (see _month_source): only `on` itself is read daily when the month comes from MonthlyTotal."""
    month_first, month_end = on.replace(day=1), month_last_day(on)
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


def _special_rows(  # noqa: C901  (one branch per aggregation and period kind)
    root: Unit, special: list[Indicator], year_start: dt.date, on: dt.date, classes: _Classes, source: str
) -> _SpecialRows:
    month_first, month_end = on.replace(day=1), month_last_day(on)
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
