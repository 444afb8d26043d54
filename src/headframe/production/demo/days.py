"""One day's figures: what each position, site and company reports on a day, with deviations on bad days."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from headframe.org.models import Unit
from headframe.production.calendar import working_days
from headframe.production.demo.events import YearEvents, pick
from headframe.production.demo.scale import (
    NOTES,
    OPEN_PIT_OUTAGES,
    OUTAGE_PROBABILITY,
    PACE,
    RESTART_RAMP,
    SHIFT_SPLIT_INDICATORS,
    TET,
    TET_AFTER,
    UNDERGROUND_OUTAGES,
)
from headframe.production.demo.structure import Site
from headframe.production.models import Deviation, Indicator


@dataclass
class DemoContext:
    sites: list[Site]
    companies: list[Unit]
    indicators: dict[str, Indicator]
    holidays: frozenset[dt.date]
    today: dt.date
    seed: int
    # (unit code, indicator code, year) → 12 monthly figures of the original plan: the mines' capacity
    capacity: dict = field(default_factory=dict)
    events: dict[int, YearEvents] = field(default_factory=dict)

    def daily(self, code: str, indicator: str, day: dt.date) -> float:
        """The original plan's figure for one day (0 on holidays)."""
        months = self.capacity.get((code, indicator, day.year))
        if months is None or day in self.holidays:
            return 0.0
        return float(months[day.month - 1]) / len(working_days(day.year, day.month, self.holidays))

    def level(self, code: str, indicator: str, day: dt.date) -> float:
        months = self.capacity.get((code, indicator, day.year))
        return float(months[day.month - 1]) if months else 0.0


def _q(value: float, places: int = 1) -> Decimal:
    return Decimal(f"{max(value, 0.0):.{places}f}")


def _restart_factor(day: dt.date) -> float:
    tet = TET.get(day.year)
    if tet is None:
        return 1.0
    back = (day - (tet + dt.timedelta(days=TET_AFTER))).days  # 1 on the first day back
    return RESTART_RAMP[back - 1] if 1 <= back <= len(RESTART_RAMP) else 1.0


def figures_of_day(ctx: DemoContext, day: dt.date, rows: list, deviations: list) -> None:  # noqa: C901
    rng = random.Random(f"{ctx.seed}:{day.isoformat()}")
    ind = {code: i.pk for code, i in ctx.indicators.items()}
    holiday = day in ctx.holidays
    events = ctx.events[day.year]
    pace = _restart_factor(day) * PACE.get((day.year, (day.month - 1) // 3 + 1), 1.0)
    split_shifts = day.year == ctx.today.year and day.month == ctx.today.month
    shift_rng = random.Random(
        f"{ctx.seed}:{day.isoformat()}:shifts"
    )  # so splitting never shifts other figures

    def emit(unit: Unit, code: str, value: Decimal) -> None:
        if split_shifts and code in SHIFT_SPLIT_INDICATORS and value > 0:
            shares = [
                shift_rng.uniform(0.3, 0.38),
                shift_rng.uniform(0.3, 0.36),
                shift_rng.uniform(0.24, 0.32),
            ]
            total = sum(shares)
            parts = [Decimal(f"{float(value) * s / total:.1f}") for s in shares[:2]]
            parts.append(value - sum(parts))
            if parts[-1] >= 0:
                for shift, part in enumerate(parts, start=1):
                    rows.append((unit.pk, ind[code], day, shift, part))
                return
        rows.append((unit.pk, ind[code], day, 0, value))

    for site in ctx.sites:
        perf = events.perf.get(site.code, 1.0) * events.week(site.code, day) * pace
        episodes = [e for e in events.episodes if e.site == site.code and e.start <= day <= e.end]
        whole_site = [e for e in episodes if not e.positions]
        if whole_site:
            perf *= rng.uniform(*whole_site[0].factor)
        hit = {pk: e for e in episodes for pk in e.positions}
        site_raw = 0.0
        if site.site_type in ("underground", "open_pit") and not holiday:
            raw_plan = ctx.daily(site.code, "raw_coal_t", day)
            outages = OPEN_PIT_OUTAGES if site.site_type == "open_pit" else UNDERGROUND_OUTAGES
            for unit, weight in zip(site.faces, site.face_weights, strict=True):
                value = _position_value(
                    rng, raw_plan * weight, perf, unit, hit, outages, deviations, ind, day, "raw_coal_t"
                )
                site_raw += float(value)
                emit(unit, "raw_coal_t", value)
            if site.site_type == "underground":
                road_plan = ctx.daily(site.code, "roadway_m", day)
                for unit, weight in zip(site.headings, site.heading_weights, strict=True):
                    value = _position_value(
                        rng, road_plan * weight, perf, unit, hit, outages, deviations, ind, day, "roadway_m"
                    )
                    emit(unit, "roadway_m", value)
            else:
                ob_plan = ctx.daily(site.code, "overburden_m3", day)
                for unit, weight in zip(site.faces, site.overburden_weights, strict=True):
                    value = _q(ob_plan * weight * perf * _noise(rng, 0.1), 0)
                    emit(unit, "overburden_m3", value)
                if whole_site:
                    _site_deviation(ctx, site, whole_site[0], day, ob_plan, perf, ind, deviations, rng)
            clean = site_raw * site.clean_ratio * _noise(rng, 0.05)
            rows.append((site.unit.pk, ind["clean_coal_t"], day, 0, _q(clean)))
            rows.append((site.unit.pk, ind["ash_pct"], day, 0, _q(site.ash + rng.gauss(0, 1.2), 2)))
        elif site.site_type == "plant" and not holiday:
            clean_plan = ctx.daily(site.code, "clean_coal_t", day)
            for unit, weight in zip(site.lines, site.face_weights, strict=True):
                clean = clean_plan * weight * perf * _noise(rng, 0.08)
                rows.append((unit.pk, ind["clean_coal_t"], day, 0, _q(clean)))
                rows.append((unit.pk, ind["ash_pct"], day, 0, _q(site.ash + rng.gauss(0, 0.8), 2)))
        # man-shifts: ventilation and drainage crews work through holidays, the others keep a skeleton
        shifts_plan = ctx.daily(site.code, "man_shifts", day) or _holiday_shifts(ctx, site, day)
        for area, weight in zip(site.areas, site.area_weights, strict=True):
            keep = 1.0
            if holiday:
                keep = 1.0 if area.code.rsplit("-", 1)[-1] in ("TG", "TN") else 0.05
            value = _q(shifts_plan * weight * keep * _noise(rng, 0.04), 0)
            if value > 0:
                emit(area, "man_shifts", value)
        season = 1 + 0.2 * math.sin(2 * math.pi * (day.timetuple().tm_yday / 365 + site.share))
        rows.append(
            (site.unit.pk, ind["coal_stock_t"], day, 0, _q(site.stock_level * season * _noise(rng, 0.03), 0))
        )

    if holiday:
        return
    for company in ctx.companies:
        plan = ctx.daily(company.code, "coal_sold_t", day)
        if not plan:
            continue
        mean_perf = _company_perf(ctx, company, events) * events.week(company.code, day)
        sold = plan * mean_perf * pace * _noise(rng, 0.15)
        price = ctx.level(company.code, "revenue_vnd", day) / max(
            ctx.level(company.code, "coal_sold_t", day), 1
        )
        rows.append((company.pk, ind["coal_sold_t"], day, 0, _q(sold)))
        rows.append((company.pk, ind["revenue_vnd"], day, 0, _q(sold * price * _noise(rng, 0.02), 0)))


def _company_perf(ctx: DemoContext, company: Unit, events: YearEvents) -> float:
    perfs = [events.perf.get(s.code, 1.0) for s in ctx.sites if s.company.pk == company.pk]
    return sum(perfs) / len(perfs) if perfs else 1.0


def _holiday_shifts(ctx: DemoContext, site: Site, day: dt.date) -> float:
    """A holiday has no plan; size the crews that still work from the month's plan per working day."""
    months = ctx.capacity.get((site.code, "man_shifts", day.year))
    if not months:
        return 0.0
    work = len(working_days(day.year, day.month, ctx.holidays)) or 1
    return float(months[day.month - 1]) / work


def _noise(rng: random.Random, sd: float) -> float:
    return min(max(rng.gauss(1.0, sd), 1 - 3 * sd), 1 + 3 * sd)


def _position_value(rng, plan, perf, unit, hit, outages, deviations, ind, day, indicator) -> Decimal:
    """A face's, bench's or heading's figure for the day; a deviation when an episode or a breakdown hits it."""
    value = plan * perf * _noise(rng, 0.1)
    category = None
    episode = hit.get(unit.pk)
    if episode is not None:
        value *= rng.uniform(*episode.factor)
        category = episode.category
    elif rng.random() < OUTAGE_PROBABILITY:
        value *= rng.uniform(0.0, 0.5)
        category = pick(rng, outages)
    decimals = 0 if indicator == "overburden_m3" else 1
    figure = _q(value, decimals)
    if category is not None and plan > 0:
        shortfall = max(plan - float(figure), 0.0)
        lost = min(max(round(shortfall / plan * 24 * 2) / 2, 0.5), 24.0)
        deviations.append(
            Deviation(
                unit=unit,
                indicator_id=ind[indicator],
                day=day,
                category=category,
                lost_hours=Decimal(f"{lost:.2f}"),
                shortfall=_q(shortfall, 4),
                note=rng.choice(NOTES.get(category, [""])),
            )
        )
    return figure


def _site_deviation(ctx, site, episode, day, plan, perf, ind, deviations, rng) -> None:
    """Rain stops a whole pit: one deviation for the site's overburden."""
    if plan <= 0:
        return
    lost_share = max(1 - perf, 0.0)
    deviations.append(
        Deviation(
            unit=site.unit,
            indicator_id=ind["overburden_m3"],
            day=day,
            category=episode.category,
            lost_hours=Decimal(f"{min(max(round(lost_share * 24 * 2) / 2, 0.5), 24.0):.2f}"),
            shortfall=_q(plan * lost_share, 4),
            note=rng.choice(NOTES[episode.category]),
        )
    )
