"""Reads of meetings, directives and key tasks, filtered by what the caller may see.

Scope rules
- A meeting belongs to the unit holding it. Whoever may VIEW that unit sees the meeting and its pack.
- A meeting is also visible (agenda, bridge points, attendance, the directives addressed to one's own units)
  to users of a unit whose bridge point takes part: a company's bridge point joins the group briefing. That
  does not open the group's pack: `can_see_pack` asks for VIEW on the meeting's unit itself.
- A directive is visible to whoever may VIEW its owner unit or the unit of the meeting it was raised in.
- A key task is visible to whoever may VIEW its owner unit.

"Overdue" is derived: a directive still open or in progress whose deadline has passed. Reads annotate the
effective status (`effective_status_db`) so lists can filter and count on it in the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.briefing.extensions import kpi_measure, measure_values
from headframe.briefing.models import (
    OPEN_STATUSES,
    Comparator,
    Directive,
    DirectiveStatus,
    EffectiveStatus,
    KeyTask,
    KeyTaskKpi,
    KpiKind,
    Meeting,
    MeetingBridgePoint,
)
from headframe.core.errors import NotFound, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.models import Actual, Aggregation
from headframe.production.selectors import default_day, indicators_for, summaries

DUE_SOON_DAYS = 7
# A bound KPI within this margin of its target is "at risk" rather than "off track":
# percentage points for a KPI against plan, percent of the target for an absolute value.
AT_RISK_MARGIN = Decimal(5)


def today() -> dt.date:
    return timezone.localdate()


# --- meetings ------------------------------------------------------------------------------------------


def meetings_visible(user) -> QuerySet[Meeting]:
    scope = scope_for(user)
    qs = Meeting.objects.select_related("unit", "chair", "closed_by").order_by("-starts_at", "-id")
    if scope.is_superuser:
        return qs
    participating = MeetingBridgePoint.objects.filter(meeting=OuterRef("pk")).filter(
        scope.q(Perm.VIEW, "bridge_point__unit__path")
    )
    # (Q() | x is x, so the superuser case above must not be folded into this filter.)
    return qs.filter(scope.q(Perm.VIEW, "unit__path") | Q(Exists(participating)))


def meetings_list(user, *, unit: Unit | None = None, status: str | None = None) -> QuerySet[Meeting]:
    """Visible meetings, of one unit and in one status when given."""
    qs = meetings_visible(user)
    if unit is not None:
        qs = qs.filter(unit=unit)
    if status:
        qs = qs.filter(status=status)
    return qs


def meeting_live(pk: int) -> Meeting:
    """A meeting as the live room polls it (its unit and current agenda item), whoever asks."""
    return Meeting.objects.select_related("unit", "current_agenda_item").get(pk=pk)


def meeting_get(user, pk: int) -> Meeting:
    meeting = meetings_visible(user).filter(pk=pk).first()
    if meeting is None:
        raise NotFound(loc=("path", "meeting_id"), params={"meeting": str(pk)}, key="not_found.meeting")
    return meeting


def can_see_pack(user, meeting: Meeting) -> bool:
    """The pack (figures of the meeting's unit and everything under it) needs VIEW on that unit."""
    return scope_for(user).allows(Perm.VIEW, meeting.unit.path)


def can_run(user, meeting: Meeting) -> bool:
    """Start, steer (focus), edit and close: the chair, or a planner/administrator of the meeting's unit."""
    scope = scope_for(user)
    if user is not None and meeting.chair_id is not None and meeting.chair_id == getattr(user, "pk", None):
        return True
    return scope.allows(Perm.PLAN, meeting.unit.path) or scope.allows(Perm.MANAGE, meeting.unit.path)


def agenda_of(meeting: Meeting):
    return meeting.agenda_items.order_by("order")


def bridge_points_of(meeting: Meeting):
    return meeting.bridge_points.select_related("bridge_point", "bridge_point__unit").order_by(
        "bridge_point__code"
    )


def previous_meeting(unit: Unit, period_end: dt.date) -> Meeting | None:
    """The unit's latest meeting covering a period that ended before period_end."""
    return (
        Meeting.objects.filter(unit=unit, period_end__lt=period_end)
        .order_by("-period_end", "-starts_at")
        .first()
    )


# --- directives ----------------------------------------------------------------------------------------


def effective_status_expr(on: dt.date):
    return Case(
        When(status__in=OPEN_STATUSES, deadline__lt=on, then=Value(EffectiveStatus.OVERDUE.value)),
        default="status",
        output_field=CharField(),
    )


def with_effective_status(qs: QuerySet[Directive], on: dt.date | None = None) -> QuerySet[Directive]:
    return qs.annotate(effective_status_db=effective_status_expr(on or today()))


def directives_visible(user, *, on: dt.date | None = None) -> QuerySet[Directive]:
    scope = scope_for(user)
    qs = Directive.objects.select_related(
        "owner_unit", "owner_person", "meeting", "indicator", "key_task", "created_by"
    )
    if not scope.is_superuser:
        qs = qs.filter(scope.q(Perm.VIEW, "owner_unit__path") | scope.q(Perm.VIEW, "meeting__unit__path"))
    return with_effective_status(qs, on)


def directives_list(
    user,
    *,
    owner: str | None = None,
    status: str | None = None,
    meeting: Meeting | None = None,
    on: dt.date | None = None,
) -> QuerySet[Directive]:
    """Visible directives; `owner` is a unit code (its whole subtree), `status` an effective status."""
    qs = directives_visible(user, on=on)
    if owner:
        unit = Unit.objects.filter(code=owner).first()
        if unit is None:
            raise ValidationFailed(
                loc=("query", "owner"),
                type="unknown_unit",
                params={"unit": repr(owner)},
                key="unknown_unit.named",
            )
        qs = qs.filter(owner_unit__path__startswith=unit.path)
    if status:
        if status not in EffectiveStatus.values:
            raise ValidationFailed(
                loc=("query", "status"),
                type="enum",
                params={"status": repr(status), "expected": list(EffectiveStatus.values)},
                key="enum.status",
            )
        qs = qs.filter(effective_status_db=status)
    if meeting is not None:
        qs = qs.filter(meeting=meeting)
    return qs.order_by("deadline", "year", "seq")


def directive_get(user, pk: int) -> Directive:
    directive = directives_visible(user).filter(pk=pk).first()
    if directive is None:
        raise NotFound(loc=("path", "directive_id"), params={"directive": str(pk)}, key="not_found.directive")
    return directive


def directive_comments(directive: Directive):
    return directive.comments.select_related("author").order_by("at", "id")


@dataclass
class PackDirectives:
    """Directives carried into a briefing pack: what is still due, what is overdue, what was done since the
    unit's previous meeting."""

    unit: Unit
    on: dt.date
    since: dt.date | None  # done after this day count as "done since the previous meeting"
    previous_meeting: Meeting | None
    due: list[Directive] = field(default_factory=list)
    overdue: list[Directive] = field(default_factory=list)
    done: list[Directive] = field(default_factory=list)


def directives_for_pack(
    unit: Unit, period_end: dt.date, *, on: dt.date | None = None, since: dt.date | None = None
) -> PackDirectives:
    """The register as it stood on `on` (default: period_end) for the directives owned in unit's subtree.

    - overdue: not done/cancelled by `on` and deadline before `on`, oldest deadline first;
    - due: not done/cancelled by `on`, deadline on or after `on`;
    - done: done in (since, on], where since is the previous meeting's period_end (else the day before the
      first of period_end's month).
    A directive raised after `on` is not in the pack; one done after `on` counts as still open then.
    Each returned directive carries `effective_status_db` as of `on`.
    """
    on = on or period_end
    previous = previous_meeting(unit, period_end)
    if since is None:
        since = previous.period_end if previous else period_end.replace(day=1) - dt.timedelta(days=1)
    end_of_on = timezone.make_aware(dt.datetime.combine(on + dt.timedelta(days=1), dt.time()))
    end_of_since = timezone.make_aware(dt.datetime.combine(since + dt.timedelta(days=1), dt.time()))
    base = Directive.objects.filter(
        owner_unit__path__startswith=unit.path, created_at__lt=end_of_on
    ).select_related("owner_unit", "owner_person", "meeting", "indicator", "key_task")
    still_open = Q(status__in=OPEN_STATUSES) | Q(status=DirectiveStatus.DONE, done_at__gte=end_of_on)
    out = PackDirectives(unit=unit, on=on, since=since, previous_meeting=previous)
    for d in base.filter(still_open).order_by("deadline", "year", "seq"):
        overdue = d.deadline < on
        d.effective_status_db = (
            EffectiveStatus.OVERDUE
            if overdue
            else (d.status if d.status in OPEN_STATUSES else DirectiveStatus.IN_PROGRESS)
        )
        (out.overdue if overdue else out.due).append(d)
    for d in base.filter(
        status=DirectiveStatus.DONE, done_at__gte=end_of_since, done_at__lt=end_of_on
    ).order_by("done_at", "year", "seq"):
        d.effective_status_db = EffectiveStatus.DONE
        out.done.append(d)
    return out


@dataclass
class OwnerReminder:
    owner_unit: Unit
    owner_person: object | None
    overdue: list[Directive] = field(default_factory=list)
    due_soon: list[Directive] = field(default_factory=list)  # deadline within DUE_SOON_DAYS
    later: list[Directive] = field(default_factory=list)

    @property
    def most_urgent(self) -> Directive | None:
        return next(iter(self.overdue or self.due_soon or self.later), None)

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.due_soon) + len(self.later)


def directives_by_owner(user, *, on: dt.date | None = None, owner: str | None = None) -> list[OwnerReminder]:
    """Reminders: the open directives of every owner (unit, person), overdue first, owners with the most
    overdue first."""
    on = on or today()
    soon = on + dt.timedelta(days=DUE_SOON_DAYS)
    groups: dict[tuple, OwnerReminder] = {}
    qs = directives_list(user, owner=owner, on=on).filter(status__in=OPEN_STATUSES)
    for d in qs:
        key = (d.owner_unit_id, d.owner_person_id)
        reminder = groups.get(key)
        if reminder is None:
            reminder = groups[key] = OwnerReminder(owner_unit=d.owner_unit, owner_person=d.owner_person)
        if d.deadline < on:
            reminder.overdue.append(d)
        elif d.deadline <= soon:
            reminder.due_soon.append(d)
        else:
            reminder.later.append(d)
    return sorted(
        groups.values(),
        key=lambda r: (
            -len(r.overdue),
            -len(r.due_soon),
            r.owner_unit.path,
            getattr(r.owner_person, "full_name", ""),
        ),
    )


def directive_counts(user, *, on: dt.date | None = None) -> dict[str, int]:
    counts = dict.fromkeys(EffectiveStatus.values, 0)
    for status in directives_visible(user, on=on).values_list("effective_status_db", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


# --- key tasks -----------------------------------------------------------------------------------------


class KpiState:
    MET = "met"
    NEAR = "near"
    MISSED = "missed"
    NO_DATA = "no_data"
    DONE = "done"
    PENDING = "pending"
    ON_TRACK = "on_track"  # a target over the year, kept so far: done only once the year is over


class TaskStatus:
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    DONE = "done"


def kpi_state_labels() -> dict[str, str]:
    """The one label of each KPI state (page, pack, workbook), in the active language."""
    return {
        KpiState.MET: _("met"),
        KpiState.NEAR: _("close to target"),
        KpiState.MISSED: _("missed"),
        KpiState.NO_DATA: _("no figures yet"),
        KpiState.DONE: _("done"),
        KpiState.PENDING: _("in progress"),
        KpiState.ON_TRACK: _("on track"),
    }


def task_status_labels() -> dict[str, str]:
    return {
        TaskStatus.ON_TRACK: _("On track"),
        TaskStatus.AT_RISK: _("At risk"),
        TaskStatus.OFF_TRACK: _("Off track"),
        TaskStatus.DONE: _("Done"),
    }


@dataclass
class KpiValue:
    kpi: KeyTaskKpi
    value: (
        Decimal | None
    )  # % of YTD plan (indicator_vs_plan) or YTD actual (indicator_value); None: manual/no data
    actual: Decimal | None = None  # YTD actual of the bound indicator
    plan: Decimal | None = None  # YTD plan of the bound indicator
    state: str = KpiState.NO_DATA

    @property
    def status(self) -> str:
        return self.state

    @property
    def met(self) -> bool:
        return self.state in (KpiState.MET, KpiState.DONE)

    @property
    def target(self) -> Decimal | None:
        return self.kpi.target

    @property
    def unit_of_measure(self) -> str:
        if self.kpi.kind == KpiKind.INDICATOR_VS_PLAN:
            return "%"
        if self.kpi.kind == KpiKind.MEASURE:
            measure = kpi_measure(self.kpi.measure)
            return measure.uom if measure else ""
        return self.kpi.indicator.unit_of_measure if self.kpi.indicator_id else ""

    @property
    def decimals(self) -> int:
        """The decimals its value and target are shown with."""
        if self.kpi.kind == KpiKind.INDICATOR_VS_PLAN:
            return 1
        if self.kpi.kind == KpiKind.MEASURE:
            measure = kpi_measure(self.kpi.measure)
            return measure.decimals if measure else 0
        return self.kpi.indicator.decimals if self.kpi.indicator_id else 0


@dataclass
class KeyTaskStatus:
    key_task: KeyTask
    on: dt.date
    status: str
    kpis: list[KpiValue]


def _compare(value: Decimal, target: Decimal, comparator: str, margin: Decimal) -> str:
    if comparator == Comparator.GE:
        if value >= target:
            return KpiState.MET
        return KpiState.NEAR if value >= target - margin else KpiState.MISSED
    if value <= target:
        return KpiState.MET
    return KpiState.NEAR if value <= target + margin else KpiState.MISSED


def holds_over_the_year(kpi: KeyTaskKpi) -> bool:
    """Whether the KPI's target holds over the whole year rather than being reached once: a ceiling (≤) on
    a figure ("≤ 0 người lao động bị lây nhiễm" may still be broken in December), or a manual KPI with a
    target ("0 người lao động bị lây nhiễm", reported by hand). Such a target is done only when the year is
    over; before that, kept so far, it is on track."""
    if kpi.kind == KpiKind.MANUAL:
        return kpi.target is not None
    if kpi.kind == KpiKind.MEASURE:  # a rate or an average may still fall; a year's total is reached once
        measure = kpi_measure(kpi.measure)
        return kpi.comparator == Comparator.LE or not (measure and measure.cumulative)
    # A percentage of plan to date met in June can still be missed by December.
    return kpi.comparator == Comparator.LE or kpi.kind == KpiKind.INDICATOR_VS_PLAN


def _kpi_state(kpi: KeyTaskKpi, value: Decimal | None, on: dt.date) -> str:
    year_over = on >= dt.date(kpi.key_task.year, 12, 31)
    over_the_year = holds_over_the_year(kpi)
    if kpi.kind == KpiKind.MANUAL:
        if kpi.done:
            return KpiState.ON_TRACK if over_the_year and not year_over else KpiState.DONE
        return KpiState.MISSED if year_over else KpiState.PENDING
    if value is None:
        return KpiState.NO_DATA
    target = kpi.target
    vs_plan = kpi.kind == KpiKind.INDICATOR_VS_PLAN
    margin = AT_RISK_MARGIN if vs_plan else abs(target) * AT_RISK_MARGIN / 100
    if not vs_plan and not year_over and kpi.comparator == Comparator.GE and _cumulative(kpi):
        # A year's total to reach (≥ 1 500 m of roadway): reached is met; before the year is over it is
        # judged against the part of the target due by now, never "missed" in January.
        if value >= target:
            return KpiState.MET
        year = kpi.key_task.year
        due = (
            target
            * ((on - dt.date(year, 1, 1)).days + 1)
            / ((dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1)
        )
        state = _compare(value, due, Comparator.GE, abs(due) * AT_RISK_MARGIN / 100)
        return KpiState.ON_TRACK if state == KpiState.MET else state
    state = _compare(value, target, kpi.comparator, margin)
    if state == KpiState.MET and over_the_year and not year_over:
        return KpiState.ON_TRACK
    return state


def _cumulative(kpi: KeyTaskKpi) -> bool:
    """Whether the KPI's value is a year-to-date total that grows through the year (an additive indicator, or
    a measure that says so)."""
    if kpi.kind == KpiKind.MEASURE:
        measure = kpi_measure(kpi.measure)
        return bool(measure and measure.cumulative)
    return bool(kpi.indicator_id) and kpi.indicator.aggregation == Aggregation.SUM


def _task_status(states: list[str], year_over: bool) -> str:
    if not states:
        return TaskStatus.ON_TRACK
    if KpiState.MISSED in states:
        return TaskStatus.OFF_TRACK
    if KpiState.NEAR in states or KpiState.NO_DATA in states:
        return TaskStatus.AT_RISK
    if all(s == KpiState.DONE for s in states) or (
        year_over and all(s in (KpiState.DONE, KpiState.MET) for s in states)
    ):
        return TaskStatus.DONE
    return TaskStatus.ON_TRACK


def _as_of(year: int, on: dt.date | None) -> dt.date:
    """Figures are read as of `on` (default yesterday, the last complete production day), within the year."""
    on = on or default_day()
    return min(on, dt.date(year, 12, 31))


def key_task_statuses(key_tasks: list[KeyTask], *, on: dt.date | None = None) -> list[KeyTaskStatus]:
    """Status of each key task with its KPI values: one production summary per measured unit (all the
    indicators that unit's KPIs are bound to at once)."""
    key_tasks = list(key_tasks)
    kpis_by_task: dict[int, list[KeyTaskKpi]] = defaultdict(list)
    for kpi in (
        KeyTaskKpi.objects.filter(key_task__in=key_tasks)
        .select_related("indicator", "unit", "key_task")
        .order_by("order", "id")
    ):
        kpis_by_task[kpi.key_task_id].append(kpi)
    # (unit id, as-of day) → {indicator id: IndicatorSummary}
    wanted: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
    units: dict[int, Unit] = {}
    for task in key_tasks:
        as_of = _as_of(task.year, on)
        for kpi in kpis_by_task[task.pk]:
            if kpi.kind not in (KpiKind.MANUAL, KpiKind.MEASURE):
                wanted[(kpi.unit_id, as_of)].add(kpi.indicator_id)
                units[kpi.unit_id] = kpi.unit
    measured = measure_values(
        {
            (kpi.measure, kpi.unit, _as_of(task.year, on))
            for task in key_tasks
            for kpi in kpis_by_task[task.pk]
            if kpi.kind == KpiKind.MEASURE
        }
    )
    catalogue = {i.pk: i for i in indicators_for()} if wanted else {}
    figures: dict[tuple[int, dt.date], dict] = {}
    for (unit_id, as_of), indicator_ids in wanted.items():
        indicators = [catalogue[i] for i in sorted(indicator_ids) if i in catalogue]
        rows = summaries(units[unit_id], as_of, indicators)
        figures[(unit_id, as_of)] = {s.indicator.pk: s for rows_ in rows.values() for s in rows_}
    out = []
    for task in key_tasks:
        as_of = _as_of(task.year, on)
        values = []
        for kpi in kpis_by_task[task.pk]:
            kpi.key_task = task
            value = actual = plan = None
            if kpi.kind == KpiKind.MEASURE:
                value = measured.get((kpi.measure, kpi.unit_id, as_of))
            elif kpi.kind != KpiKind.MANUAL:
                s = figures.get((kpi.unit_id, as_of), {}).get(kpi.indicator_id)
                if s is not None:
                    actual, plan = s.ytd.actual, s.ytd.plan
                    value = s.ytd.pct if kpi.kind == KpiKind.INDICATOR_VS_PLAN else s.ytd.actual
            values.append(
                KpiValue(kpi=kpi, value=value, actual=actual, plan=plan, state=_kpi_state(kpi, value, as_of))
            )
        year_over = as_of >= dt.date(task.year, 12, 31)
        out.append(
            KeyTaskStatus(
                key_task=task,
                on=as_of,
                status=_task_status([v.state for v in values], year_over),
                kpis=values,
            )
        )
    return out


def key_task_status(key_task: KeyTask, on: dt.date | None = None) -> KeyTaskStatus:
    """One key task's KPI values (YTD % of plan, or YTD value, from the production selectors; or the manual
    milestone) and its status: on_track, at_risk, off_track or done."""
    return key_task_statuses([key_task], on=on)[0]


def key_task_by_pk(pk: int) -> KeyTask:
    """A key task with its owner unit and person (after a write, whoever asks)."""
    return KeyTask.objects.select_related("owner_unit", "owner_person").get(pk=pk)


def key_tasks_visible(user, *, year: int | None = None) -> QuerySet[KeyTask]:
    qs = KeyTask.objects.filter(scope_for(user).q(Perm.VIEW, "owner_unit__path")).select_related(
        "owner_unit", "owner_person"
    )
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("year", "owner_unit__path", "number")


def key_task_get(user, pk: int) -> KeyTask:
    task = key_tasks_visible(user).filter(pk=pk).first()
    if task is None:
        raise NotFound(loc=("path", "key_task_id"), params={"key_task": str(pk)}, key="not_found.key_task")
    return task


def kpi_get(user, pk: int) -> KeyTaskKpi:
    kpi = (
        KeyTaskKpi.objects.filter(pk=pk, key_task__in=key_tasks_visible(user))
        .select_related("key_task")
        .first()
    )
    if kpi is None:
        raise NotFound(loc=("path", "kpi_id"), params={"kpi": str(pk)}, key="not_found.kpi")
    return kpi


# --- what the pack reads besides the figures ------------------------------------------------------------


def active_companies_of(group: Unit) -> list[Unit]:
    """The group's active companies, by code: the blocks of a group pack after the group's own."""
    return list(Unit.objects.filter(parent=group, kind=UnitKind.COMPANY, is_active=True).order_by("code"))


def active_sites_under(root: Unit) -> list[Unit]:
    """The active sites in the unit's subtree (the unit itself if it is one), by path."""
    return list(
        Unit.objects.filter(path__startswith=root.path, kind=UnitKind.SITE, is_active=True).order_by("path")
    )


def key_tasks_held_above(unit: Unit, year: int) -> list[KeyTask]:
    """The year's key tasks held by the unit or a unit above it, by owner path and number."""
    above = unit.path.strip("/").split("/")
    return list(
        KeyTask.objects.filter(year=year, owner_unit__code__in=above)
        .select_related("owner_unit")
        .order_by("owner_unit__path", "number")
    )


def pack_change_marks() -> list[tuple[int, dt.datetime] | None]:
    """What a live pack's base depends on, as (pk, time) of the last row, or None: the last audit entry (every
    service write audits in its own transaction) and the last figure entered. The alarms (the engine does not
    audit) are telemetry.selectors.alarm_change_marks, per subtree."""
    return [
        AuditEntry.objects.order_by("-pk").values_list("pk", "at").first(),
        Actual.objects.order_by("-pk").values_list("pk", "entered_at").first(),
    ]
