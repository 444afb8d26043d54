"""The demo group's reporting structure: sites of the organisation demo, sized from the group's figures."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from headframe.org.models import Unit


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


def demo_structure(group: Unit, seed: int) -> tuple[list[Site], list[Unit]]:
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
