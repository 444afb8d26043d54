"""The loader: holidays, plan versions and daily actuals (bulk-inserted) of the demo group, idempotently."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from headframe.core.audit import audit_record, channel
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.demo.days import DemoContext, figures_of_day
from headframe.production.demo.events import year_events
from headframe.production.demo.plans import company_plans, monthly_figures, site_plan
from headframe.production.demo.scale import GROUP_CODE, REGISTER_YEARS, demo_holidays
from headframe.production.demo.structure import demo_structure
from headframe.production.models import Actual, DailyTotal, Deviation, Holiday, Indicator, PlanVersion
from headframe.production.values import day_values


def load_production_demo(
    *, today: dt.date, years: int = 3, seed: int = 2027, register_years: tuple[int, ...] = REGISTER_YEARS
) -> dict:
    """Holidays, plans and daily actuals of the demo group from 1 January of (today.year - years + 1) up to
    the day before `today`, and of each whole earlier year in `register_years`, with deviations on the bad
    days. Returns what it created."""
    started = time.perf_counter()
    if years < 1:
        raise ValueError(f"years must be at least 1, not {years}")
    group = Unit.objects.filter(code=GROUP_CODE).first()
    if group is None:
        raise ValueError(f"load the organisation demo first: no unit {GROUP_CODE}")
    first_year = today.year - years + 1
    start, end = dt.date(first_year, 1, 1), today - dt.timedelta(days=1)
    earlier = sorted({y for y in register_years if y < first_year})
    loaded_years = [*earlier, *range(first_year, today.year + 1)]
    counts = dict.fromkeys(
        ("holidays", "plan_versions", "actuals", "daily_totals", "monthly_totals", "deviations", "days"), 0
    )
    with channel("system"), transaction.atomic():
        for year in loaded_years:
            for day, name in demo_holidays(year):
                _, created = Holiday.objects.get_or_create(day=day, unit=None, defaults={"name": name})
                counts["holidays"] += created
        sites, companies = demo_structure(group, seed)
        ctx = DemoContext(
            sites=sites,
            companies=companies,
            indicators={i.code: i for i in Indicator.objects.all()},
            holidays=frozenset(Holiday.objects.filter(unit__isnull=True).values_list("day", flat=True)),
            today=today,
            seed=seed,
        )
        for year in loaded_years:
            ctx.events[year] = year_events(sites, companies, year, seed)
            counts["plan_versions"] += _plans(ctx, year)
        days = [d for y in earlier for d in _days_to_generate(dt.date(y, 1, 1), dt.date(y, 12, 31))]
        days += _days_to_generate(start, end)
        counts["days"] = len(days)
        if days:
            counts.update(_actuals(ctx, days))
        if any(counts[k] for k in ("holidays", "plan_versions", "actuals", "deviations")):
            audit_record(
                actor=None,
                action="create",
                obj=group,
                unit_path=group.path,
                object_repr=f"{GROUP_CODE}: production demo data",
                after={
                    **counts,
                    "from": days[0].isoformat() if days else None,
                    "to": days[-1].isoformat() if days else None,
                    "seed": seed,
                    "source": Actual.Source.DEMO.value,
                },
            )
    counts["seconds"] = round(time.perf_counter() - started, 2)
    return counts


def _plans(ctx: DemoContext, year: int) -> int:
    """The year's original plan per site and company (1 January) and, from 1 July when that has come, an
    adjusted plan for the struggling mine (relieved by 5 %) and the best open pit (5 % more overburden)."""
    existing = set(PlanVersion.objects.filter(year=year).values_list("unit__code", "effective_from"))
    holidays = frozenset(d for d in ctx.holidays if d.year == year)
    created = 0
    jan1, jul1 = dt.date(year, 1, 1), dt.date(year, 7, 1)
    plans = {site.code: site_plan(site, year, holidays) for site in ctx.sites}
    plans.update(company_plans(ctx.sites, ctx.companies, year, holidays))
    for code, values in plans.items():
        for indicator, figure in values.items():
            ctx.capacity[(code, indicator, year)] = monthly_figures(figure, year, holidays)
        if (code, jan1) not in existing:
            services.plan_version_create(
                actor=None,
                unit_code=code,
                year=year,
                effective_from=jan1,
                values=values,
                note=f"Kế hoạch sản xuất – kinh doanh năm {year}",
            )
            created += 1
    events = ctx.events[year]
    if jul1 < ctx.today:
        adjustments = []
        if events.struggling:
            adjustments.append(
                (events.struggling, 0.95, None, "Điều chỉnh giảm do điều kiện địa chất phức tạp")
            )
        if events.best_open_pit:
            adjustments.append(
                (events.best_open_pit, 1.05, "overburden_m3", "Điều chỉnh tăng khối lượng bóc đất")
            )
        for code, factor, only, note in adjustments:
            if (code, jul1) in existing:
                continue
            values = {
                indicator: _scaled(figure, factor if only in (None, indicator) else 1.0)
                for indicator, figure in plans[code].items()
                if indicator != "ash_pct"
            }
            services.plan_version_create(
                actor=None,
                unit_code=code,
                year=year,
                effective_from=jul1,
                values=values,
                kind=PlanVersion.Kind.ADJUSTED,
                note=note,
            )
            created += 1
    return created


def _scaled(figure, factor: float):
    if factor == 1.0:
        return figure
    if isinstance(figure, list):
        return [Decimal(round(float(v) * factor)) for v in figure]
    return Decimal(round(float(figure) * factor))


def _days_to_generate(start: dt.date, end: dt.date) -> list[dt.date]:
    """Days in [start, end] outside the span demo actuals already cover in it (within one loaded range they
    are always contiguous; a register year is a range of its own)."""
    span = Actual.objects.filter(source=Actual.Source.DEMO, day__gte=start, day__lte=end).aggregate(
        first=Min("day"), last=Max("day")
    )
    days = []
    day = start
    while day <= end:
        if span["first"] is None or not span["first"] <= day <= span["last"]:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _actuals(ctx: DemoContext, days: list[dt.date]) -> dict:
    """Generate and write the days' figures month by month: actuals, daily totals, then monthly totals."""
    counts = defaultdict(int)
    by_month = defaultdict(list)
    for day in days:
        by_month[(day.year, day.month)].append(day)
    taken = _taken_keys(days)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    months_touched: set[tuple[int, int, dt.date]] = set()
    for (_year, _month), days_of_month in sorted(by_month.items()):
        rows: list[tuple[int, int, dt.date, int, Decimal]] = []
        deviations: list[Deviation] = []
        for day in days_of_month:
            figures_of_day(ctx, day, rows, deviations)
        rows = [r for r in rows if (r[0], r[1], r[2]) not in taken]
        insert_rows(
            Actual,
            ["unit", "indicator", "day", "shift", "value", "source", "is_late", "entered_at"],
            [(*row, Actual.Source.DEMO.value, False, now) for row in rows],
        )
        totals = _daily_totals(ctx, rows)
        insert_rows(DailyTotal, ["unit", "indicator", "day", "value"], [(*k, v) for k, v in totals.items()])
        Deviation.objects.bulk_create(deviations, batch_size=1000)
        months_touched |= {(u, i, d.replace(day=1)) for u, i, d in totals}
        counts["actuals"] += len(rows)
        counts["daily_totals"] += len(totals)
        counts["deviations"] += len(deviations)
    counts["monthly_totals"] = services.refresh_monthly_totals(months_touched)
    return dict(counts)


def insert_rows(model, fields: list[str], rows: list[tuple], batch: int = 5000) -> None:
    """Bulk INSERT without the ORM's per-field SQL compilation (~5× faster than bulk_create here): COPY on
    PostgreSQL, executemany on SQLite. Values must already be what the driver takes (int, Decimal, date,
    bool; datetimes through connection.ops.adapt_datetimefield_value)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        for i in range(0, len(rows), batch):
            cursor.executemany(sql, rows[i : i + batch])


def _taken_keys(days: list[dt.date]) -> set[tuple[int, int, dt.date]]:
    """(unit, indicator, day) that already have figures someone reported: the demo leaves those alone."""
    return set(
        Actual.objects.filter(day__gte=days[0], day__lte=days[-1])
        .exclude(source=Actual.Source.DEMO)
        .values_list("unit_id", "indicator_id", "day")
    )


def _daily_totals(ctx: DemoContext, rows) -> dict[tuple, Decimal]:
    """Daily values by the same rule as services.refresh_totals (values.day_values)."""
    indicators = {i.pk: i for i in ctx.indicators.values()}
    shifts = defaultdict(list)
    for u, i, d, s, v in rows:
        shifts[(u, i, d)].append((s, v))
    return day_values(shifts, indicators, shifts.keys())
