"""Yearly events of the demo group: which mine struggles, when the rain comes, outages and episodes."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from headframe.org.models import Unit
from headframe.production.demo.scale import UNDERGROUND_EPISODES
from headframe.production.demo.structure import Site
from headframe.production.models import LostTimeCategory


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


def year_events(sites: list[Site], companies: list[Unit], year: int, seed: int) -> YearEvents:
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
        category = pick(rng, UNDERGROUND_EPISODES)
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


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in weighted], weights=[w for _, w in weighted])[0]
