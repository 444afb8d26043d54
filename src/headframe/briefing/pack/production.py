"""The production section of a pack: per block its figures, its children, the best and worst unit, the
early warnings, the top reasons for lost output and the lead indicator's chart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from headframe.briefing import selectors as briefing_selectors
from headframe.briefing.pack.common import LEAD_INDICATOR, bilingual, num, unit_json
from headframe.briefing.pack.narrative import shows_period
from headframe.org.models import Unit, UnitKind
from headframe.production import selectors as production
from headframe.production.calendar import month_days
from headframe.production.models import Aggregation, LostTimeCategory


def _row(s: production.IndicatorSummary) -> dict:
    ind = s.indicator
    period = s.period or production.Figure()
    return {
        "indicator": ind.code,
        "name_vi": ind.name_vi,
        "name_en": ind.name_en,
        "uom": ind.unit_of_measure,
        "decimals": ind.decimals,
        "additive": ind.aggregation == Aggregation.SUM,
        "higher_is_better": ind.higher_is_better,
        "day_actual": num(s.day.actual),
        "day_plan": num(s.day.plan),
        # the meeting's own period [start, end]
        "period_actual": num(period.actual),
        "period_plan": num(period.plan),
        "period_pct": num(period.pct),
        # the month to date, against the month's plan to date and against the whole month's plan
        "month_actual": num(s.mtd.actual),
        "month_plan_to_date": num(s.mtd.plan),
        "month_pct_to_date": num(s.mtd.pct),
        "month_plan": num(s.month_plan),
        "month_pct": num(s.month_pct),
        # the year to date, against the year's plan to date and against the whole year's plan in force
        "ytd_actual": num(s.ytd.actual),
        "ytd_plan": num(s.ytd.plan),
        "year_pct_to_date": num(s.ytd.pct),
        "year_plan": num(s.year_plan),
        "year_pct": num(s.year_pct),
        "plan_adjusted": bool(s.plan_adjusted),
        "year_plan_original": num(s.year_plan_original),
        "year_pct_original": num(s.year_pct_original),
        "last_year_mtd": num(s.last_year_mtd),
        "last_year_ytd": num(s.last_year_ytd),
        "mtd_change_pct": num(s.mtd_change_pct),
        "ytd_change_pct": num(s.ytd_change_pct),
        "forecast_month_end": num(s.forecast_month_end),
        "forecast_year_end": num(s.forecast_year_end),
        "required_daily_month": num(s.required_daily_month),
        "required_daily_year": num(s.required_daily_year),
        "status": s.status,
    }


def _has_figures(row: dict) -> bool:
    return any(
        row[k] is not None for k in ("period_actual", "month_actual", "month_plan", "ytd_actual", "year_plan")
    )


def _ranking(children: list[Unit], per_child: dict, indicators, basis: str) -> list[dict]:
    """Per additive key indicator, the child furthest ahead of and the one furthest behind its plan (only
    when at least two children have a plan for it): the period's plan when the pack shows its period
    (`basis` "period"), else the month's plan to date ("month_to_date")."""

    def figure(s: production.IndicatorSummary) -> production.Figure:
        return (s.period or production.Figure()) if basis == "period" else s.mtd

    out = []
    for indicator in indicators:
        if indicator.aggregation != Aggregation.SUM:
            continue
        scored = []
        for child in children:
            s = next((r for r in per_child.get(child.code, []) if r.indicator.pk == indicator.pk), None)
            if s is not None and figure(s).pct is not None:
                scored.append((figure(s).pct, child, s))
        if len(scored) < 2:
            continue
        if not indicator.higher_is_better:
            scored = [(-pct, c, s) for pct, c, s in scored]
        scored.sort(key=lambda t: (t[0], t[1].code))
        (_p, worst, ws), (_q, best, bs) = scored[0], scored[-1]
        out.append(
            {
                "indicator": indicator.code,
                "name_vi": indicator.name_vi,
                "name_en": indicator.name_en,
                "basis": basis,
                "best": {**unit_json(best), "pct": num(figure(bs).pct), "actual": num(figure(bs).actual)},
                "worst": {**unit_json(worst), "pct": num(figure(ws).pct), "actual": num(figure(ws).actual)},
            }
        )
    return out


def _warning_json(w: production.EarlyWarning) -> dict:
    return {
        "unit": w.unit.code,
        "unit_name_vi": w.unit.name_vi,
        "unit_name_en": w.unit.name_en or w.unit.name_vi,
        "indicator": w.indicator.code,
        "name_vi": w.indicator.name_vi,
        "name_en": w.indicator.name_en,
        "uom": w.indicator.unit_of_measure,
        "decimals": w.indicator.decimals,
        "required_daily": num(w.required_daily),
        "best_30_day_rate": num(w.best_30_day_rate),
        "year_plan": num(w.year_plan),
        "ytd_actual": num(w.ytd_actual),
    }


def _reasons(unit: Unit, on: dt.date) -> list[dict]:
    out = []
    for r in production.top_reasons(unit, on):
        labels = bilingual(lambda r=r: LostTimeCategory(r.category).label)
        out.append(
            {
                "category": r.category,
                "label_vi": labels["vi"],
                "label_en": labels["en"],
                "occurrences": r.occurrences,
                "lost_hours": num(r.lost_hours),
                "shortfall": num(r.shortfall),
            }
        )
    return out


def _chart(unit: Unit, on: dt.date, indicator) -> dict:
    """The lead indicator day by day this month against the daily plan (a drawing, not a figure of record)."""
    if indicator is None:
        return {}
    days = [d for d in month_days(on.year, on.month) if d <= on]
    actual = production.daily_series(unit, indicator, days[0], on)
    plan = production.daily_plan_series(unit, indicator, on.year, on=on)
    if not actual and not plan:
        return {}
    return {
        "indicator": indicator.code,
        "name_vi": indicator.name_vi,
        "name_en": indicator.name_en,
        "uom": indicator.unit_of_measure,
        "days": [d.isoformat() for d in days],
        "actual": [num(actual.get(d)) for d in days],
        "plan": [num(plan[d].quantize(Decimal("0.1"))) if d in plan else None for d in days],
    }


def _warning_order(w: production.EarlyWarning):
    """Worst first, as the selectors order their warnings: needed rate over the best recent rate."""
    return (w.required_daily / w.best_30_day_rate) if w.best_30_day_rate else Decimal(10**9)


def production_sections(root: Unit, start: dt.date, on: dt.date, blocks: list[Unit]) -> dict[str, dict]:
    """{unit code: production section} for the root and each block unit below it, from three summaries
    (root whole, bucketed by block, bucketed by site), each with the period [start, on], and two
    early-warning reads (the root with its blocks, and the sites; a pack without blocks: the root with its
    sites) so that every level, the root included, is checked."""
    key = production.indicators_for(key_only=True)
    lead = next((i for i in key if i.code == LEAD_INDICATOR), key[0] if key else None)
    basis = "period" if shows_period(start, on) else "month_to_date"
    out: dict[str, dict] = {}
    root_rows = production.unit_summary(root, on, key, period_start=start)
    below = [b for b in blocks if b.pk != root.pk]
    sites = briefing_selectors.active_sites_under(root)
    if root.kind == UnitKind.SITE:
        sites = []
    per_block = production.children_summaries(root, on, key, below, period_start=start) if below else {}
    site_paths = {s.path: s.code for s in sites}
    site_depth = 2  # group / company / site

    def site_bucket(path: str) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) <= site_depth:
            return None
        return site_paths.get("/" + "/".join(parts[: site_depth + 1]) + "/")

    per_site = (
        production.summaries(
            root, on, key, bucket=site_bucket, keys=[s.code for s in sites], period_start=start
        )
        if sites
        else {}
    )
    # The root is a unit like any other: it may miss its year while each unit below still makes its own.
    if below:
        warn_top = production.early_warnings(
            root, on, [root, *below], key, per_child={root.code: root_rows, **per_block}
        )
        warn_sites = production.early_warnings(root, on, sites, key, per_child=per_site) if sites else []
    else:
        warn_top = production.early_warnings(
            root, on, [root, *sites], key, per_child={root.code: root_rows, **per_site}
        )
        warn_sites = [w for w in warn_top if w.unit.pk != root.pk]

    def section(unit: Unit, rows, children: list[Unit], per_child: dict, warnings) -> dict:
        rows_json = [_row(s) for s in rows]
        children_json = []
        for child in children:
            child_rows = {s.indicator.code: s for s in per_child.get(child.code, [])}
            children_json.append(
                {
                    **unit_json(child),
                    "figures": {
                        code: {
                            "period_actual": num((s.period or production.Figure()).actual),
                            "period_pct": num((s.period or production.Figure()).pct),
                            "month_actual": num(s.mtd.actual),
                            "month_pct_to_date": num(s.mtd.pct),
                            "status": s.status,
                        }
                        for code, s in child_rows.items()
                    },
                }
            )
        return {
            "on": on.isoformat(),
            "rows": [r for r in rows_json if _has_figures(r)],
            "children": children_json,
            "ranking": _ranking(children, per_child, key, basis),
            "early_warnings": [_warning_json(w) for w in warnings],
            "reasons": _reasons(unit, on),
            "chart": _chart(unit, on, lead),
        }

    root_children = below or sites
    root_per_child = per_block if below else per_site
    out[root.code] = section(root, root_rows, root_children, root_per_child, warn_top)
    for block in below:
        own_sites = [s for s in sites if s.path.startswith(block.path)]
        own = [w for w in warn_top if w.unit.pk == block.pk]
        own += [w for w in warn_sites if w.unit.path.startswith(block.path)]
        out[block.code] = section(
            block,
            per_block.get(block.code, []),
            own_sites,
            per_site,
            sorted(own, key=_warning_order, reverse=True),
        )
    return out
