"""The pack's constants and small helpers shared by its builders, renderers and narrative."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import translation

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit

PACK_VERSION = 2  # 2: percentages keyed by basis, period figures, findings as of the period end
LEAD_INDICATOR = "raw_coal_t"  # the figure the narrative leads with and the charts show
SECTIONS = ("summary", "production", "safety", "directives", "key_tasks")
SECTION_LABELS = {
    "summary": ("Tóm tắt", "Summary"),
    "production": ("Sản xuất", "Production"),
    "safety": ("An toàn", "Safety"),
    "directives": ("Kết luận, chỉ đạo", "Directives"),
    "key_tasks": ("Nhiệm vụ trọng tâm", "Key tasks"),
}
PRIORITIES = ("urgent", "high", "medium", "low")


# ---------------------------------------------------------------- small helpers


def num(value) -> float | int | None:
    """A selector's Decimal as a JSON number (ints stay ints)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    return value


def unit_json(unit: Unit) -> dict:
    return {
        "code": unit.code,
        "name_vi": unit.name_vi,
        "name_en": unit.name_en or unit.name_vi,
        "kind": unit.kind,
        "path": unit.path,
    }


def bilingual(text_of) -> dict:
    """{"vi": …, "en": …} of a lazily translated label."""
    out = {}
    for language in ("vi", "en"):
        with translation.override(language):
            out[language] = str(text_of())
    return out


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight of start, local midnight after end) as aware datetimes."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=LOCAL_TZ)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
    return first, last


# Keys a version 1 pack lacks, with what stands for them there.
_V1_RENAMED = {"year_pct_to_date": "ytd_pct"}
_V2_ONLY = (
    "period_actual",
    "period_plan",
    "period_pct",
    "year_plan_original",
    "year_pct_original",
)


def row_v2(row: dict) -> dict:
    """A production row with every version 2 key: a version 1 row (a meeting closed before) gets its renamed
    keys under their new names, None for the figures it never had, and no plan adjustment."""
    if "year_pct_to_date" in row:
        return row
    out = dict(row)
    for new, old in _V1_RENAMED.items():
        out[new] = row.get(old)
    for key in _V2_ONLY:
        out.setdefault(key, None)
    out.setdefault("plan_adjusted", False)
    return out
