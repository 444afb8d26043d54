"""Who is underground now, per mine, area and position; the overdue; the muster list. Scoped by the caller's
view of the mine. The whole group's list is three queries (presences, their rosters, the shift calendars)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.production.selectors import calendars_for
from headframe.workforce.models import Presence, RosterEntry, Worker
from headframe.workforce.rules import roster_days, rostered_shift_end


@dataclass(frozen=True)
class UndergroundRow:
    worker: Worker
    employee_no: str
    full_name: str
    trade: str  # a Trade value
    site: Unit
    area: Unit | None
    position: Unit | None  # from today's roster; None when not rostered (let down by an override)
    checked_in_at: dt.datetime
    shift_end: dt.datetime | None
    overdue: bool
    tag_no: str | None = None
    presence_id: int = 0
    overridden: bool = False


class MusterGroup(NamedTuple):
    area: Unit | None
    position: Unit | None
    rows: list[UndergroundRow]


@dataclass(frozen=True)
class MusterList:
    site: Unit
    generated_at: dt.datetime
    total: int
    groups: list[MusterGroup]
    overdue: int = 0


def _area_of(unit: Unit | None, site: Unit, units: dict[int, Unit]) -> Unit | None:
    """The area a position (or a worker's unit) hangs under at the site, itself when it is an area."""
    if unit is None or not unit.path.startswith(site.path):
        return None
    if unit.kind == UnitKind.AREA:
        return unit
    parent = units.get(unit.parent_id) if unit.parent_id else None
    return parent if parent is not None and parent.kind == UnitKind.AREA else None


WORKER_FIELDS = ("id", "employee_no", "full_name", "trade", "tag_no", "unit_id", "health_class", "is_active")


def underground_now(
    user, site_code: str | None = None, *, now: dt.datetime | None = None
) -> list[UndergroundRow]:
    """Everyone checked in and not out, at the mines the user may see (one mine with `site_code`: unknown or
    not visible is 404), by mine, then check-in time. Position from the roster of the day they checked in;
    overdue when now is past the end of that shift plus settings.WORKFORCE_GRACE_MINUTES.

    The whole group in five queries (presences, their people, their rosters, the units named, the calendars),
    rows as tuples and each unit built once: "who is underground now" is read in an emergency (bench/)."""
    now = now or timezone.now()
    presences = Presence.objects.filter(
        scope_for(user).q(Perm.VIEW, "site__path"), checked_out_at__isnull=True
    )
    if site_code is not None:
        site = unit_get(user, site_code, loc=("query", "site"))
        presences = presences.filter(site=site)
    rows_in = list(
        presences.order_by("site__path", "checked_in_at", "worker__employee_no").values_list(
            "pk", "worker_id", "site_id", "checked_in_at", "override_by_id", "override_reason"
        )
    )
    if not rows_in:
        return []
    workers = {w.pk: w for w in Worker.objects.filter(pk__in={r[1] for r in rows_in}).only(*WORKER_FIELDS)}
    checked_in = {r[1]: r[3] for r in rows_in}
    entries_in = list(
        RosterEntry.objects.filter(
            worker_id__in=list(workers),
            day__gte=min(checked_in.values()).date() - dt.timedelta(days=1),
            day__lte=max(checked_in.values()).date() + dt.timedelta(days=1),
        ).values_list("worker_id", "position_id", "day", "shift")
    )
    unit_ids = {r[2] for r in rows_in} | {e[1] for e in entries_in} | {w.unit_id for w in workers.values()}
    units = {u.pk: u for u in Unit.objects.filter(pk__in=unit_ids)}
    parents = {u.parent_id for u in units.values() if u.parent_id and u.parent_id not in units}
    units |= {u.pk: u for u in Unit.objects.filter(pk__in=parents, kind=UnitKind.AREA)}
    patterns_by_site = calendars_for([units[site_id] for site_id in {r[2] for r in rows_in}])
    rostered: dict[int, list[tuple[Unit, dt.date, int]]] = defaultdict(list)
    for worker_id, position_id, day, shift in entries_in:
        rostered[worker_id].append((units[position_id], day, shift))
    grace = dt.timedelta(minutes=settings.WORKFORCE_GRACE_MINUTES)
    rows = []
    for presence_id, worker_id, site_id, at, override_by_id, override_reason in rows_in:
        site, worker = units[site_id], workers[worker_id]
        pattern = patterns_by_site[site_id]
        days = roster_days(pattern, at)
        entries = [e for e in rostered[worker_id] if e[1] in days and e[0].path.startswith(site.path)]
        shift_end = rostered_shift_end(pattern, at, [(day, shift) for _p, day, shift in entries])
        entry = (
            min(entries, key=lambda e: abs((pattern.shift_start(e[1], e[2]) - at).total_seconds()))
            if entries
            else None
        )
        position = entry[0] if entry else None
        rows.append(
            UndergroundRow(
                worker=worker,
                employee_no=worker.employee_no,
                full_name=worker.full_name,
                trade=worker.trade,
                site=site,
                area=_area_of(position, site, units) or _area_of(units.get(worker.unit_id), site, units),
                position=position,
                checked_in_at=at,
                shift_end=shift_end,
                overdue=shift_end is not None and now > shift_end + grace,
                tag_no=worker.tag_no,
                presence_id=presence_id,
                overridden=override_by_id is not None or bool(override_reason),
            )
        )
    return rows


def underground_counts(user) -> dict[str, int]:
    """Mine code → people underground now, for the mines the user may see. One query."""
    return dict(
        Presence.objects.filter(scope_for(user).q(Perm.VIEW, "site__path"), checked_out_at__isnull=True)
        .values("site__code")
        .annotate(n=Count("pk"))
        .order_by("site__code")
        .values_list("site__code", "n")
    )


def muster_list(user, site_code: str, *, now: dt.datetime | None = None) -> MusterList:
    """The mine's people underground now, grouped by area and position (the unrostered last), for an
    emergency: what the rescue team reads out."""
    now = now or timezone.now()
    site = unit_get(user, site_code, loc=("path", "code"))
    rows = underground_now(user, site.code, now=now)
    grouped: dict[tuple[str, str], MusterGroup] = {}
    for row in rows:
        key = (row.area.path if row.area else "~", row.position.path if row.position else "~")
        if key not in grouped:
            grouped[key] = MusterGroup(row.area, row.position, [])
        grouped[key].rows.append(row)
    groups = [grouped[key] for key in sorted(grouped)]
    for group in groups:
        group.rows.sort(key=lambda r: (r.full_name, r.employee_no))
    return MusterList(
        site=site, generated_at=now, total=len(rows), groups=groups, overdue=sum(r.overdue for r in rows)
    )
