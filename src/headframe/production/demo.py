"""Production demo data for the demo group: holidays, plans, daily actuals, deviations.

Figures are sized from the public scale of a Vietnamese coal group (DESIGN.md §6): ~39 Mt raw coal and ~50 Mt
coal sold a year, ~9 Mm³ overburden and ~22 km of roadway a month, 1.3–1.5 million đồng per tonne sold,
4–8 t per man-shift underground. Actuals are reported where a dispatcher would drill down to: raw coal per
longwall face and per bench, metres per development heading, overburden per bench, man-shifts per area,
clean coal and ash per site (per processing line at the plant), sales and revenue per company, coal in stock
per site.

Deterministic: every figure of a day comes from a random generator seeded with (seed, day), every yearly
event (which mine struggles, when the rain comes) from one seeded with (seed, year), so loading a range in
one go or in pieces gives the same numbers. Idempotent: holidays and plan versions that exist are left
alone, and actuals are only generated for days outside the span the demo already covers — a second call with
the same `today` writes nothing, a call on a later day only fills the days since.

Actuals are bulk-inserted (they are demo data, not reports: one summary audit row, not one per figure) and
their daily and monthly totals are written with the same rules as `services.refresh_totals`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from headframe.core.audit import audit_record, channel
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.calendar import working_days
from headframe.production.models import (
    Actual,
    DailyTotal,
    Deviation,
    Holiday,
    Indicator,
    LostTimeCategory,
    PlanVersion,
)

GROUP_CODE = "HFG"
BASE_YEAR = 2026  # the year the group-level figures below describe; other years grow or shrink from it
GROWTH = 1.025  # plans (and so output) grow ~2.5 % a year
# Years loaded besides the recent ones: the group's 2021 register (its key tasks and the Q1/2021 briefing in
# the briefing demo) needs 2021's plans and daily figures. 2021 is sized to the public figure: Q1/2021 raw coal
# 9,78 Mt = 25,4 % of a year plan of ~38,5 Mt (DESIGN.md §6).
REGISTER_YEARS = (2021,)
LEVEL = {2021: 0.985}  # plan level against BASE_YEAR where the public figures say so, instead of GROWTH
PACE = {(2021, 1): 1.083}  # (year, quarter) → output against the demo's usual pace: Q1/2021 ran well ahead

# Group-level annual figures for BASE_YEAR, split over the sites of each type by seeded weights.
UNDERGROUND_RAW_T = 23_800_000
OPEN_PIT_RAW_T = 15_300_000
PLANT_CLEAN_T = 12_700_000
GROUP_SOLD_T = 50_000_000
PLANT_MAN_SHIFTS_PER_DAY = 850
PORT_MAN_SHIFTS_PER_DAY = 600

# Vietnamese lunar new year (mùng 1 Tết, computed for UTC+7). Mines stop from two days before to the
# fifth day of Tet.
TET = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 2),  # a day before China's: the new moon falls before midnight at UTC+7
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}
TET_BEFORE, TET_AFTER = 2, 4  # 29/30 Tết … mùng 5: seven days off
RESTART_RAMP = (0.45, 0.7, 0.9)  # output on the first days back, while faces are inspected and restarted

# Open pits plan and produce less in the rainy season (Quang Ninh: June–September).
OPEN_PIT_SEASON = (1.08, 1.08, 1.08, 1.06, 1.0, 0.9, 0.85, 0.85, 0.88, 1.02, 1.06, 1.08)

# Company sale prices, đồng per tonne sold (BASE_YEAR; +2 % a year).
PRICE_VND_PER_T = {"NDA": 1_420_000, "VSO": 1_460_000, "BLU": 1_380_000, "SLA": 1_400_000}
DEFAULT_PRICE_VND_PER_T = 1_350_000
PLANT_PRICE_VND_PER_T = 1_500_000

SHIFT_SPLIT_INDICATORS = {"raw_coal_t", "roadway_m", "overburden_m3", "man_shifts"}

NOTES = {
    LostTimeCategory.GEOLOGY: ["Gặp phay phá hủy, vỉa than mỏng đột ngột", "Đá kẹp dày, phải chống xén"],
    LostTimeCategory.WATER: ["Nước chảy vào gương lò, phải bơm thoát", "Ngập moong sau mưa lớn"],
    LostTimeCategory.ROOF: ["Lở nóc lò chợ, phải chống xử lý", "Giàn chống thủy lực sự cố"],
    LostTimeCategory.VENTILATION_GAS: [
        "Khí CH4 vượt ngưỡng, cắt điện theo QCVN 01:2011/BCT",
        "Quạt cục bộ sự cố, dừng đào lò",
    ],
    LostTimeCategory.EQUIPMENT: ["Hỏng máy khấu, chờ thay linh kiện", "Sự cố máng cào", "Hỏng máy xúc"],
    LostTimeCategory.POWER: ["Mất điện lưới", "Sự cố trạm biến áp khu vực"],
    LostTimeCategory.TRANSPORT: ["Sự cố băng tải chính", "Thiếu toa xe, ùn than"],
    LostTimeCategory.WEATHER: ["Mưa lớn kéo dài, dừng khai thác tầng dưới", "Bão, dừng sản xuất"],
}
UNDERGROUND_EPISODES = [
    (LostTimeCategory.GEOLOGY, 4),
    (LostTimeCategory.WATER, 2),
    (LostTimeCategory.ROOF, 2),
    (LostTimeCategory.VENTILATION_GAS, 2),
]
UNDERGROUND_OUTAGES = [
    (LostTimeCategory.EQUIPMENT, 5),
    (LostTimeCategory.TRANSPORT, 2),
    (LostTimeCategory.POWER, 1),
    (LostTimeCategory.ROOF, 1),
    (LostTimeCategory.VENTILATION_GAS, 2),
]
OPEN_PIT_OUTAGES = [
    (LostTimeCategory.EQUIPMENT, 6),
    (LostTimeCategory.TRANSPORT, 2),
    (LostTimeCategory.POWER, 1),
]
OUTAGE_PROBABILITY = 0.0012  # per producing position and day


def tet_holidays(year: int) -> list[tuple[dt.date, str]]:
    if year not in TET:
        raise ValueError(f"no Tet date for {year} in the demo table ({min(TET)}–{max(TET)})")
    tet = TET[year]
    days = []
    for offset in range(-TET_BEFORE, TET_AFTER + 1):
        day = tet + dt.timedelta(days=offset)
        name = "Nghỉ Tết Nguyên đán" if offset < 0 else f"Tết Nguyên đán (mùng {offset + 1})"
        days.append((day, name))
    return days


# Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month (a public holiday since 2007).
HUNG_KINGS = {
    2021: dt.date(2021, 4, 21),
    2022: dt.date(2022, 4, 10),
    2023: dt.date(2023, 4, 29),
    2024: dt.date(2024, 4, 18),
    2025: dt.date(2025, 4, 7),
    2026: dt.date(2026, 4, 26),
    2027: dt.date(2027, 4, 16),
}
# National Day is two days since 2021 (Labour Code 2019, art. 112): 2 September and the day before or after
# it, as the government announces each year.
NATIONAL_DAY_SECOND = {
    2021: dt.date(2021, 9, 3),
    2022: dt.date(2022, 9, 1),
    2023: dt.date(2023, 9, 1),
    2024: dt.date(2024, 9, 3),
    2025: dt.date(2025, 9, 1),
    2026: dt.date(2026, 9, 1),
}


def demo_holidays(year: int) -> list[tuple[dt.date, str]]:
    """Tet plus the national days: New Year, the Hung Kings' day, Reunification Day, Labour Day, National
    Day (two days from 2021). The lunar and announced days are known for 2021–2027 (Hung Kings) and
    2021–2026 (the second National Day); other years go without them. By day."""
    days = [(dt.date(year, 1, 1), "Tết Dương lịch")]
    days += tet_holidays(year)
    if year in HUNG_KINGS:
        days.append((HUNG_KINGS[year], "Giỗ Tổ Hùng Vương (10/3 âm lịch)"))
    days += [
        (dt.date(year, 4, 30), "Ngày Giải phóng miền Nam"),
        (dt.date(year, 5, 1), "Ngày Quốc tế Lao động"),
        (dt.date(year, 9, 2), "Quốc khánh"),
    ]
    if year in NATIONAL_DAY_SECOND:
        days.append((NATIONAL_DAY_SECOND[year], "Nghỉ Quốc khánh (ngày thứ hai)"))
    return sorted(days)


# --- the demo group's reporting structure --------------------------------------------------------------


@dataclass
class Site:
    unit: Unit
    company: Unit
    site_type: str
    areas: list[Unit] = field(default_factory=list)
    faces: list[Unit] = field(default_factory=list)  # longwall faces or benches: raw coal
    headings: list[Unit] = field(default_factory=list)  # development headings: roadway
    lines: list[Unit] = field(default_factory=list)  # processing lines: clean coal at the plant
    # static figures, seeded by the site code
    share: float = 0.0
    productivity: float = 0.0  # t per man-shift
    clean_ratio: float = 0.0
    roadway_per_t: float = 0.0
    stripping: float = 0.0  # m³ per t
    ash: float = 0.0
    stock_level: float = 0.0
    face_weights: list[float] = field(default_factory=list)
    overburden_weights: list[float] = field(default_factory=list)
    heading_weights: list[float] = field(default_factory=list)
    area_weights: list[float] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.unit.code


def _normalised(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights] if total else weights


def _structure(group: Unit, seed: int) -> tuple[list[Site], list[Unit]]:
    units = list(Unit.objects.filter(path__startswith=group.path, is_active=True).order_by("path"))
    by_id = {u.pk: u for u in units}
    children = defaultdict(list)
    for u in units:
        if u.parent_id:
            children[u.parent_id].append(u)
    companies = [u for u in units if u.kind == "company"]
    sites = []
    for u in units:
        if u.kind != "site":
            continue
        site = Site(unit=u, company=by_id[u.parent_id], site_type=u.site_type)
        stack = list(children[u.pk])
        while stack:
            child = stack.pop(0)
            if child.kind == "area":
                if child.parent_id == u.pk:
                    site.areas.append(child)
                stack.extend(children[child.pk])
            elif child.position_kind in ("longwall_face", "bench"):
                site.faces.append(child)
            elif child.position_kind == "development_heading":
                site.headings.append(child)
            elif child.position_kind == "processing_line":
                site.lines.append(child)
        for attr in ("areas", "faces", "headings", "lines"):
            getattr(site, attr).sort(key=lambda x: x.code)
        sites.append(site)
    _size(sites, seed)
    return sites, companies


def _size(sites: list[Site], seed: int) -> None:
    """Seeded static figures per site: its share of the group's output, productivity, ratios, weights."""
    for site in sites:
        rng = random.Random(f"{seed}:site:{site.code}")
        site.share = rng.uniform(0.8, 1.2)
        site.ash = rng.uniform(22.0, 28.0)
        site.stock_level = rng.uniform(120_000, 320_000)
        if site.site_type == "underground":
            site.productivity = rng.uniform(5.0, 7.2)
            site.clean_ratio = rng.uniform(0.55, 0.65)
            site.roadway_per_t = rng.uniform(0.0105, 0.0125)
            site.face_weights = _normalised([rng.uniform(0.6, 1.4) for _ in site.faces])
            site.heading_weights = _normalised([rng.uniform(0.7, 1.3) for _ in site.headings])
            site.area_weights = _normalised([_area_weight(a.code, "underground") for a in site.areas])
        elif site.site_type == "open_pit":
            site.productivity = rng.uniform(18.0, 26.0)
            site.clean_ratio = rng.uniform(0.45, 0.55)
            site.stripping = rng.uniform(7.0, 7.8)
            n = len(site.faces)
            # lower benches are in coal, upper benches mostly in overburden
            site.face_weights = _normalised(
                [(0.3 + 1.2 * i / max(n - 1, 1)) * rng.uniform(0.85, 1.15) for i in range(n)]
            )
            site.overburden_weights = _normalised(
                [(1.6 - 1.2 * i / max(n - 1, 1)) * rng.uniform(0.85, 1.15) for i in range(n)]
            )
            site.area_weights = _normalised([_area_weight(a.code, "open_pit") for a in site.areas])
        elif site.site_type == "plant":
            site.ash = rng.uniform(13.5, 15.5)
            site.stock_level = rng.uniform(400_000, 600_000)
            site.face_weights = _normalised([rng.uniform(0.8, 1.2) for _ in site.lines])
            site.area_weights = _normalised([rng.uniform(0.8, 1.2) for _ in site.areas])
        else:
            site.stock_level = rng.uniform(700_000, 1_100_000)
            site.area_weights = _normalised([rng.uniform(0.8, 1.2) for _ in site.areas])
    for site_type in ("underground", "open_pit"):
        group = [s for s in sites if s.site_type == site_type]
        total = sum(s.share for s in group)
        for s in group:
            s.share /= total


def _area_weight(code: str, site_type: str) -> float:
    suffix = code.rsplit("-", 1)[-1]
    if site_type == "underground":
        return {"KT": 0.28, "DL": 0.12, "TG": 0.08, "VT": 0.12}.get(suffix[:2], 0.05)
    return {"CT": 0.4, "TN": 0.08, "VT": 0.12}.get(suffix[:2], 0.05)


# --- plans ---------------------------------------------------------------------------------------------


def _growth(year: int) -> float:
    return LEVEL.get(year, GROWTH ** (year - BASE_YEAR))


def _seasonal(annual: float, year: int, holidays: frozenset[dt.date]) -> list[Decimal]:
    """Monthly figures of an open pit: working days × the season's weight, summing to `annual`."""
    weights = [len(working_days(year, m, holidays)) * OPEN_PIT_SEASON[m - 1] for m in range(1, 13)]
    total = sum(weights)
    months = [Decimal(round(annual * w / total)) for w in weights[:11]]
    months.append(Decimal(round(annual)) - sum(months))
    return months


def _site_plan(site: Site, year: int, holidays: frozenset[dt.date]) -> dict[str, Decimal | list]:
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


def _company_plans(sites: list[Site], companies: list[Unit], year: int, holidays) -> dict[str, dict]:
    """Coal sold and revenue are planned per company: mines sell ~97 % of their clean coal, the plant 98 % of
    its output, and the port trades the rest of the group's sales (imported and blended coal)."""
    g = _growth(year)
    clean = defaultdict(float)
    kind = {}
    for site in sites:
        plan = _site_plan(site, year, holidays)
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


def _months(figure, year: int, holidays: frozenset[dt.date]) -> list[Decimal]:
    if isinstance(figure, list):
        return figure
    return services.split_by_working_days(figure, year, holidays)


# --- yearly events -------------------------------------------------------------------------------------


@dataclass
class YearEvents:
    perf: dict[str, float]  # site code → output relative to the original plan, all year
    struggling: str | None  # the underground mine in trouble this year
    best_open_pit: str | None
    episodes: list[Episode]
    weekly: dict[str, list[float]] = field(default_factory=dict)  # site/company code → factor per week

    def week(self, code: str, day: dt.date) -> float:
        factors = self.weekly.get(code)
        return factors[(day.timetuple().tm_yday - 1) // 7] if factors else 1.0


@dataclass
class Episode:
    site: str
    start: dt.date
    end: dt.date
    category: str
    positions: list[int]  # unit ids hit (empty: the whole site, e.g. rain)
    factor: tuple[float, float]


def _year_events(sites: list[Site], companies: list[Unit], year: int, seed: int) -> YearEvents:
    rng = random.Random(f"{seed}:{year}:events")
    underground = [s for s in sites if s.site_type == "underground"]
    open_pits = [s for s in sites if s.site_type == "open_pit"]
    # member companies usually beat their plans by a little: plans are set to be met
    perf = {s.code: min(max(rng.gauss(1.015, 0.015), 0.98), 1.05) for s in sites}
    struggling = rng.choice(underground).code if underground else None
    if struggling:
        perf[struggling] = rng.uniform(0.85, 0.89)  # a seam that turned out thinner and more faulted
    weak_pit = rng.choice(open_pits).code if open_pits else None
    if weak_pit:
        perf[weak_pit] = rng.uniform(0.9, 0.93)
    episodes = []
    for site in rng.sample(underground, min(2, len(underground))):
        start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(40, 330))
        category = _pick(rng, UNDERGROUND_EPISODES)
        hit = rng.sample(site.faces, min(2, len(site.faces)))
        if category in (LostTimeCategory.VENTILATION_GAS, LostTimeCategory.WATER) and site.headings:
            hit += rng.sample(site.headings, min(2, len(site.headings)))
        episodes.append(
            Episode(
                site.code,
                start,
                start + dt.timedelta(days=rng.randrange(14, 29)),
                category,
                [u.pk for u in hit],
                (0.1, 0.45),
            )
        )
    for site in open_pits:
        if rng.random() < 0.7:
            start = dt.date(year, 6, 1) + dt.timedelta(days=rng.randrange(0, 100))
            episodes.append(
                Episode(
                    site.code,
                    start,
                    start + dt.timedelta(days=rng.randrange(4, 10)),
                    LostTimeCategory.WEATHER,
                    [],
                    (0.35, 0.7),
                )
            )
    candidates = [s for s in open_pits if s.code != weak_pit]
    best = max(candidates, key=lambda s: perf[s.code]).code if candidates else None
    # good and bad weeks (crews, equipment availability, sales by ship), so a best 30-day rate means something
    weekly = {}
    for code in [s.code for s in sites] + [c.code for c in companies]:
        factors, previous = [], 0.0
        for _ in range(54):
            previous = 0.5 * previous + rng.gauss(0, 0.035)
            factors.append(1 + min(max(previous, -0.12), 0.12))
        weekly[code] = factors
    return YearEvents(perf, struggling, best, episodes, weekly)


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in weighted], weights=[w for _, w in weighted])[0]


# --- the loader ----------------------------------------------------------------------------------------


@dataclass
class _Context:
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
        sites, companies = _structure(group, seed)
        ctx = _Context(
            sites=sites,
            companies=companies,
            indicators={i.code: i for i in Indicator.objects.all()},
            holidays=frozenset(Holiday.objects.filter(unit__isnull=True).values_list("day", flat=True)),
            today=today,
            seed=seed,
        )
        for year in loaded_years:
            ctx.events[year] = _year_events(sites, companies, year, seed)
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


def _plans(ctx: _Context, year: int) -> int:
    """The year's original plan per site and company (1 January) and, from 1 July when that has come, an
    adjusted plan for the struggling mine (relieved by 5 %) and the best open pit (5 % more overburden)."""
    existing = set(PlanVersion.objects.filter(year=year).values_list("unit__code", "effective_from"))
    holidays = frozenset(d for d in ctx.holidays if d.year == year)
    created = 0
    jan1, jul1 = dt.date(year, 1, 1), dt.date(year, 7, 1)
    plans = {site.code: _site_plan(site, year, holidays) for site in ctx.sites}
    plans.update(_company_plans(ctx.sites, ctx.companies, year, holidays))
    for code, values in plans.items():
        for indicator, figure in values.items():
            ctx.capacity[(code, indicator, year)] = _months(figure, year, holidays)
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


def _actuals(ctx: _Context, days: list[dt.date]) -> dict:
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
            _day_figures(ctx, day, rows, deviations)
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


def _daily_totals(ctx: _Context, rows) -> dict[tuple, Decimal]:
    """Daily values by the same rule as services.refresh_totals (services.day_values)."""
    indicators = {i.pk: i for i in ctx.indicators.values()}
    shifts = defaultdict(list)
    for u, i, d, s, v in rows:
        shifts[(u, i, d)].append((s, v))
    return services.day_values(shifts, indicators, shifts.keys())


# --- one day's figures ---------------------------------------------------------------------------------


def _q(value: float, places: int = 1) -> Decimal:
    return Decimal(f"{max(value, 0.0):.{places}f}")


def _restart_factor(day: dt.date) -> float:
    tet = TET.get(day.year)
    if tet is None:
        return 1.0
    back = (day - (tet + dt.timedelta(days=TET_AFTER))).days  # 1 on the first day back
    return RESTART_RAMP[back - 1] if 1 <= back <= len(RESTART_RAMP) else 1.0


def _day_figures(ctx: _Context, day: dt.date, rows: list, deviations: list) -> None:
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


def _company_perf(ctx: _Context, company: Unit, events: YearEvents) -> float:
    perfs = [events.perf.get(s.code, 1.0) for s in ctx.sites if s.company.pk == company.pk]
    return sum(perfs) / len(perfs) if perfs else 1.0


def _holiday_shifts(ctx: _Context, site: Site, day: dt.date) -> float:
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
        category = _pick(rng, outages)
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
