"""Reads of the epidemic register: the cases (the medical role), contact tracing from rosters and the lamp room's
presence records, its export, and daily counts by unit for anyone who may view the unit (numbers only).

A trace is a handful of queries whatever the size of the workforce: the index worker's roster entries in the window,
everyone rostered on those (position, day, shift) slots (the roster's (position, day, shift) index), the index
worker's presences, everyone who went down or came up at the same mine within the cage minutes, and the contacts
themselves (scoped: another company's people never appear)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.dates import check_day
from headframe.core.downloads import XLSX_TYPE
from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.production.excel import table_csv_vi, table_xlsx
from headframe.workforce.models import (
    CaseStatus,
    EpidemicCase,
    EpidemicTest,
    Presence,
    RosterEntry,
    TestResult,
    Worker,
)
from headframe.workforce.selectors.health import audit_read

DEFAULT_DAYS = 14
MAX_DAYS = 60
DEFAULT_CAGE_MINUTES = 10
MAX_CAGE_MINUTES = 120
MAX_COUNT_DAYS = 92


def case_for(user, case_id: int, *, loc: tuple = ("path", "case_id")) -> EpidemicCase:
    """The case, if the user may see its worker's unit (404 otherwise, exactly as an unknown id); 403 when
    visible without the medical role."""
    case = EpidemicCase.objects.select_related("worker", "worker__unit").filter(pk=case_id).first()
    scope = scope_for(user)
    if case is None or not scope.allows(Perm.VIEW, case.worker.unit.path):
        raise NotFound(loc=loc, type="unknown_case", key="unknown_case.id", params={"case": case_id})
    if not scope.allows(Perm.MEDICAL, case.worker.unit.path):
        raise PermissionDenied(
            loc=loc, key="permission_denied.medical", params={"unit": case.worker.unit.code}
        )
    return case


def cases_visible(user, unit: Unit | None = None) -> QuerySet[EpidemicCase]:
    """The cases of the workers where the user holds the medical role (under `unit`), newest first."""
    qs = EpidemicCase.objects.filter(scope_for(user).q(Perm.MEDICAL, "worker__unit__path")).select_related(
        "worker", "worker__unit"
    )
    if unit is not None:
        qs = qs.filter(worker__unit__path__startswith=unit.path)
    return qs.order_by("-confirmed_on", "worker__employee_no")


def cases_read(user, unit: Unit | None, limit: int) -> list[EpidemicCase]:
    """The newest `limit` cases the user may read (see cases_visible), for a page or the API: names with a
    disease are health records, so the read is audited (how many, where; never who)."""
    cases = list(cases_visible(user, unit)[:limit])
    if cases:
        where = unit or cases[0].worker.unit
        audit_read(user, where, unit_path=where.path, what="epidemic_cases", cases=len(cases))
    return cases


def tests_visible(user, unit: Unit | None = None) -> QuerySet[EpidemicTest]:
    qs = EpidemicTest.objects.filter(scope_for(user).q(Perm.MEDICAL, "worker__unit__path")).select_related(
        "worker", "worker__unit"
    )
    if unit is not None:
        qs = qs.filter(worker__unit__path__startswith=unit.path)
    return qs.order_by("-tested_on", "worker__employee_no")


# --- contact tracing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactReason:
    kind: (
        str  # "roster": same shift × same work position; "cage_in" / "cage_out": went down / came up together
    )
    day: dt.date
    place: Unit  # the work position (roster) or the mine (cage)
    shift: int | None = None
    at: dt.datetime | None = None  # the contact's check-in or check-out (cage)
    index_at: dt.datetime | None = None  # the index worker's

    @property
    def sort_key(self) -> tuple:
        return (self.day, self.at or dt.datetime.min.replace(tzinfo=dt.UTC), self.shift or 0)


@dataclass
class ContactRow:
    worker: Worker
    reasons: list[ContactReason] = field(default_factory=list)

    @property
    def contacts(self) -> int:
        return len(self.reasons)

    @property
    def first_contact(self) -> dt.date:
        return min(r.day for r in self.reasons)

    @property
    def last_contact(self) -> dt.date:
        return max(r.day for r in self.reasons)


@dataclass(frozen=True)
class TraceResult:
    case: EpidemicCase
    start: dt.date
    end: dt.date
    days: int
    cage_minutes: int
    rows: list[ContactRow]
    index_shifts: int  # the index worker's roster entries in the window
    index_presences: int  # and stays underground

    @property
    def roster_contacts(self) -> int:
        return sum(1 for r in self.rows if any(x.kind == "roster" for x in r.reasons))

    @property
    def cage_contacts(self) -> int:
        return sum(1 for r in self.rows if any(x.kind != "roster" for x in r.reasons))


def _bounded(value: int, upper: int, name: str, lower: int = 0) -> int:
    if not isinstance(value, int) or not lower <= value <= upper:
        raise ValidationFailed(
            loc=("query", name),
            type="range",
            key="range.trace",
            params={"field": name, "value": value, "min": lower, "max": upper},
        )
    return value


def _roster_contacts(
    index: Worker, start: dt.date, end: dt.date, found: dict[int, list[ContactReason]]
) -> int:
    mine = list(
        RosterEntry.objects.filter(worker_id=index.pk, day__gte=start, day__lte=end).select_related(
            "position"
        )
    )
    if not mine:
        return 0
    slots = {(e.position_id, e.day, e.shift): e.position for e in mine}
    by_position: dict[int, set[dt.date]] = defaultdict(set)
    for position_id, day, _shift in slots:
        by_position[position_id].add(day)
    # one range scan of the (position, day, shift) index per position; the exact slots are kept below
    query = reduce(
        or_, (Q(position_id=p, day__gte=min(days), day__lte=max(days)) for p, days in by_position.items())
    )
    for worker_id, position_id, day, shift in (
        RosterEntry.objects.filter(query)
        .exclude(worker_id=index.pk)
        .values_list("worker_id", "position_id", "day", "shift")
    ):
        place = slots.get((position_id, day, shift))
        if place is not None:
            found[worker_id].append(ContactReason("roster", day, place, shift=shift))
    return len(mine)


def _cage_contacts(
    index: Worker, start: dt.date, end: dt.date, minutes: int, found: dict[int, list[ContactReason]]
) -> int:
    window_start = dt.datetime.combine(start, dt.time(0), tzinfo=LOCAL_TZ)
    window_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
    stays = list(
        Presence.objects.filter(worker_id=index.pk, checked_in_at__lt=window_end)
        .filter(Q(checked_in_at__gte=window_start) | Q(checked_out_at__gte=window_start))
        .select_related("site")
    )
    if not stays:
        return 0
    gap = dt.timedelta(minutes=minutes)
    events = [(p.site, "cage_in", p.checked_in_at) for p in stays if p.checked_in_at >= window_start]
    events += [
        (p.site, "cage_out", p.checked_out_at)
        for p in stays
        if p.checked_out_at is not None and window_start <= p.checked_out_at < window_end
    ]
    if not events:
        return len(stays)
    field_of = {"cage_in": "checked_in_at", "cage_out": "checked_out_at"}
    # one range per event on the (mine, time) indexes: a few rows each (bench/bench_workforce_trace.py)
    query = reduce(
        or_,
        (
            Q(site_id=site.pk, **{f"{field_of[kind]}__range": (at - gap, at + gap)})
            for site, kind, at in events
        ),
    )
    others = Presence.objects.filter(query).exclude(worker_id=index.pk)
    for worker_id, site_id, checked_in, checked_out in others.values_list(
        "worker_id", "site_id", "checked_in_at", "checked_out_at"
    ):
        for site, kind, at in events:
            theirs = checked_in if kind == "cage_in" else checked_out
            if site.pk == site_id and theirs is not None and abs(theirs - at) <= gap:
                day = at.astimezone(LOCAL_TZ).date()
                found[worker_id].append(ContactReason(kind, day, site, at=theirs, index_at=at))
    return len(stays)


def contact_trace(
    user, case_id: int, *, days: int = DEFAULT_DAYS, cage_minutes: int = DEFAULT_CAGE_MINUTES
) -> TraceResult:
    """Everyone the case's worker met over [isolation_from − days, isolation_from]: rostered on the same day ×
    shift × work position, or checked in (or out) at the same mine within ± cage_minutes of the index worker (the
    same cage or man-riding car). Most contacts first. The medical role only; the read is audited; contacts are
    only those where the user holds the medical role (another company's people never appear)."""
    case = case_for(user, case_id)
    days = _bounded(days, MAX_DAYS, "days", lower=1)
    cage_minutes = _bounded(cage_minutes, MAX_CAGE_MINUTES, "cage_minutes")
    index = case.worker
    end = case.isolation_from
    start = end - dt.timedelta(days=days)
    found: dict[int, list[ContactReason]] = defaultdict(list)
    shifts = _roster_contacts(index, start, end, found)
    stays = _cage_contacts(index, start, end, cage_minutes, found)
    workers = (
        Worker.objects.filter(pk__in=list(found))
        .filter(scope_for(user).q(Perm.MEDICAL, "unit__path"))
        .select_related("unit")
        if found
        else []
    )
    rows = [ContactRow(worker=w, reasons=sorted(found[w.pk], key=lambda r: r.sort_key)) for w in workers]
    rows.sort(key=lambda r: (-r.contacts, r.first_contact, r.worker.employee_no))
    audit_read(
        user,
        case,
        unit_path=index.unit.path,
        what="contact_trace",
        days=days,
        cage_minutes=cage_minutes,
        contacts=len(rows),
    )
    return TraceResult(
        case=case,
        start=start,
        end=end,
        days=days,
        cage_minutes=cage_minutes,
        rows=rows,
        index_shifts=shifts,
        index_presences=stays,
    )


def reason_text(reason: ContactReason) -> str:
    """One reason in the active language: "dd/mm/yyyy, shift 1, A-M1-K1-F1" or "dd/mm/yyyy 06:05, A-M1, down"."""
    day = f"{reason.day:%d/%m/%Y}"
    if reason.kind == "roster":
        return _("same shift: %(day)s, shift %(shift)s, %(place)s") % {
            "day": day,
            "shift": reason.shift,
            "place": reason.place.code,
        }
    at = timezone.localtime(reason.at).strftime("%H:%M") if reason.at else ""
    text = (
        _("same cage down: %(day)s %(at)s, %(place)s")
        if reason.kind == "cage_in"
        else _("same cage up: %(day)s %(at)s, %(place)s")
    )
    return text % {"day": day, "at": at, "place": reason.place.code}


def trace_table(trace: TraceResult) -> tuple[list[str], list[list]]:
    headers = [
        _("Employee no."),
        _("Full name"),
        _("Unit"),
        _("Contacts"),
        _("First contact"),
        _("Last contact"),
        _("Reasons"),
    ]
    rows = [
        [
            r.worker.employee_no,
            r.worker.full_name,
            r.worker.unit.code,
            r.contacts,
            r.first_contact,
            r.last_contact,
            "; ".join(reason_text(x) for x in r.reasons),
        ]
        for r in trace.rows
    ]
    return headers, rows


def check_trace_format(fmt: str) -> str:
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed(
            loc=("query", "format"), type="enum", key="enum.trace_format", params={"value": fmt}
        )
    return fmt


def trace_export(trace: TraceResult, fmt: str) -> tuple[bytes, str, str]:
    """The trace as a workbook or a CSV (Vietnamese separators): (content, content type, file name)."""
    check_trace_format(fmt)
    headers, rows = trace_table(trace)
    name = f"truy-vet-{trace.case.worker.employee_no}-{trace.end:%Y%m%d}"
    if fmt == "csv":
        return table_csv_vi(headers, rows).encode("utf-8"), "text/csv; charset=utf-8", f"{name}.csv"
    title = _("Contact trace")
    return table_xlsx(title, headers, rows), XLSX_TYPE, f"{name}.xlsx"


# --- daily counts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    new_cases: int = 0
    isolating: int = 0
    tests: int = 0
    positive: int = 0


@dataclass(frozen=True)
class EpidemicCounts:
    root: Unit
    start: dt.date
    end: dt.date
    units: list[Unit]  # the root's children (the root itself first when it has workers of its own)
    days: list[dt.date]
    cells: dict[tuple[str, dt.date], DayCount]  # (unit code, day) → counts
    totals: dict[dt.date, DayCount]
    new_cases: int  # over the period, the whole root (key task 8: "no worker infected")
    isolating_now: int  # on the last day


def _bucket(path: str, root: Unit, children: list[Unit]) -> str:
    for child in children:
        if path.startswith(child.path):
            return child.code
    return root.code


def epidemic_counts(user, root_code: str, start: dt.date, end: dt.date) -> EpidemicCounts:
    """Per unit under `root_code` (its children) and day: new cases (confirmed that day), people isolating that
    day, tests and positive tests. Counts only, for anyone who may view the unit."""
    root = unit_get(user, root_code, loc=("query", "unit"))
    check_day(start, loc=("query", "start"))
    check_day(end, loc=("query", "end"))
    if end < start:
        raise ValidationFailed(loc=("query", "end"), type="period_order", key="period_order.end", params={})
    if (end - start).days >= MAX_COUNT_DAYS:
        raise ValidationFailed(
            loc=("query", "start"),
            type="period_too_long",
            key="period_too_long.days",
            params={"max": MAX_COUNT_DAYS},
        )
    children = list(Unit.objects.filter(parent=root).order_by("code"))
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    counts: dict[tuple[str, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    cases = EpidemicCase.objects.filter(
        worker__unit__path__startswith=root.path, isolation_from__lte=end
    ).filter(Q(confirmed_on__gte=start) | Q(isolation_to__isnull=True) | Q(isolation_to__gte=start))
    for confirmed, begin, until, status, path in cases.values_list(
        "confirmed_on", "isolation_from", "isolation_to", "status", "worker__unit__path"
    ):
        code = _bucket(path, root, children)
        if start <= confirmed <= end:
            counts[(code, confirmed)]["new_cases"] += 1
        if until is None and status == CaseStatus.RECOVERED:
            continue
        for day in days:
            if begin <= day and (until is None or day <= until):
                counts[(code, day)]["isolating"] += 1
    tests = (
        EpidemicTest.objects.filter(
            worker__unit__path__startswith=root.path, tested_on__gte=start, tested_on__lte=end
        )
        .values_list("worker__unit__path", "tested_on", "result")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for path, day, result, n in tests:
        cell = counts[(_bucket(path, root, children), day)]
        cell["tests"] += n
        if result == TestResult.POSITIVE:
            cell["positive"] += n
    cells = {key: DayCount(**value) for key, value in counts.items()}
    codes = {code for code, _day in cells}
    units = ([root] if root.code in codes else []) + children
    totals = {
        day: DayCount(
            **{
                name: sum(getattr(cells.get((u.code, day), DayCount()), name) for u in units)
                for name in ("new_cases", "isolating", "tests", "positive")
            }
        )
        for day in days
    }
    return EpidemicCounts(
        root=root,
        start=start,
        end=end,
        units=units,
        days=days,
        cells=cells,
        totals=totals,
        new_cases=sum(t.new_cases for t in totals.values()),
        isolating_now=totals[days[-1]].isolating,
    )
