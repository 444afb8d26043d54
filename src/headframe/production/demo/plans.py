"""Plans of the demo group: each site's and company's year, spread over months by working days."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from headframe.org.models import Unit
from headframe.production.calendar import split_by_working_days, working_days
from headframe.production.demo.scale import (
    BASE_YEAR,
    DEFAULT_PRICE_VND_PER_T,
    GROUP_SOLD_T,
    GROWTH,
    LEVEL,
    OPEN_PIT_RAW_T,
    OPEN_PIT_SEASON,
    PLANT_CLEAN_T,
    PLANT_MAN_SHIFTS_PER_DAY,
    PLANT_PRICE_VND_PER_T,
    PORT_MAN_SHIFTS_PER_DAY,
    PRICE_VND_PER_T,
    UNDERGROUND_RAW_T,
)
from headframe.production.demo.structure import Site


def _growth(year: int) -> float:
    return LEVEL.get(year, GROWTH ** (year - BASE_YEAR))


def _seasonal(annual: float, year: int, holidays: frozenset[dt.date]) -> list[Decimal]:
    """Monthly figures of an open pit: working days × the season's weight, summing to `annual`."""
    weights = [len(working_days(year, m, holidays)) * OPEN_PIT_SEASON[m - 1] for m in range(1, 13)]
    total = sum(weights)
    months = [Decimal(round(annual * w / total)) for w in weights[:11]]
    months.append(Decimal(round(annual)) - sum(months))
    return months


def site_plan(site: Site, year: int, holidays: frozenset[dt.date]) -> dict[str, Decimal | list]:
    g = _growth(year)
    whole = lambda x: Decimal(round(x))  # noqa: E731
    level = lambda x: [Decimal(f"{x:.2f}")] * 12  # noqa: E731
    if site.site_type == "underground":
        raw = UNDERGROUND_RAW_T * site.share * g
        return {
            "raw_coal_t": whole(raw),
            "clean_coal_t": whole(raw * site.clean_ratio),
            "roadway_m": whole(raw * site.roadway_per_t),
            "man_shifts": whole(raw / site.productivity),
            "ash_pct": level(site.ash),
        }
    if site.site_type == "open_pit":
        raw = OPEN_PIT_RAW_T * site.share * g
        return {
            "raw_coal_t": _seasonal(raw, year, holidays),
            "clean_coal_t": _seasonal(raw * site.clean_ratio, year, holidays),
            "overburden_m3": _seasonal(raw * site.stripping, year, holidays),
            "man_shifts": whole(raw / site.productivity),
            "ash_pct": level(site.ash),
        }
    if site.site_type == "plant":
        return {
            "clean_coal_t": whole(PLANT_CLEAN_T * g),
            "man_shifts": whole(PLANT_MAN_SHIFTS_PER_DAY * 365 * g),
            "ash_pct": level(site.ash),
        }
    return {"man_shifts": whole(PORT_MAN_SHIFTS_PER_DAY * 365 * g)}


def company_plans(sites: list[Site], companies: list[Unit], year: int, holidays) -> dict[str, dict]:
    """Coal sold and revenue are planned per company: mines sell ~97 % of their clean coal, the plant 98 % of
    its output, and the port trades the rest of the group's sales (imported and blended coal)."""
    g = _growth(year)
    clean = defaultdict(float)
    kind = {}
    for site in sites:
        plan = site_plan(site, year, holidays)
        figure = plan.get("clean_coal_t", 0)
        clean[site.company.code] += float(sum(figure) if isinstance(figure, list) else figure)
        kind.setdefault(site.company.code, site.site_type)
    sold = {}
    for company in companies:
        ratio = {"plant": 0.98, "port": 0.0}.get(kind.get(company.code, ""), 0.97)
        sold[company.code] = clean[company.code] * ratio
    traders = [c.code for c in companies if kind.get(c.code) == "port"] or [c.code for c in companies]
    rest = max(GROUP_SOLD_T * g - sum(sold.values()), 0)
    for code in traders:
        sold[code] += rest / len(traders)
    plans = {}
    for company in companies:
        price = _price(company.code, kind.get(company.code, ""), year)
        plans[company.code] = {
            "coal_sold_t": Decimal(round(sold[company.code])),
            "revenue_vnd": Decimal(round(sold[company.code] * price, -6)),
        }
    return plans


def _price(company: str, site_type: str, year: int) -> float:
    base = PRICE_VND_PER_T.get(company) or (
        PLANT_PRICE_VND_PER_T if site_type == "plant" else DEFAULT_PRICE_VND_PER_T
    )
    return base * 1.02 ** (year - BASE_YEAR)


def monthly_figures(figure, year: int, holidays: frozenset[dt.date]) -> list[Decimal]:
    if isinstance(figure, list):
        return figure
    return split_by_working_days(figure, year, holidays)
