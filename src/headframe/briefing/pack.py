"""The briefing pack: every figure a production-control briefing looks at, as one JSON-able dict.

`pack_for(unit, start, end)` builds it for a unit (the group, or one company) and a period; `pack_build(meeting)`
serves a closed meeting's frozen pack and builds an open meeting's live. The web page, the PDF, the Excel
workbook and the narrative are all drawn from this dict, so they agree to the unit.

Figures come from the selectors of the apps that own them, never recomputed here:
- production: `headframe.production.selectors` — the root's summary, one pass bucketed by company and one
  bucketed by site (best and worst units), early warnings (every level, the root included), top reasons,
  chart series. The figures are those of the meeting's own period [start, end] (`period_*`) and, as of the
  period's last day, the month to date, the year to date, the same periods last year and the daily rates
  still needed;
- safety: telemetry alarms raised in the period per site with their ISA-18.2 KPIs
  (`telemetry.selectors.alarm_kpis`); incidents of the period and findings as they stood at its end
  (`headframe.safety.selectors`);
- directives and key tasks: the briefing selectors (`directives_for_pack`, `key_task_statuses`).

Every percentage of plan says its basis in its key (see `headframe.production.figures`): `month_pct` is of
the whole month's plan, `month_pct_to_date` of the month's plan to date (tiến độ), `year_pct` of the year's
plan in force (adjusted), `year_pct_to_date` of the year's plan to date, `year_pct_original` of the original
year plan, `period_pct` of the period's plan. Version 1 packs (frozen on meetings closed before) call
`year_pct_to_date` `ytd_pct` and have no period figures; every renderer reads both (`row_v2`).

Numbers are floats (or None) in the indicator's base unit; percentages are those of the selectors (one
decimal, rounded half up). Names come in both languages (`name_vi`, `name_en`): a pack frozen when a
meeting closes renders in either language later. Nothing here swallows an error: a pack a meeting freezes
is whole or not built.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone, translation

from headframe.briefing import selectors as briefing_selectors
from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit, UnitKind
from headframe.production import selectors as production
from headframe.production.calendar import month_days
from headframe.production.figures import basis_labels
from headframe.production.models import Aggregation, LostTimeCategory
from headframe.safety import selectors as safety_selectors

log = logging.getLogger(__name__)

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


def _unit_json(unit: Unit) -> dict:
    return {
        "code": unit.code,
        "name_vi": unit.name_vi,
        "name_en": unit.name_en or unit.name_vi,
        "kind": unit.kind,
        "path": unit.path,
    }


def _bilingual(text_of) -> dict:
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
                "best": {**_unit_json(best), "pct": num(figure(bs).pct), "actual": num(figure(bs).actual)},
                "worst": {**_unit_json(worst), "pct": num(figure(ws).pct), "actual": num(figure(ws).actual)},
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
        labels = _bilingual(lambda r=r: LostTimeCategory(r.category).label)
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


# ---------------------------------------------------------------- production


def _warning_order(w: production.EarlyWarning):
    """Worst first, as the selectors order their warnings: needed rate over the best recent rate."""
    return (w.required_daily / w.best_30_day_rate) if w.best_30_day_rate else Decimal(10**9)


def _production(root: Unit, start: dt.date, on: dt.date, blocks: list[Unit]) -> dict[str, dict]:
    """{unit code: production section} for the root and each block unit below it, from three summaries
    (root whole, bucketed by block, bucketed by site), each with the period [start, on], and two
    early-warning reads (the root with its blocks, and the sites; a pack without blocks: the root with its
    sites) so that every level, the root included, is checked."""
    from headframe.briefing.narrative import shows_period

    key = production.indicators_for(key_only=True)
    lead = next((i for i in key if i.code == LEAD_INDICATOR), key[0] if key else None)
    basis = "period" if shows_period(start, on) else "month_to_date"
    out: dict[str, dict] = {}
    root_rows = production.unit_summary(root, on, key, period_start=start)
    below = [b for b in blocks if b.pk != root.pk]
    sites = list(
        Unit.objects.filter(path__startswith=root.path, kind=UnitKind.SITE, is_active=True).order_by("path")
    )
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
                    **_unit_json(child),
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


# ---------------------------------------------------------------- safety


def _telemetry(root: Unit, start: dt.date, end: dt.date) -> dict[str, dict]:
    """{site code: alarms raised in the period by priority + KPIs} for sites under root with telemetry."""
    from headframe.telemetry import selectors as telemetry
    from headframe.telemetry.models import Alarm, Gateway, Sensor

    first, last = period_bounds(start, end)
    sites = {
        g.site.code: g.site
        for g in Gateway.objects.filter(site__path__startswith=root.path).select_related("site")
    }
    by_priority: dict[str, dict[str, int]] = defaultdict(dict)
    for site_id, priority, n in (
        Alarm.objects.filter(site_path__startswith=root.path, raised_at__gte=first, raised_at__lt=last)
        .values_list("site_id", "priority")
        .annotate(n=Count("id"))
        .values_list("site_id", "priority", "n")
    ):
        by_priority[site_id][priority] = n
    # Sensors out of service when the pack is built: not monitored, whatever their readings say.
    out_of_service: dict[str, list[dict]] = defaultdict(list)
    for sensor in (
        Sensor.objects.filter(gateway__site__path__startswith=root.path, in_service=False)
        .select_related("gateway__site", "position")
        .order_by("code")
    ):
        until = sensor.out_of_service_until
        out_of_service[sensor.gateway.site.code].append(
            {
                "sensor": sensor.code,
                "position": sensor.position.code,
                "until": until.isoformat() if until else None,
                "reason": sensor.out_of_service_reason,
            }
        )
    out = {}
    for code, site in sorted(sites.items(), key=lambda kv: kv[1].path):
        kpis = telemetry.alarm_kpis(site_path=site.path, start=first, end=last)
        counts = by_priority.get(site.pk, {})
        out[code] = {
            **_unit_json(site),
            "alarms": kpis.alarms,
            "by_priority": {p: counts.get(p, 0) for p in PRIORITIES},
            "per_10_min": round(kpis.per_10_min, 3),
            "flood_periods": len(kpis.flood_periods),
            "standing": len(kpis.standing),
            "out_of_service": out_of_service.get(code, []),
            "bad_actors": [
                {"sensor": sensor, "limit": limit, "count": n} for sensor, limit, n in kpis.bad_actors[:3]
            ],
        }
    return out


def _finding_json(finding) -> dict:
    return {
        "id": finding.pk,
        "text": str(finding),
        "title": finding.title,
        "severity": finding.severity,
        "unit": finding.position.code,
        "deadline": finding.deadline.isoformat(),
        "created_at": timezone.localtime(finding.created_at).isoformat(),
        "closed_at": timezone.localtime(finding.closed_at).isoformat() if finding.closed_at else None,
    }


ITEMS_LISTED = 20


def _findings(findings) -> dict:
    findings = list(findings)
    return {"count": len(findings), "items": [_finding_json(f) for f in findings[:ITEMS_LISTED]]}


SERIOUS_INCIDENTS = ("high", "fatal")


def _incidents(counts: dict) -> dict:
    details = counts.get("details") or {}
    by_severity = details.get("by_severity") or {}
    by_kind = {k: v for k, v in counts.items() if k != "details"}
    return {
        "count": sum(by_kind.values()),
        "by": by_kind,
        "by_severity": dict(by_severity),
        "serious": sum(by_severity.get(s, 0) for s in SERIOUS_INCIDENTS),
        "injured": details.get("injured", 0),
    }


def _safety_items(unit: Unit, start: dt.date, end: dt.date) -> dict:
    """Incidents of the period; findings as they stood at its end: critical ones open at the end (raised by
    then, not closed by then), critical ones raised and closed within the period (told apart), and findings
    overdue at the end. A pack of a past period never counts what was raised after it."""
    first, last = period_bounds(start, end)
    overdue = safety_selectors.overdue_findings(unit, end)
    return {
        "available": True,
        "as_of": end.isoformat(),
        "open_critical": _findings(safety_selectors.open_critical_findings(unit, end)),
        "critical_opened_and_closed": _findings(
            safety_selectors.critical_findings_closed_within(unit, start, end)
        ),
        "overdue": {
            "count": len(overdue),
            "items": [
                {**_finding_json(o.finding), "days_overdue": o.days_overdue, "level": o.level}
                for o in overdue[:ITEMS_LISTED]
            ],
        },
        "incidents": _incidents(safety_selectors.incident_counts(unit, first, last)),
    }


def _safety(root: Unit, start: dt.date, end: dt.date, blocks: list[Unit]) -> dict[str, dict]:
    sites = _telemetry(root, start, end)
    out = {}
    for block in blocks:
        own = [s for s in sites.values() if s["path"].startswith(block.path)]
        totals = {p: sum(s["by_priority"][p] for s in own) for p in PRIORITIES}
        out[block.code] = {
            "sites": own,
            "alarms": sum(s["alarms"] for s in own),
            "by_priority": totals,
            "flood_periods": sum(s["flood_periods"] for s in own),
            "standing": sum(s["standing"] for s in own),
            "out_of_service": [item for s in own for item in s.get("out_of_service", [])],
            **_safety_items(block, start, end),
        }
    return out


# ---------------------------------------------------------------- directives and key tasks


def _directive_json(d, on: dt.date) -> dict:
    owner = d.owner_unit
    person = d.owner_person
    return {
        "id": d.pk,
        "number": d.number,
        "text": d.text,
        "owner": owner.code,
        "owner_path": owner.path,
        "owner_name_vi": owner.name_vi,
        "owner_name_en": owner.name_en or owner.name_vi,
        "owner_person": person.full_name if person else "",
        "deadline": d.deadline.isoformat(),
        "priority": d.priority,
        "status": str(d.__dict__.get("effective_status_db") or d.effective_status_on(on)),
        "done_at": timezone.localtime(d.done_at).date().isoformat() if d.done_at else None,
        "meeting": d.meeting_id,
    }


DIRECTIVE_GROUPS = ("overdue", "due", "done")


def _directives(unit: Unit, end: dt.date) -> dict:
    """Directives owned under the unit as the register stood at the period's end: overdue, due, and done
    since the unit's previous meeting (briefing.selectors.directives_for_pack decides which is which)."""
    answer = briefing_selectors.directives_for_pack(unit, end)
    since = answer.since
    return {
        "available": True,
        "since": since.isoformat() if since else None,
        **{key: [_directive_json(d, end) for d in getattr(answer, key)] for key in DIRECTIVE_GROUPS},
    }


def _key_tasks(unit: Unit, end: dt.date) -> dict:
    """The year's key tasks held by the unit or a unit above it, with each KPI's value and state."""
    from headframe.briefing.models import KeyTask

    above = unit.path.strip("/").split("/")
    tasks = list(
        KeyTask.objects.filter(year=end.year, owner_unit__code__in=above)
        .select_related("owner_unit")
        .order_by("owner_unit__path", "number")
    )
    return {
        "available": True,
        "items": [_key_task_json(status) for status in briefing_selectors.key_task_statuses(tasks, on=end)],
    }


def _key_task_json(status) -> dict:
    task = status.key_task
    return {
        "id": task.pk,
        "number": task.number,
        "title_vi": task.title_vi,
        "title_en": task.title_en or task.title_vi,
        "owner": task.owner_unit.code,
        "status": str(status.status),
        "kpis": [_kpi_json(v) for v in status.kpis],
    }


def _kpi_json(v) -> dict:
    kpi = v.kpi
    vs_plan = kpi.kind == "indicator_vs_plan"
    decimals = 1 if vs_plan else (kpi.indicator.decimals if kpi.indicator_id else 0)
    return {
        "name_vi": kpi.name_vi,
        "name_en": kpi.name_en or kpi.name_vi,
        "kind": kpi.kind,
        "comparator": kpi.comparator,
        "target": num(kpi.target),
        "value": num(v.value),
        "actual": num(v.actual),
        "plan": num(v.plan),
        "uom": "%" if vs_plan else (kpi.indicator.unit_of_measure if kpi.indicator_id else ""),
        "decimals": decimals,
        "state": str(v.state),
        "done": kpi.done,
    }


# ---------------------------------------------------------------- the pack


def pack_blocks(unit: Unit) -> list[Unit]:
    """The units a pack has a section for: the unit, and under the group each active company."""
    blocks = [unit]
    if unit.kind == UnitKind.GROUP:
        blocks += list(
            Unit.objects.filter(parent=unit, kind=UnitKind.COMPANY, is_active=True).order_by("code")
        )
    return blocks


def pack_for(unit: Unit, period_start: dt.date, period_end: dt.date, *, since: dt.date | None = None) -> dict:
    """The pack of a unit for [period_start, period_end]: the period's own figures, and the month and year
    to date as of period_end."""
    from headframe.briefing.narrative import narrative_draft, period_kind

    if period_end < period_start:
        from headframe.core.errors import ValidationFailed

        raise ValidationFailed("the period ends before it starts", loc=("query", "to"), type="bad_period")
    blocks = pack_blocks(unit)
    production_by = _production(unit, period_start, period_end, blocks)
    safety_by = _safety(unit, period_start, period_end, blocks)
    pack = {
        "version": PACK_VERSION,
        "unit": _unit_json(unit),
        "period": {
            "start": period_start.isoformat(),
            "end": period_end.isoformat(),
            "kind": period_kind(period_start, period_end),
        },
        "labels": basis_labels(),
        "generated_at": timezone.now().isoformat(),
        "frozen": False,
        "meeting": None,
        "blocks": [
            {
                "unit": _unit_json(block),
                "production": production_by[block.code],
                "safety": safety_by[block.code],
            }
            for block in blocks
        ],
        "directives": _directives(unit, period_end),
        "key_tasks": _key_tasks(unit, period_end),
    }
    pack["narrative"] = narrative_draft(pack)
    return pack


def pack_restrict(pack: dict, code: str) -> dict | None:
    """The company pack inside a group pack: that company's block alone, its directives, the same key tasks.
    The chair's edited summary speaks for the whole group, so a company pack has none (its narrative is the
    draft of its own block). None if the pack has no block for the code."""
    block = next((b for b in pack["blocks"] if b["unit"]["code"] == code), None)
    if block is None:
        return None
    if block is pack["blocks"][0]:
        return pack
    from headframe.briefing.narrative import narrative_draft

    out = {**pack, "unit": block["unit"], "blocks": [block], "narrative": None, "narrative_edited": None}
    directives = pack.get("directives") or {}
    if directives.get("available"):
        path = block["unit"]["path"]
        out["directives"] = {
            **directives,
            **{
                key: [d for d in items if (d.get("owner_path") or "").startswith(path)]
                for key, items in directives.items()
                if isinstance(items, list)
            },
        }
    out["narrative"] = narrative_draft(out)
    return out


PACK_CACHE_SECONDS = 15 * 60  # an upper bound only: a new figure, alarm or directive changes the key at once


def pack_version() -> str:
    """What the live pack of a meeting depends on, as one short string read from primary keys only: the last
    audit entry (every service write — figures, plans, directives, findings, meetings — audits in its own
    transaction), the last figure, alarm and alarm-journal row (ingest and the alarm engine do not audit), each
    with its time so a rolled-back id used again never matches, and the local day."""
    from headframe.core.models import AuditEntry
    from headframe.production.models import Actual
    from headframe.telemetry.models import Alarm, AlarmJournal

    parts = [timezone.localdate().isoformat()]
    for model, stamp in (
        (AuditEntry, "at"),
        (Actual, "entered_at"),
        (Alarm, "raised_at"),
        (AlarmJournal, "at"),
    ):
        last = model.objects.order_by("-pk").values_list("pk", stamp).first()
        parts.append(f"{last[0]}@{last[1].timestamp():.6f}" if last else "-")
    return "|".join(parts)


def _live_pack(meeting) -> dict:
    """An open or planned meeting's pack from the cache while nothing it shows has changed, else built now."""
    from django.conf import settings
    from django.core.cache import cache

    # Off in the test suite unless a test asks for it (settings.PACK_CACHE = True): tests roll back and reuse
    # ids under a frozen clock, which a key read from the database cannot tell apart.
    if not getattr(settings, "PACK_CACHE", not getattr(settings, "RUNNING_TESTS", False)):
        return pack_for(meeting.unit, meeting.period_start, meeting.period_end)
    period = f"{meeting.period_start}:{meeting.period_end}"
    key = f"briefing:pack:{meeting.pk}:{meeting.unit_id}:{period}:{pack_version()}"
    pack = cache.get(key)
    if pack is None:
        pack = pack_for(meeting.unit, meeting.period_start, meeting.period_end)
        cache.set(key, pack, PACK_CACHE_SECONDS)
    return pack


def pack_build(meeting) -> dict:
    """A closed meeting's frozen pack; an open meeting's pack built now, with the chair's edited summary."""
    if meeting.status == "closed" and meeting.pack:
        return {**meeting.pack, "frozen": True}
    if meeting.status == "closed":  # being closed: the pack to freeze, from the figures of this moment
        pack = pack_for(meeting.unit, meeting.period_start, meeting.period_end)
    else:
        pack = _live_pack(meeting)
    pack["meeting"] = meeting_json(meeting)
    pack["narrative_edited"] = {"vi": meeting.narrative_vi or "", "en": meeting.narrative_en or ""}
    return pack


def meeting_json(meeting) -> dict:
    return {
        "id": meeting.pk,
        "title": meeting.title,
        "type": meeting.type,
        "status": meeting.status,
        "starts_at": timezone.localtime(meeting.starts_at).isoformat(),
        "closed_at": timezone.localtime(meeting.closed_at).isoformat() if meeting.closed_at else None,
        "chair": meeting.chair.get_username() if meeting.chair_id else None,
    }


def pack_scope(user, meeting, code: str | None = None) -> str | None:
    """Which pack of a meeting the user may see: the code of the meeting's unit (the whole pack), of one
    company in it (that company's pack), or None (nothing: a 404). `code` asks for one block; without it,
    the whole pack if the user may see the meeting's unit, else the first company the user may see."""
    from headframe.briefing.selectors import can_see_pack
    from headframe.org.roles import Perm
    from headframe.org.selectors import scope_for

    whole = can_see_pack(user, meeting)
    blocks = pack_blocks(meeting.unit)
    scope = scope_for(user)
    if code:
        block = next((b for b in blocks if b.code == code), None)
        if block is None or not (whole or scope.allows(Perm.VIEW, block.path)):
            return None
        return block.code
    if whole:
        return meeting.unit.code
    return next((b.code for b in blocks[1:] if scope.allows(Perm.VIEW, b.path)), None)


def meeting_pack_for(user, meeting, code: str | None = None) -> dict | None:
    """The meeting's pack as the user may see it (see pack_scope), or None."""
    allowed = pack_scope(user, meeting, code)
    if allowed is None:
        return None
    return pack_restrict(pack_build(meeting), allowed)


def section_labels(language: str) -> list[tuple[str, str]]:
    index = 1 if language.startswith("en") else 0
    return [(key, SECTION_LABELS[key][index]) for key in SECTIONS]
