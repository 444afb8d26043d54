"""The bases a percentage of plan is taken on, and the one label each figure has in each language.

A percentage of plan means nothing without its basis, and two bases are in daily use:
- *% of the period plan* (``month``, ``year``, ``period``): the actual so far against the plan of the whole
  month, year or meeting period — the figure the group publishes ("đạt 25,4% kế hoạch năm");
- *% of plan to date* (``month_to_date``, ``year_to_date``): the actual against the plan of the days elapsed
  (tiến độ) — whether the unit keeps pace.
Pages, exports, the briefing pack, its narrative and the API all take their labels from here, so the same
label never stands on two different numbers. Both languages are plain data (not the active translation):
a pack frozen at a meeting's close is rendered in either language later.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation


@dataclass(frozen=True)
class Label:
    vi: str
    en: str

    def __str__(self) -> str:
        return self.of(translation.get_language() or "vi")

    def of(self, language: str) -> str:
        return self.en if language.startswith("en") else self.vi


# Percentages of plan, by basis.
BASES: dict[str, Label] = {
    "day": Label("% KH ngày", "% of day plan"),
    "month": Label("% KH tháng", "% of month plan"),
    "month_to_date": Label("% tiến độ KH tháng", "% of month plan to date"),
    "year": Label("% KH năm", "% of year plan"),
    "year_to_date": Label("% tiến độ KH năm", "% of year plan to date"),
    "year_original": Label("% KH năm ban đầu", "% of original year plan"),
    "period": Label("% KH kỳ", "% of period plan"),
}

# The plans the percentages are taken against.
PLANS: dict[str, Label] = {
    "day": Label("KH ngày", "Day plan"),
    "month": Label("KH tháng", "Month plan"),
    "month_to_date": Label("KH tháng đến nay", "Month plan to date"),
    "year": Label("KH năm", "Year plan"),
    "year_to_date": Label("KH năm đến nay", "Year plan to date"),
    "year_original": Label("KH năm ban đầu", "Original year plan"),
    "period": Label("KH kỳ", "Period plan"),
}

# Actuals.
ACTUALS: dict[str, Label] = {
    "day": Label("Thực hiện ngày", "Day actual"),
    "month_to_date": Label("Lũy kế tháng", "Month to date"),
    "year_to_date": Label("Lũy kế năm", "Year to date"),
    "period": Label("Thực hiện kỳ", "Period actual"),
}


def basis_labels() -> dict[str, dict[str, str]]:
    """{basis: {"vi": …, "en": …}} for the API and frozen packs."""
    return {key: {"vi": label.vi, "en": label.en} for key, label in BASES.items()}
