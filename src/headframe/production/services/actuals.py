"""Actuals: one service for web form, API and Excel, and the daily and monthly totals behind them.
Each call validates everything first and writes nothing if any row is bad."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from headframe.core.audit import audit_entry, audit_record_many
from headframe.core.dates import day_in_range, out_of_range_item
from headframe.core.errors import ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.messages import named
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production import selectors
from headframe.production.calendar import is_late, month_days
from headframe.production.models import Actual, Aggregation, DailyTotal, Indicator, MonthlyTotal
from headframe.production.selectors.plausibility import plausibility_check
from headframe.production.selectors.reporting import calendars_for, reporting_level_errors
from headframe.production.values import ZERO, FigureError, _plain, day_values, parse_figure
from headframe.safety.selectors import production_gate
from headframe.safety.services import production_flags_record


@dataclass(frozen=True)
class ActualRow:
    """One figure to store. `loc` says where it came from, for error messages (API path or sheet/row/col).
    `confirm_implausible`: the person entering it confirmed it although it is implausible (see plausibility)."""

    unit: str
    indicator: str
    day: dt.date
    shift: int
    value: object
    loc: tuple = ()
    confirm_implausible: bool = False


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    late: int = 0
    flagged: int = 0  # figures accepted for positions not released under a campaign in "flag" mode
    confirmed: int = 0  # implausible figures stored because the person confirmed them
    errors: list[ErrorItem] = field(default_factory=list)


def actuals_upsert(
    *, actor, rows: list[ActualRow], source: str, now: dt.datetime | None = None, check_only: bool = False
) -> UpsertResult | None:
    """Store a batch of figures, all or nothing. Re-sending the same batch changes nothing; a correction
    keeps the previous value in the audit log. Raises ValidationFailed listing every bad row, or
    PermissionDenied for rows in a unit or closed month the actor may not write.

    Besides each row's own checks: an indicator is reported at one level of the unit tree per calendar year
    (type "reporting_level"), a shift number is within the unit's calendar ("shift_range"), a value is not
    impossible ("negative", "impossible") and, unless its row confirms it, not implausible ("implausible").

    `check_only`: run every check and raise as above, but store nothing (returns None when all pass)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    scope = scope_for(actor)
    codes = {r.unit for r in rows}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in={r.indicator for r in rows})}
    site_types = selectors.site_types_of(units.values())
    calendars = calendars_for(units.values())
    locks = selectors.locked_months(units.values())
    errors: list[ErrorItem] = []
    denied: list[ErrorItem] = []
    seen: dict[tuple, tuple] = {}
    clean: list[tuple[Unit, Indicator, dt.date, int, Decimal, tuple]] = []
    confirms: set[int] = set()  # indexes in `clean` of rows whose implausible value is confirmed
    for row in rows:
        loc = row.loc
        unit = units.get(row.unit)
        indicator = indicators.get(row.indicator)
        if unit is None or not scope.allows(Perm.VIEW, unit.path):
            errors.append(
                ErrorItem((*loc, "unit"), "", "unknown_unit", {"unit": repr(row.unit)}, "unknown_unit.named")
            )
            continue
        if not scope.allows(Perm.REPORT, unit.path):
            denied.append(
                ErrorItem(
                    (*loc, "unit"), "", "permission_denied", {"unit": unit.code}, "permission_denied.report"
                )
            )
            continue
        if unit.kind == UnitKind.GROUP:
            errors.append(ErrorItem((*loc, "unit"), "", "not_reporting", {}, "not_reporting.group"))
            continue
        if indicator is None or not indicator.is_active:
            errors.append(
                ErrorItem(
                    (*loc, "indicator"),
                    "",
                    "unknown_indicator",
                    {"indicator": repr(row.indicator)},
                    "unknown_indicator.named",
                )
            )
            continue
        if indicator.is_derived:
            errors.append(
                ErrorItem(
                    (*loc, "indicator"),
                    "",
                    "derived_indicator",
                    {"indicator": named(indicator)},
                    "derived_indicator.entered",
                )
            )
            continue
        site_type = site_types.get(unit.pk, "")
        if not selectors.reported_at(indicator, site_type):
            errors.append(
                ErrorItem(
                    (*loc, "indicator"),
                    "",
                    "not_reported_here",
                    {"indicator": named(indicator), "site_type": site_type, "unit": unit.code},
                    "not_reported_here.site",
                )
            )
            continue
        if not isinstance(row.day, dt.date):
            errors.append(ErrorItem((*loc, "day"), "", "date_type", {}))
            continue
        if not day_in_range(row.day):
            errors.append(out_of_range_item((*loc, "day"), row.day))
            continue
        if row.day > today:
            errors.append(ErrorItem((*loc, "day"), "", "future_day", {"day": row.day}, "future_day.day"))
            continue
        shifts = calendars[unit.pk].shift_count
        if not isinstance(row.shift, int) or isinstance(row.shift, bool) or not 0 <= row.shift <= shifts:
            errors.append(
                ErrorItem(
                    (*loc, "shift"),
                    "",
                    "shift_range",
                    {"unit": unit.code, "shifts": shifts, "shift": repr(row.shift)},
                    "shift_range.count",
                )
            )
            continue
        try:
            value = parse_figure(row.value)
        except FigureError as exc:
            errors.append(exc.item((*loc, "value")))
            continue
        key = (unit.pk, indicator.pk, row.day, row.shift)
        if key in seen:
            errors.append(
                ErrorItem(
                    (*loc,),
                    "",
                    "duplicate_row",
                    {
                        "other": ".".join(str(p) for p in seen[key]),
                        "unit": unit.code,
                        "indicator": named(indicator),
                        "day": row.day,
                        "shift": str(row.shift),
                    },
                    "duplicate_row.of",
                )
            )
            continue
        seen[key] = loc
        if selectors.is_locked(unit, row.day, locks) and not scope.allows(Perm.PLAN, unit.path):
            denied.append(
                ErrorItem(
                    (*loc, "day"),
                    "",
                    "period_locked",
                    {"month": f"{row.day:%m/%Y}", "unit": unit.code},
                    "period_locked.month",
                )
            )
            continue
        if row.confirm_implausible is True:
            confirms.add(len(clean))
        clean.append((unit, indicator, row.day, row.shift, value, loc))
    errors.extend(_mixed_shift_errors(clean))
    errors.extend(reporting_level_errors(clean))
    judged, confirmed = plausibility_check(clean, confirms)
    errors.extend(judged)
    gate_errors, flags = _safety_gate(clean)
    errors.extend(gate_errors)
    if errors:
        raise ValidationFailed(items=errors)
    if denied:
        raise PermissionDenied(items=denied)
    if check_only:
        return None
    write = {"actor": actor, "rows": clean, "source": source, "now": now, "calendars": calendars}
    write["confirmed"] = confirmed
    if not flags:
        return _write_actuals(**write)
    with transaction.atomic():
        result = _write_actuals(**write)
        result.flagged = production_flags_record(actor=actor, rows=flags)
    return result


def _safety_gate(rows) -> tuple[list[ErrorItem], list[tuple]]:
    """Safety-gated production: a work position under an active inspection campaign that has not been released
    gets no figures from the campaign's first day on — rejected with the reason, or (if the campaign's planner
    chose "flag") accepted and flagged for review. Units in no campaign pass untouched."""
    blocks = production_gate({r[0].pk for r in rows if r[0].kind == UnitKind.POSITION})
    errors, flags = [], []
    for unit, indicator, day, shift, _value, loc in rows:
        block = blocks.get(unit.pk)
        if block is None or day < block.starts_on:
            continue
        if block.mode == "reject":
            errors.append(ErrorItem((*loc, "unit"), block.reason, "not_released"))
        else:
            flags.append((unit, indicator.code, day, shift, block))
    return errors, flags


def _mixed_shift_errors(rows) -> list[ErrorItem]:
    """A day is reported either as a whole (shift 0) or shift by shift, never both: the day total would
    count the same coal twice. Checked within the batch and against what is already stored."""
    if not rows:
        return []
    days = [r[2] for r in rows]
    stored = defaultdict(set)
    for unit_id, indicator_id, day, shift in Actual.objects.filter(
        unit_id__in={r[0].pk for r in rows},
        indicator_id__in={r[1].pk for r in rows},
        day__range=(min(days), max(days)),
    ).values_list("unit_id", "indicator_id", "day", "shift"):
        stored[(unit_id, indicator_id, day)].add(shift)
    incoming = defaultdict(set)
    for unit, indicator, day, shift, _value, _loc in rows:
        incoming[(unit.pk, indicator.pk, day)].add(shift)
    errors = []
    for unit, indicator, day, shift, _value, loc in rows:
        key = (unit.pk, indicator.pk, day)
        others = (incoming[key] | stored[key]) - {shift}
        if (shift == 0 and others) or (shift != 0 and 0 in others):
            errors.append(
                ErrorItem(
                    (*loc, "shift"),
                    "",
                    "mixed_shifts",
                    {"unit": unit.code, "indicator": named(indicator), "day": day},
                    "mixed_shifts.day",
                )
            )
    return errors


@transaction.atomic
def _write_actuals(
    *, actor, rows, source: str, now: dt.datetime, calendars=None, confirmed=None
) -> UpsertResult:
    """`calendars`: unit id → ShiftPattern (the late deadline); `confirmed`: index in `rows` → why the
    value was implausible, for rows stored because the person confirmed them (said so in the audit log)."""
    calendars, confirmed = calendars or {}, confirmed or {}
    result = UpsertResult()
    if not rows:
        return result
    unit_ids = {r[0].pk for r in rows}
    indicator_ids = {r[1].pk for r in rows}
    days = [r[2] for r in rows]
    # Totals are recomputed from what this transaction sees: writers of the same units take turns (in
    # id order, so two batches cannot deadlock). SQLite serialises writers anyway.
    list(Unit.objects.select_for_update().filter(pk__in=unit_ids).order_by("pk").values_list("pk", flat=True))
    existing = {
        (a.unit_id, a.indicator_id, a.day, a.shift): a
        for a in Actual.objects.select_for_update().filter(
            unit_id__in=unit_ids, indicator_id__in=indicator_ids, day__range=(min(days), max(days))
        )
    }
    actor_obj = actor if getattr(actor, "pk", None) else None
    to_create: list[Actual] = []
    to_update: list[Actual] = []
    audits = []
    note_of = {}  # actual key → the audit note of a confirmed implausible value
    for n, (unit, indicator, day, shift, value, _loc) in enumerate(rows):
        current = existing.get((unit.pk, indicator.pk, day, shift))
        late = is_late(day, now, calendars.get(unit.pk))
        if n in confirmed and (current is None or current.value != value):
            note_of[(unit.pk, indicator.pk, day, shift)] = confirmed[n]
            result.confirmed += 1
        if current is None:
            to_create.append(
                Actual(
                    unit=unit,
                    indicator=indicator,
                    day=day,
                    shift=shift,
                    value=value,
                    source=source,
                    entered_by=actor_obj,
                    is_late=late,
                )
            )
            result.late += late
        elif current.value == value:
            result.unchanged += 1
        else:
            before = _plain(current.value)
            current.value, current.source, current.entered_by, current.is_late = (
                value,
                source,
                actor_obj,
                late,
            )
            to_update.append(current)
            result.late += late
            audits.append(
                audit_entry(
                    actor=actor,
                    action="update",
                    obj=current,
                    unit_path=unit.path,
                    object_repr=_actual_repr(unit, indicator, day, shift),
                    before={"value": before},
                    after={"value": _plain(value), **_confirmation(note_of, current)},
                )
            )
    Actual.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        for actual in to_update:
            actual.entered_at = now
        Actual.objects.bulk_update(
            to_update, ["value", "source", "entered_by", "is_late", "entered_at"], 1000
        )
    if to_create:
        if not all(a.pk for a in to_create):
            # Backends that cannot return ids from a bulk insert: read them back by natural key.
            ids = {
                (a.unit_id, a.indicator_id, a.day, a.shift): a.pk
                for a in Actual.objects.filter(
                    unit_id__in=unit_ids, indicator_id__in=indicator_ids, day__range=(min(days), max(days))
                ).only("pk", "unit_id", "indicator_id", "day", "shift")
            }
            for actual in to_create:
                actual.pk = ids[(actual.unit_id, actual.indicator_id, actual.day, actual.shift)]
        for actual in to_create:
            audits.append(
                audit_entry(
                    actor=actor,
                    action="create",
                    obj=actual,
                    unit_path=actual.unit.path,
                    object_repr=_actual_repr(actual.unit, actual.indicator, actual.day, actual.shift),
                    after={"value": _plain(actual.value), "source": source, **_confirmation(note_of, actual)},
                )
            )
    audit_record_many(audits)
    result.created, result.updated = len(to_create), len(to_update)
    changed = {(u.pk, i.pk, d) for u, i, d, _s, _v, _l in rows}
    refresh_totals(changed)
    return result


def _confirmation(notes: dict, actual: Actual) -> dict:
    """The audit entry's mark of an implausible value stored because the person confirmed it."""
    note = notes.get((actual.unit_id, actual.indicator_id, actual.day, actual.shift))
    return {"implausible_confirmed": True, "implausible": note} if note else {}


def _actual_repr(unit, indicator, day, shift) -> str:
    return f"{unit.code} {indicator.code} {day:%d/%m/%Y} ca {shift}"


def _dependents() -> dict[int, list[int]]:
    """Weight indicator id → the weighted averages that depend on it (clean coal → ash)."""
    dependents = defaultdict(list)
    for pk, weight_id in Indicator.objects.filter(weight__isnull=False).values_list("pk", "weight_id"):
        dependents[weight_id].append(pk)
    return dependents


def refresh_totals(keys: set[tuple[int, int, dt.date]]) -> None:
    """Recompute the daily and monthly totals behind the given (unit id, indicator id, day) keys from the
    stored actuals. Recomputing (rather than adding deltas) makes totals right whatever happened before."""
    if not keys:
        return
    indicators = {i.pk: i for i in Indicator.objects.all()}
    dependents = _dependents()
    # A weight's figures change the weighted average of the same unit and day (clean coal → ash).
    keys = set(keys) | {(u, dep, d) for u, i, d in keys for dep in dependents.get(i, ())}
    unit_ids = {k[0] for k in keys}
    indicator_ids = {k[1] for k in keys}
    wanted = indicator_ids | {indicators[i].weight_id for i in indicator_ids if indicators[i].weight_id}
    days = [k[2] for k in keys]
    shift_values: dict[tuple, list[tuple[int, Decimal]]] = defaultdict(list)
    for unit_id, indicator_id, day, shift, value in Actual.objects.filter(
        unit_id__in=unit_ids, indicator_id__in=wanted, day__range=(min(days), max(days))
    ).values_list("unit_id", "indicator_id", "day", "shift", "value"):
        shift_values[(unit_id, indicator_id, day)].append((shift, value))
    values = day_values(shift_values, indicators, keys)
    gone = keys - set(values)
    for unit_id, indicator_id, day in gone:
        DailyTotal.objects.filter(unit_id=unit_id, indicator_id=indicator_id, day=day).delete()
    DailyTotal.objects.bulk_create(
        [DailyTotal(unit_id=k[0], indicator_id=k[1], day=k[2], value=v) for k, v in values.items()],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["unit", "indicator", "day"],
        update_fields=["value"],
    )
    refresh_monthly_totals({(k[0], k[1], k[2].replace(day=1)) for k in keys})


def refresh_monthly_totals(months: set[tuple[int, int, dt.date]]) -> int:
    """Recompute MonthlyTotal rows for (unit id, indicator id, first day of month) keys from DailyTotal:
    sum and count of daily values, the last reported day and value, and Σ(value × weight) with Σ weight
    for weighted averages. One GROUP BY per month. Returns the number of rows written."""
    if not months:
        return 0
    indicators = {i.pk: i for i in Indicator.objects.all()}
    by_month = defaultdict(set)
    for unit_id, indicator_id, month in months:
        by_month[month].add((unit_id, indicator_id))
    rows = []
    for month, pairs in sorted(by_month.items()):
        last = month_days(month.year, month.month)[-1]
        unit_ids = {p[0] for p in pairs}
        indicator_ids = {p[1] for p in pairs}
        in_month = DailyTotal.objects.filter(unit_id__in=unit_ids, day__gte=month, day__lte=last)
        found = {}
        for row in (
            in_month.filter(indicator_id__in=indicator_ids)
            .values("unit_id", "indicator_id")
            .annotate(value_sum=Sum("value"), day_count=Count("id"))
        ):
            key = (row["unit_id"], row["indicator_id"])
            if key in pairs:
                found[key] = MonthlyTotal(
                    unit_id=key[0],
                    indicator_id=key[1],
                    month=month,
                    value_sum=row["value_sum"],
                    day_count=row["day_count"],
                )
        special = {
            i
            for i in indicator_ids
            if indicators[i].aggregation in (Aggregation.LAST, Aggregation.WEIGHTED_AVERAGE)
        }
        if special:
            wanted = special | {indicators[i].weight_id for i in special if indicators[i].weight_id}
            daily = defaultdict(dict)
            for unit_id, indicator_id, day, value in in_month.filter(indicator_id__in=wanted).values_list(
                "unit_id", "indicator_id", "day", "value"
            ):
                daily[(unit_id, indicator_id)][day] = value
            for (unit_id, indicator_id), total in found.items():
                indicator = indicators[indicator_id]
                days = daily.get((unit_id, indicator_id), {})
                if indicator.aggregation == Aggregation.LAST and days:
                    total.last_day = max(days)
                    total.last_value = days[total.last_day]
                elif indicator.aggregation == Aggregation.WEIGHTED_AVERAGE:
                    weights = daily.get((unit_id, indicator.weight_id), {})
                    total.weighted_sum = sum((v * weights.get(d, ZERO) for d, v in days.items()), ZERO)
                    total.weight_sum = sum((weights.get(d, ZERO) for d in days), ZERO)
        rows.extend(found.values())
        emptied = pairs - set(found)  # every day of the month was removed
        for unit_id, indicator_id in emptied:
            MonthlyTotal.objects.filter(unit_id=unit_id, indicator_id=indicator_id, month=month).delete()
    MonthlyTotal.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["unit", "indicator", "month"],
        update_fields=["value_sum", "day_count", "last_day", "last_value", "weighted_sum", "weight_sum"],
    )
    return len(rows)
