"""Who may work where: the certificates a worker needs (the courses required underground at an underground mine,
the licences of the worker's trade), whether they are valid on a day, the training matrix of a unit and its
coverage (key task 5's KPI)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from headframe.core.errors import ErrorItem
from headframe.core.messages import named
from headframe.org.models import SiteType, Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get
from headframe.workforce.models import (
    UNDERGROUND_HEALTH_CLASSES,
    Certificate,
    Course,
    RosterEntry,
    Trade,
    Worker,
)
from headframe.workforce.selectors.workers import workers_visible

EXPIRY_STEPS = (30, 60, 90)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}

VALID, EXPIRED, MISSING = "valid", "expired", "missing"
STATES = (VALID, "expiring_30", "expiring_60", "expiring_90", EXPIRED, MISSING)


# --- where is underground -----------------------------------------------------------------------------------


def underground_paths() -> list[str]:
    """The paths of the underground mines (a handful of rows)."""
    return list(
        Unit.objects.filter(kind=UnitKind.SITE, site_type=SiteType.UNDERGROUND).values_list("path", flat=True)
    )


def is_underground(path: str, paths: Iterable[str]) -> bool:
    """A unit (a work position, a worker's area) lies in an underground mine."""
    return any(path.startswith(p) for p in paths)


def courses_needed(trade: str, underground: bool, courses: Iterable[Course]) -> list[Course]:
    """The courses a worker of `trade` must hold: the underground ones when working underground, and the licences
    of the trade everywhere."""
    return [
        c for c in courses if (underground and c.required_underground) or trade in (c.required_trades or [])
    ]


def required_courses() -> list[Course]:
    """Every course anyone needs (underground, or a trade's), by code."""
    return [c for c in Course.objects.order_by("code") if c.required_underground or c.required_trades]


# --- certificates held --------------------------------------------------------------------------------------


class CertificateBook:
    """The certificates of some workers for some courses, loaded in one query, asked per worker, course, day."""

    def __init__(self, workers: QuerySet[Worker] | Iterable[int], course_ids: Iterable[int], until: dt.date):
        self.held: dict[tuple[int, int], list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
        filters = (
            {"worker__in": workers} if isinstance(workers, QuerySet) else {"worker_id__in": list(workers)}
        )
        rows = Certificate.objects.filter(
            **filters, course_id__in=list(course_ids), passed_on__lte=until
        ).values_list("worker_id", "course_id", "passed_on", "expires_on")
        for worker_id, course_id, passed_on, expires_on in rows:
            self.held[(worker_id, course_id)].append((passed_on, expires_on))

    def on(self, worker_id: int, course_id: int, day: dt.date) -> tuple[str, dt.date | None]:
        """(VALID, valid until — None: for good) / (EXPIRED, expired on) / (MISSING, None) on `day`."""
        held = [(p, e) for p, e in self.held.get((worker_id, course_id), ()) if p <= day]
        if not held:
            return MISSING, None
        valid = [e for _p, e in held if e is None or e >= day]
        if valid:
            return VALID, None if None in valid else max(e for e in valid if e is not None)
        return EXPIRED, max(e for _p, e in held if e is not None)


# --- who may work where -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unfit:
    """One reason a worker may not work at a position on a day."""

    worker: Worker
    type: str  # health_class | training_lapsed | trade_licence
    course: Course | None = None
    expired: dt.date | None = None

    def item(self, loc: tuple, **when) -> ErrorItem:
        """The reason as an error item; with `day` and `shift`, a message naming them (a week's copy)."""
        who = f"{self.worker.full_name} ({self.worker.employee_no})"
        params: dict = {"worker": who, **when}
        if self.type == "health_class":
            key = "health_class.underground"
            params["health_class"] = ROMAN.get(self.worker.health_class, self.worker.health_class)
        else:
            params["course"] = named(self.course)
            prefix = "training_lapsed" if self.type == "training_lapsed" else "trade_licence"
            key = f"{prefix}.expired" if self.expired else f"{prefix}.missing"
            if self.expired:
                params["expired"] = self.expired
        return ErrorItem(loc, type=self.type, key=f"{key}_on" if when else key, params=params)


def unfit(
    workers: Iterable[Worker],
    *,
    underground: bool,
    days: Iterable[dt.date],
    courses: list[Course] | None = None,
) -> dict[tuple[int, dt.date], list[Unfit]]:
    """{(worker id, day): reasons} for the workers who may not work on those days at a position underground
    (or not): health class IV–VI underground, a required-underground course lapsed or missing there, a licence
    of the worker's trade lapsed or missing anywhere. Two queries at most."""
    workers = list(workers)
    days = sorted(set(days))
    if not workers or not days:
        return {}
    courses = required_courses() if courses is None else courses
    book = CertificateBook([w.pk for w in workers], [c.pk for c in courses], days[-1])
    out: dict[tuple[int, dt.date], list[Unfit]] = {}
    for worker in workers:
        needed = courses_needed(worker.trade, underground, courses)
        for day in days:
            reasons = []
            if underground and worker.health_class not in UNDERGROUND_HEALTH_CLASSES:
                reasons.append(Unfit(worker, "health_class"))
            for course in needed:
                state, date = book.on(worker.pk, course.pk, day)
                if state != VALID:
                    kind = (
                        "training_lapsed" if underground and course.required_underground else "trade_licence"
                    )
                    reasons.append(Unfit(worker, kind, course, date if state == EXPIRED else None))
            if reasons:
                out[(worker.pk, day)] = reasons
    return out


def unfit_at_positions(positions: list[Unit], day: dt.date) -> dict[int, int]:
    """{position id: how many people rostered there on `day` (any shift) may not work there}, for the positions
    with at least one. For the readiness gate: a handful of queries whatever the number of positions."""
    if not positions:
        return {}
    paths = underground_paths()
    entries = list(
        RosterEntry.objects.filter(position__in=positions, day=day)
        .select_related("worker")
        .only(
            "position_id", "worker__trade", "worker__health_class", "worker__full_name", "worker__employee_no"
        )
    )
    if not entries:
        return {}
    courses = required_courses()
    by_id = {p.pk: p for p in positions}
    out: dict[int, set[int]] = defaultdict(set)
    for underground in (True, False):
        group = [e for e in entries if is_underground(by_id[e.position_id].path, paths) == underground]
        found = unfit({e.worker for e in group}, underground=underground, days=[day], courses=courses)
        for entry in group:
            if (entry.worker_id, day) in found:
                out[entry.position_id].add(entry.worker_id)
    return {pid: len(ids) for pid, ids in out.items()}


UNFIT_CODE = "workforce_unfit"


def readiness_check(positions: list[Unit], day: dt.date) -> dict[int, list[dict]]:
    """The workforce's check of the safety readiness gate (registered in WorkforceConfig.ready): a position with
    someone rostered there today who may not work there is not ready. The reason counts the people; it names
    nobody (the gate's pages are seen by more people than the personnel records)."""
    return {
        position_id: [
            {
                "code": UNFIT_CODE,
                "msg": ngettext(
                    "%(n)d person rostered here today may not work here (training lapsed or health class)",
                    "%(n)d people rostered here today may not work here (training lapsed or health class)",
                    count,
                )
                % {"n": count},
            }
        ]
        for position_id, count in unfit_at_positions(positions, day).items()
    }


# --- the training matrix ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    state: str  # one of STATES
    until: dt.date | None  # valid until (None: for good, or not held) / expired on
    needed: bool


@dataclass
class CourseTotals:
    course: Course
    valid: int = 0
    expiring: int = 0
    expired: int = 0
    missing: int = 0


@dataclass
class MatrixRow:
    worker: Worker
    underground: bool
    cells: list[Cell]
    covered: bool  # holds every course needed, valid on the day


@dataclass
class TrainingMatrix:
    unit: Unit
    on: dt.date
    courses: list[Course]
    rows: list[MatrixRow]
    totals: list[CourseTotals]
    coverage: Decimal | None  # percent of the rows covered; None without workers
    trades: dict[str, list[str]] = field(default_factory=dict)  # course code → trades that need it


def _state(state: str, until: dt.date | None, on: dt.date) -> str:
    if state != VALID or until is None:
        return state
    days_left = (until - on).days
    return next((f"expiring_{step}" for step in EXPIRY_STEPS if days_left <= step), VALID)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def training_matrix(user, unit_code: str, *, on: dt.date | None = None) -> TrainingMatrix:
    """The active workers of the unit's subtree that the user may see (rows) against every course (columns):
    each cell valid (beyond 90 days, or for good) / expiring within 30, 60, 90 days / expired / missing on
    `on` (today), and whether the worker needs the course (underground, or the trade's licence). Totals per
    course count the workers who hold it and those who need it but do not; the coverage is the percent of
    the rows holding every course they need. Three queries."""
    on = on or timezone.localdate()
    unit = unit_get(user, unit_code, Perm.VIEW, loc=("query", "unit"))
    courses = list(Course.objects.order_by("code"))
    workers = (
        workers_visible(user)
        .filter(unit__path__startswith=unit.path, is_active=True)
        .select_related("unit")
        .order_by("unit__path", "employee_no")
    )
    book = CertificateBook(workers, [c.pk for c in courses], on)
    paths = underground_paths()
    totals = [CourseTotals(c) for c in courses]
    rows = []
    for worker in workers:
        underground = is_underground(worker.unit.path, paths)
        needed = {c.pk for c in courses_needed(worker.trade, underground, courses)}
        cells = []
        for course, total in zip(courses, totals, strict=True):
            state, until = book.on(worker.pk, course.pk, on)
            cell = Cell(_state(state, until, on), until, course.pk in needed)
            cells.append(cell)
            if cell.state == VALID:
                total.valid += 1
            elif cell.state == EXPIRED:
                total.expired += 1
            elif cell.state == MISSING:
                total.missing += cell.needed
            else:
                total.expiring += 1
        covered = all(c.state not in (EXPIRED, MISSING) for c in cells if c.needed)
        rows.append(MatrixRow(worker, underground, cells, covered))
    return TrainingMatrix(
        unit=unit,
        on=on,
        courses=courses,
        rows=rows,
        totals=totals,
        coverage=_percent(sum(r.covered for r in rows), len(rows)),
        trades={c.code: list(c.required_trades or []) for c in courses if c.required_trades},
    )


def training_coverage(unit: Unit, on: dt.date) -> Decimal | None:
    """Key task 5's KPI: the percent (one decimal) of the unit's active workers (its whole subtree) holding
    every course they need, valid on `on`; None when the unit has no active worker. Not scoped (the briefing
    pack's figure for a unit the caller already may see). Three queries, no model rows built."""
    courses = required_courses()
    workers = list(
        Worker.objects.filter(unit__path__startswith=unit.path, is_active=True).values_list(
            "pk", "trade", "unit__path"
        )
    )
    if not workers:
        return None
    book = CertificateBook(
        Worker.objects.filter(unit__path__startswith=unit.path, is_active=True), [c.pk for c in courses], on
    )
    paths = underground_paths()
    needs: dict[tuple[str, bool], list[int]] = {}
    covered = 0
    for pk, trade, path in workers:
        underground = is_underground(path, paths)
        key = (trade, underground)
        if key not in needs:
            needs[key] = [c.pk for c in courses_needed(trade, underground, courses)]
        covered += all(book.on(pk, course_id, on)[0] == VALID for course_id in needs[key])
    return _percent(covered, len(workers))


def trade_label(trade: str) -> str:
    return str(dict(Trade.choices).get(trade, trade))
