"""The pack rendered: one template body for the web page, the live room and the PDF (Excel: `xlsx.py`).

- `pack_context(pack, language)`: the pack with names picked for the language and charts drawn as SVG
  (no script: the PDF and a projector without JavaScript show the same drawing);
- `pack_html(pack, language)`: the standalone document WeasyPrint prints (A4 landscape, page numbers from
  the @page counter, the vendored Noto Sans so Vietnamese diacritics survive);
- `pack_pdf(pack, language)`; the workbook, `pack_xlsx(pack)`, is drawn from the same columns in `xlsx.py`.

The production table's columns (`production_columns`) are one list for the page, the PDF and the workbook,
each headed by the label of `headframe.production.figures` for its basis ("% KH tháng" over the month's
actual against the whole month's plan, "% tiến độ KH tháng" over the same against the plan to date…), so
the same label always stands on the same number. A period column group comes first when the pack's period
is not simply the month (to date) of its end; the original year plan's columns when a plan was adjusted.
Version 1 packs (frozen before) render through `common.row_v2`.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from headframe.briefing.extensions import pack_sections_in
from headframe.briefing.pack.common import PRIORITIES, SECTION_LABELS, SECTIONS, row_v2
from headframe.briefing.pack.narrative import month_name, narrative_of, period_name, shows_period
from headframe.briefing.selectors import kpi_state_labels, task_status_labels
from headframe.core.downloads import html_to_pdf
from headframe.core.formatting import format_number
from headframe.production.figures import ACTUALS, BASES, PLANS, Label

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "briefing"


def _en(language: str) -> bool:
    return (language or "vi").startswith("en")


def _fmt(value, decimals: int, language: str) -> str:
    if value is None:
        return "—"
    if _en(language):
        return format_number(value, decimals, thousands=",", decimal_sep=".")
    return format_number(value, decimals)


def rounded(value, decimals: int):
    """A figure as shown: rounded half up to the indicator's decimals (int when it has none)."""
    if value is None:
        return None
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(q) if decimals == 0 else float(q)


# ---------------------------------------------------------------- SVG chart


def chart_svg(chart: dict, language: str, width: int = 960, height: int = 240) -> str:
    """Daily actual (bars) against the daily plan (step line) for the month, as inline SVG."""
    if not chart or not chart.get("days"):
        return ""
    actual = [v or 0 for v in chart["actual"]]
    plan = [v or 0 for v in chart["plan"]]
    top = max([*actual, *plan, 1])
    left, right, upper, lower = 90, 10, 24, 28
    inner_w, inner_h = width - left - right, height - upper - lower
    n = len(chart["days"])
    step = inner_w / n

    def y(v):
        return upper + inner_h - (v / top) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pack-chart" viewBox="0 0 {width} {height}" '
        f'role="img" font-family="Noto Sans Pack, Noto Sans, sans-serif" '
        f'aria-label="{escape(chart["name_en" if _en(language) else "name_vi"])}">'
    ]
    for frac in (0, 0.5, 1):
        yy = y(top * frac)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#c9d2d9" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{yy + 4:.1f}" font-size="13" fill="#33434f" text-anchor="end">'
            f"{escape(_fmt(top * frac, 0, language))}</text>"
        )
    for i, v in enumerate(actual):
        if v:
            x = left + i * step + step * 0.15
            parts.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{step * 0.7:.1f}" '
                f'height="{upper + inner_h - y(v):.1f}" fill="#0b3d5c"/>'
            )
    points = []
    for i, v in enumerate(plan):
        points += [f"{left + i * step:.1f},{y(v):.1f}", f"{left + (i + 1) * step:.1f},{y(v):.1f}"]
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#e08e00" stroke-width="3"/>')
    for i, day in enumerate(chart["days"]):
        if i % 5 == 0 or i == n - 1:
            d = dt.date.fromisoformat(day)
            parts.append(
                f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - 8}" font-size="13" fill="#33434f" '
                f'text-anchor="middle">{d:%d/%m}</text>'
            )
    labels = ("actual", "plan") if _en(language) else ("thực hiện", "kế hoạch")
    parts.append(
        f'<rect x="{left}" y="4" width="12" height="12" fill="#0b3d5c"/>'
        f'<text x="{left + 16}" y="15" font-size="13" fill="#33434f">{labels[0]}</text>'
        f'<line x1="{left + 110}" x2="{left + 130}" y1="10" y2="10" stroke="#e08e00" stroke-width="3"/>'
        f'<text x="{left + 134}" y="15" font-size="13" fill="#33434f">{labels[1]} ({escape(chart["uom"])})</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------- the production table's columns


class Column:
    """One figure of a production row: its key in the pack, its label, "n" (an amount, in the indicator's
    decimals) or "p" (a percentage, one decimal), and its width in the workbook."""

    def __init__(self, key: str, label: Label, kind: str, width: int = 14, short: Label | None = None):
        self.key, self.label, self.kind, self.width = key, label, kind, width
        self.short = short or label  # under its group's heading on the page, where the group says the rest


PERIOD_COLUMNS = [
    Column("period_actual", ACTUALS["period"], "n", 16),
    Column("period_plan", PLANS["period"], "n", 16),
    Column("period_pct", BASES["period"], "p", 10),
]
MONTH_COLUMNS = [
    Column("month_actual", ACTUALS["month_to_date"], "n", 16),
    Column("month_plan", PLANS["month"], "n", 16),
    Column("month_pct", BASES["month"], "p", 10),
    Column("month_pct_to_date", BASES["month_to_date"], "p", 12),
]
YEAR_COLUMNS = [
    Column("ytd_actual", ACTUALS["year_to_date"], "n", 18),
    Column("year_plan", PLANS["year"], "n", 18),
    Column("year_pct", BASES["year"], "p", 10),
    Column("year_pct_to_date", BASES["year_to_date"], "p", 12),
]
ORIGINAL_COLUMNS = [
    Column("year_plan_original", PLANS["year_original"], "n", 18),
    Column("year_pct_original", BASES["year_original"], "p", 12),
]
LAST_YEAR_COLUMNS = [
    Column(
        "last_year_ytd",
        Label("Cùng kỳ năm trước (lũy kế)", "Same period last year (YTD)"),
        "n",
        18,
        Label("Lũy kế", "YTD"),
    ),
    Column("ytd_change_pct", Label("± % so cùng kỳ", "± % on last year"), "p", 10, Label("± %", "± %")),
]
NEEDED_COLUMNS = [
    Column(
        "required_daily_month",
        Label("Cần đạt mỗi ngày (tháng)", "Needed per day (month)"),
        "n",
        16,
        Label("tháng", "month"),
    ),
    Column(
        "required_daily_year",
        Label("Cần đạt mỗi ngày (năm)", "Needed per day (year)"),
        "n",
        16,
        Label("năm", "year"),
    ),
]
FORECAST_COLUMNS = [Column("forecast_year_end", Label("Dự báo cuối năm", "Year-end forecast"), "n", 18)]
GROUP_LABELS = {
    "month": Label("Tháng", "Month"),
    "year": Label("Năm", "Year"),
    "original": Label("KH năm ban đầu", "Original year plan"),
    "last_year": Label("Cùng kỳ năm trước", "Same period last year"),
    "needed": Label("Cần đạt mỗi ngày", "Needed per day"),
    "forecast": Label("Dự báo", "Forecast"),
}


def production_columns(pack: dict, *, forecast: bool = False) -> list[tuple[str, str, str, list[Column]]]:
    """[(group key, Vietnamese group label, English group label, columns)] of the pack's production table:
    the period's group when the pack shows it, the month, the year, the original year plan when any row's
    plan was adjusted, the same period last year, the daily rates needed (and the forecast: workbook)."""
    start, end = iso_date(pack["period"]["start"]), iso_date(pack["period"]["end"])
    rows = [row_v2(r) for b in pack["blocks"] for r in b["production"]["rows"]]
    groups = []
    if shows_period(start, end) and any(r["period_actual"] is not None for r in rows):
        groups.append(
            ("period", period_name(start, end, "vi"), period_name(start, end, "en"), PERIOD_COLUMNS)
        )
    month = month_name(end, "vi", with_year=False), month_name(end, "en", with_year=False)
    groups.append(("month", *month, MONTH_COLUMNS))
    groups.append(("year", f"Năm {end.year}", str(end.year), YEAR_COLUMNS))
    if any(r["plan_adjusted"] for r in rows):
        groups.append(("original", *_pair(GROUP_LABELS["original"]), ORIGINAL_COLUMNS))
    groups.append(("last_year", *_pair(GROUP_LABELS["last_year"]), LAST_YEAR_COLUMNS))
    groups.append(("needed", *_pair(GROUP_LABELS["needed"]), NEEDED_COLUMNS))
    if forecast:
        groups.append(("forecast", *_pair(GROUP_LABELS["forecast"]), FORECAST_COLUMNS))
    return groups


def _pair(label: Label) -> tuple[str, str]:
    return label.vi, label.en


# ---------------------------------------------------------------- view model


def pack_context(pack: dict, language: str) -> dict:
    """The pack with each name in the language, SVG charts, and the text to show as the summary."""
    en = _en(language)
    suffix = "_en" if en else "_vi"

    def named(d: dict, prefix: str = "name") -> dict:
        return {**d, prefix: d.get(prefix + suffix) or d.get(prefix + "_vi")}

    groups = production_columns(pack)
    columns = [c for _g, _vi, _en, cs in groups for c in cs]
    header = {
        "groups": [(key, en_label if en else vi_label, len(cs)) for key, vi_label, en_label, cs in groups],
        "columns": [(c.key, c.short.of("en" if en else "vi"), c.kind) for c in columns],
    }

    def cells(row: dict) -> list[dict]:
        return [
            {
                "key": c.key,
                "value": row[c.key],
                "decimals": 1 if c.kind == "p" else row["decimals"],
                "light": row.get("status", "") if c.key == "month_pct_to_date" else "",
            }
            for c in columns
        ]

    blocks = []
    for block in pack["blocks"]:
        production = block["production"]
        safety = block["safety"]
        rows = [row_v2(r) for r in production["rows"]]
        blocks.append(
            {
                "unit": named(block["unit"]),
                "is_root": block is pack["blocks"][0],
                "on": dt.date.fromisoformat(production["on"]),
                "rows": [{**named(r), "cells": cells(r)} for r in rows],
                "children": [named(c) for c in production["children"]],
                "ranking": [
                    {
                        **named(r),
                        "basis_label": BASES[r.get("basis", "month_to_date")].of("en" if en else "vi"),
                        "best": named(r["best"]),
                        "worst": named(r["worst"]),
                    }
                    for r in production["ranking"]
                ],
                "early_warnings": [
                    {**named(w), "unit_name": w["unit_name" + suffix]} for w in production["early_warnings"]
                ],
                "reasons": [named(r, "label") for r in production["reasons"]],
                "chart": production["chart"],
                "chart_svg": mark_safe(chart_svg(production["chart"], language)),
                "chart_name": (production["chart"] or {}).get("name" + suffix, ""),
                "safety": {
                    **safety,
                    "sites": [named(s) for s in safety.get("sites", [])],
                    "priorities": [(p, safety.get("by_priority", {}).get(p, 0)) for p in PRIORITIES],
                },
            }
        )
    directives = pack.get("directives") or {}
    key_tasks = pack.get("key_tasks") or {}
    index = 1 if en else 0
    raw = {b["unit"]["code"]: b for b in pack["blocks"]}
    extensions = [
        {
            "name": section.name,
            "label": section.label[index],
            "template": section.template,
            "items": [
                {"b": b, "s": raw[b["unit"]["code"]][section.name]}
                for b in blocks
                if section.name in raw[b["unit"]["code"]]
            ],
        }
        for section in pack_sections_in(pack)
    ]
    with translation.override("en" if en else "vi"):
        kpi_labels, task_labels = kpi_state_labels(), task_status_labels()
    return {
        "pack": pack,
        "language": "en" if en else "vi",
        "unit": named(pack["unit"]),
        "period_start": dt.date.fromisoformat(pack["period"]["start"]),
        "period_end": dt.date.fromisoformat(pack["period"]["end"]),
        "meeting": pack.get("meeting"),
        "frozen": pack.get("frozen", False),
        "narrative": narrative_of(pack, language),
        "narrative_vi": narrative_of(pack, "vi"),
        "narrative_en": narrative_of(pack, "en"),
        "blocks": blocks,
        "table": header,
        "period_name": period_name(
            dt.date.fromisoformat(pack["period"]["start"]),
            dt.date.fromisoformat(pack["period"]["end"]),
            language,
        ),
        "directives": {
            "available": directives.get("available", False),
            "since": directives.get("since"),
            "groups": [
                (
                    key,
                    [
                        {**named(d, "owner_name"), "deadline_date": iso_date(d["deadline"])}
                        for d in directives.get(key, [])
                    ],
                )
                for key in ("overdue", "due", "done")
            ],
        },
        "key_tasks": {
            "available": key_tasks.get("available", False),
            "items": [
                {
                    **named(t, "title"),
                    "status_label": task_labels.get(t.get("status"), t.get("status")),
                    "kpis": [
                        {
                            **named(k),
                            "state_label": kpi_labels.get(k.get("state"), k.get("state")),
                            "sign": "≤" if k.get("comparator") == "le" else "≥",
                        }
                        for k in t.get("kpis", [])
                    ],
                }
                for t in key_tasks.get("items", [])
            ],
        },
        "extensions": extensions,
        "sections": [
            *((key, SECTION_LABELS[key][index]) for key in SECTIONS),
            *((e["name"], e["label"]) for e in extensions),
        ],
        "priorities": PRIORITIES,
    }


# ---------------------------------------------------------------- HTML and PDF


def pack_html(pack: dict, language: str = "vi") -> str:
    """The printable document: the same body as the page, with the print stylesheet."""
    with translation.override("en" if _en(language) else "vi"):
        return render_to_string("briefing/pack_pdf.html", pack_context(pack, language))


def pack_pdf(pack: dict, language: str = "vi") -> bytes:
    return html_to_pdf(pack_html(pack, language), STATIC_DIR)


def iso_date(value):
    return dt.date.fromisoformat(value) if value else None
