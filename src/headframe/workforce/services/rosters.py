"""Rosters: who works which work position on which shift of a day. One person, one place per shift."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from headframe.core.audit import audit_entry, audit_record_many, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, NotFound, ValidationFailed
from headframe.core.messages import named
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.production.selectors import calendar_for
from headframe.workforce.models import RosterEntry, Worker
from headframe.workforce.selectors.training import is_underground, underground_paths, unfit
from headframe.workforce.selectors.workers import workers_visible
from headframe.workforce.services._common import company_path, person, unit_by_code

ROSTER_FIELDS = ("worker", "position", "day", "shift")


@transaction.atomic
def roster_set(*, actor, position_code: str, day: dt.date, shift: int, employee_nos: list[str]) -> int:
    """Replace the crew of a work position for one shift of a day with these workers (an empty list clears
    it); returns the crew's size. Needs the workforce permission on the position. Refused, nothing written:
    an unknown (or not visible) employee number (404 unknown_worker, every one listed), one listed twice (422),
    anyone already rostered at another position on that day and shift (409 roster_conflict, naming the
    person and the other position), and anyone who may not work there that day (422, one item per reason:
    health_class and training_lapsed at a position of an underground mine, trade_licence anywhere)."""
    loc = ("body", "position_code")
    position = unit_by_code(actor, position_code, Perm.WORKFORCE, loc=loc, key="permission_denied.workforce")
    if position.kind != UnitKind.POSITION:
        raise ValidationFailed(
            loc=loc, type="not_a_position", key="not_a_position.named", params={"unit": named(position)}
        )
    check_day(day, loc=("body", "day"))
    shifts = calendar_for(position).shift_count
    if not isinstance(shift, int) or not 1 <= shift <= shifts:
        raise ValidationFailed(
            loc=("body", "shift"),
            type="shift_range",
            key="shift_range.roster",
            params={"unit": named(position), "shifts": shifts, "shift": shift},
        )
    wanted = [str(no).strip() for no in employee_nos]
    duplicates = [
        ErrorItem(
            ("body", "employee_nos", i),
            type="duplicate",
            key="duplicate.employee_no",
            params={"employee_no": no},
        )
        for i, no in enumerate(wanted)
        if no in wanted[:i]
    ]
    if duplicates:
        raise ValidationFailed(items=duplicates)
    workers = {
        # the position's company's people only: another company's worker is unknown here, as at its lamp room
        w.employee_no: w
        for w in workers_visible(actor).filter(
            employee_no__in=wanted, is_active=True, unit__path__startswith=company_path(position)
        )
    }
    unknown = [
        ErrorItem(
            ("body", "employee_nos", i),
            type="unknown_worker",
            key="unknown_worker.named",
            params={"employee_no": no},
        )
        for i, no in enumerate(wanted)
        if no not in workers
    ]
    if unknown:
        raise NotFound(items=unknown)
    index = {no: i for i, no in enumerate(wanted)}
    elsewhere = (
        RosterEntry.objects.filter(worker__in=workers.values(), day=day, shift=shift)
        .exclude(position=position)
        .select_related("worker", "position")
    )
    conflicts = [
        ErrorItem(
            ("body", "employee_nos", index[entry.worker.employee_no]),
            type="roster_conflict",
            key="roster_conflict.named",
            params={
                "worker": person(entry.worker),
                "position": named(entry.position),
                "day": day,
                "shift": shift,
            },
        )
        for entry in elsewhere
    ]
    if conflicts:
        raise Conflict(items=sorted(conflicts, key=lambda item: item.loc))
    refused = unfit(
        workers.values(), underground=is_underground(position.path, underground_paths()), days=[day]
    )
    if refused:
        raise ValidationFailed(
            items=[
                reason.item(("body", "employee_nos", index[no]))
                for no in wanted
                for reason in refused.get((workers[no].pk, day), [])
            ]
        )
    current = {
        e.worker_id: e
        for e in RosterEntry.objects.filter(position=position, day=day, shift=shift).select_related("worker")
    }
    keep = {w.pk for w in workers.values()}
    gone = [e for worker_id, e in current.items() if worker_id not in keep]
    entries = [
        audit_entry(
            actor=actor, action="delete", obj=e, unit_path=position.path, before=snapshot(e, ROSTER_FIELDS)
        )
        for e in gone
    ]
    RosterEntry.objects.filter(pk__in=[e.pk for e in gone]).delete()
    new = [
        RosterEntry(worker=w, position=position, day=day, shift=shift)
        for w in workers.values()
        if w.pk not in current
    ]
    RosterEntry.objects.bulk_create(new)
    saved = RosterEntry.objects.filter(
        position=position, day=day, shift=shift, worker__in=[e.worker for e in new]
    )
    entries += [
        audit_entry(
            actor=actor, action="create", obj=e, unit_path=position.path, after=snapshot(e, ROSTER_FIELDS)
        )
        for e in saved.select_related("worker", "position")
    ]
    audit_record_many(entries)
    return len(workers)


@transaction.atomic
def roster_copy_week(*, actor, unit_code: str, from_monday: dt.date, to_monday: dt.date) -> int:
    """Copy the rosters of every work position under a unit (a mine, an area or one position) from the week
    starting `from_monday` to the week starting `to_monday`; returns the rows copied. Rows already in the
    target week are kept, and conflicts are SKIPPED, not refused: a person already rostered on a target day
    and shift (at any position) keeps that place and the copied row is dropped. Inactive workers are not
    copied. Needs the workforce permission on the unit.

    All or none: when anyone copied may not work at the position on a day of the target week (health class,
    a lapsed or missing course: see roster_set), nothing is copied and the 422 lists every person and reason
    once (with the first day it bites), so the copy can be fixed and run again."""
    unit = unit_by_code(
        actor, unit_code, Perm.WORKFORCE, loc=("body", "unit_code"), key="permission_denied.workforce"
    )
    for name, monday in (("from_monday", from_monday), ("to_monday", to_monday)):
        check_day(monday, loc=("body", name))
        if monday.weekday() != 0:
            raise ValidationFailed(
                loc=("body", name), type="not_monday", key="not_monday.day", params={"day": monday}
            )
    if from_monday == to_monday:
        return 0
    shift_by = to_monday - from_monday
    source = list(
        RosterEntry.objects.filter(
            position__path__startswith=unit.path,
            day__gte=from_monday,
            day__lt=from_monday + dt.timedelta(days=7),
            worker__is_active=True,
        ).values_list("worker_id", "position_id", "day", "shift")
    )
    taken = set(
        RosterEntry.objects.filter(
            worker_id__in={row[0] for row in source},
            day__gte=to_monday,
            day__lt=to_monday + dt.timedelta(days=7),
        ).values_list("worker_id", "day", "shift")
    )
    new = []
    for worker_id, position_id, day, shift in source:
        target = (worker_id, day + shift_by, shift)
        if target in taken:
            continue
        taken.add(target)
        new.append(RosterEntry(worker_id=worker_id, position_id=position_id, day=day + shift_by, shift=shift))
    _refuse_unfit(new)
    RosterEntry.objects.bulk_create(new, batch_size=1000)
    if new:
        audit_record_many(
            [
                audit_entry(
                    actor=actor,
                    action="create",
                    obj=unit,
                    unit_path=unit.path,
                    after={
                        "event": "roster_copy_week",
                        "from": from_monday.isoformat(),
                        "to": to_monday.isoformat(),
                        "rows": len(new),
                    },
                    object_repr=f"roster {unit.code} {to_monday:%d/%m/%Y}",
                )
            ]
        )
    return len(new)


def _refuse_unfit(rows: list[RosterEntry]) -> None:
    """Refuse (422, nothing written) a copy that would roster someone where they may not work that day."""
    if not rows:
        return
    workers = Worker.objects.in_bulk({r.worker_id for r in rows})
    positions = dict(Unit.objects.filter(pk__in={r.position_id for r in rows}).values_list("pk", "path"))
    paths = underground_paths()
    days = {r.day for r in rows}
    items: dict[tuple, ErrorItem] = {}
    for underground in (True, False):
        group = [r for r in rows if is_underground(positions[r.position_id], paths) == underground]
        refused = unfit({workers[r.worker_id] for r in group}, underground=underground, days=days)
        for row in sorted(group, key=lambda r: (r.day, r.shift)):
            for reason in refused.get((row.worker_id, row.day), []):
                key = (row.worker_id, reason.type, reason.course and reason.course.pk)
                if key not in items:
                    items[key] = reason.item(("body", "to_monday"), day=row.day, shift=row.shift)
    if items:
        raise ValidationFailed(items=list(items.values()))
