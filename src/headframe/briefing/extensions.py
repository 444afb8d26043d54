"""What the apps above briefing add to it without briefing importing them (briefing sits below workforce):

- pack sections (`PackSection`): a section of every block of the pack, built by its owner from its own
  models, rendered by its own template in the page and the PDF, written to its own sheet of the workbook, with
  a sentence for the drafted summary and a short string of what it depends on (the live pack's cache key);
- KPI measures (`KpiMeasure`): a figure computed by a module, `(unit, on) -> Decimal | None`, that a key
  task's KPI of kind "measure" reads by its code ("workforce.cases").

An app registers them in its AppConfig.ready(); the registry is per process, filled once at start-up. A
registration under a name already taken replaces it (a test may register a fake section and remove it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from headframe.org.models import Unit

# ---------------------------------------------------------------- pack sections


@dataclass(frozen=True)
class XlsxSheet:
    """One sheet of the workbook: its title, its headers (Vietnamese label, width, kind: None text, "i" integer,
    "n" amount, "p" percentage one decimal, "d" date) and its rows."""

    title: str
    headers: list[tuple[str, int, str | None]]
    rows: list[list]


@dataclass(frozen=True)
class PackSection:
    """A section of the pack a module above briefing adds.

    - `name`: its key in each block (and the page's anchor, `sec-<name>`);
    - `label`: (Vietnamese, English) heading;
    - `build(root, start, end, blocks)` → {block unit code: JSON-ready dict}; a block without a key has no
      section (a pack frozen before the section existed has none either: every renderer skips it);
    - `template`: a template name (or a Template), rendered once per block that has the section, with `b` (the
      block's view) and `s` (its section dict) and the page's `language`;
    - `xlsx(blocks)` → the sheets of the workbook, from the pack's blocks (each with "unit" and the section);
    - `narrative(block, language)` → a sentence of the drafted summary about the block (None: nothing to say);
    - `depends_on()` → a short string that changes whenever the section's figures may (the live pack's key).
    """

    name: str
    label: tuple[str, str]
    build: Callable[[Unit, dt.date, dt.date, list[Unit]], dict[str, dict]]
    template: Any
    xlsx: Callable[[list[dict]], list[XlsxSheet]] | None = None
    narrative: Callable[[dict, str], str | None] | None = None
    depends_on: Callable[[], str] | None = None
    order: int = 100


_SECTIONS: dict[str, PackSection] = {}


def register_pack_section(section: PackSection) -> None:
    _SECTIONS[section.name] = section


def unregister_pack_section(name: str) -> None:
    _SECTIONS.pop(name, None)


def pack_sections() -> list[PackSection]:
    """The registered sections, in their order then by name."""
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))


def pack_sections_in(pack: dict) -> list[PackSection]:
    """The registered sections some block of the pack holds."""
    blocks = pack.get("blocks") or []
    return [s for s in pack_sections() if any(s.name in b for b in blocks)]


def sections_version() -> str:
    """What the registered sections depend on, joined (empty when none tells)."""
    return "|".join(f"{s.name}:{s.depends_on()}" for s in pack_sections() if s.depends_on is not None)


# ---------------------------------------------------------------- KPI measures


@dataclass(frozen=True)
class KpiMeasure:
    """A figure a key task's KPI may read: `compute(unit, on)` as of a day (None: no figures), in `uom` with
    `decimals`. `cumulative`: a year-to-date total that grows through the year (a ≥ target is judged against
    the part due by the day); otherwise a rate or an average, which may still fall below its target before
    31 December (kept so far, it is "on track", not "met")."""

    code: str
    label: tuple[str, str]
    uom: str
    compute: Callable[[Unit, dt.date], Decimal | None]
    decimals: int = 0
    cumulative: bool = False


_MEASURES: dict[str, KpiMeasure] = {}


def register_kpi_measure(measure: KpiMeasure) -> None:
    _MEASURES[measure.code] = measure


def unregister_kpi_measure(code: str) -> None:
    _MEASURES.pop(code, None)


def kpi_measure(code: str | None) -> KpiMeasure | None:
    return _MEASURES.get(code or "")


def kpi_measures() -> list[KpiMeasure]:
    return sorted(_MEASURES.values(), key=lambda m: m.code)


def measure_values(wanted: set[tuple[str, Unit, dt.date]]) -> dict[tuple[str, int, dt.date], Decimal | None]:
    """{(measure code, unit id, day): value} of each (code, unit, day) asked, each computed once; a code no
    longer registered reads None (no figures)."""
    out: dict[tuple[str, int, dt.date], Decimal | None] = {}
    for code, unit, on in sorted(wanted, key=lambda w: (w[0], w[1].path, w[2])):
        measure = kpi_measure(code)
        out[(code, unit.pk, on)] = measure.compute(unit, on) if measure else None
    return out
