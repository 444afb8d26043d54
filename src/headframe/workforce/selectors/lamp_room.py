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


def _area_of(unit: Unit | None, site: Unit) -> Unit | None:
    """The area a position (or a worker's unit) hangs under at the site, itself when it is an area."""
    if unit is None or not unit.path.startswith(site.path):
        return None
    if unit.kind == UnitKind.AREA:
        return unit
    parent = unit.parent
    return parent if parent is not None and parent.kind == UnitKind.AREA else None


def underground_now(
    user, site_code: str | None = None, *, now: dt.datetime | None = None
) -> list[UndergroundRow]:
    """Everyone checked in and not out, at the mines the user may see (one mine with `site_code`: unknown or
    not visible is 404), by mine, then check-in time. Position from the roster of the day they checked in;
    overdue when now is past the end of that shift plus settings.WORKFORCE_GRACE_MINUTES."""
    now = now or timezone.now()
    presences = Presence.objects.filter(
        scope_for(user).q(Perm.VIEW, "site__path"), checked_out_at__isnull=True
    ).select_related("worker", "worker__unit", "worker__unit__parent", "site")
    if site_code is not None:
        site = unit_get(user, site_code, loc=("query", "site"))
        presences = presences.filter(site=site)
    presences = list(presences.order_by("site__path", "checked_in_at", "worker__employee_no"))
    if not presences:
        return []
    patterns = calendars_for({p.site_id: p.site for p in presences}.values())
    days = {p.pk: roster_days(patterns[p.site_id], p.checked_in_at) for p in presences}
    rostered: dict[int, list[RosterEntry]] = defaultdict(list)
    for entry in RosterEntry.objects.filter(
        worker_id__in=[p.worker_id for p in presences], day__in=set().union(*days.values())
    ).select_related("position", "position__parent"):
        rostered[entry.worker_id].append(entry)
    grace = dt.timedelta(minutes=settings.WORKFORCE_GRACE_MINUTES)
    rows = []
    for p in presences:
        pattern = patterns[p.site_id]
        entries = [
            e
            for e in rostered[p.worker_id]
            if e.day in days[p.pk] and e.position.path.startswith(p.site.path)
        ]
        shift_end = rostered_shift_end(pattern, p.checked_in_at, [(e.day, e.shift) for e in entries])
        entry = (
            min(
                entries,
                key=lambda e: abs((pattern.shift_start(e.day, e.shift) - p.checked_in_at).total_seconds()),
            )
            if entries
            else None
        )
        position = entry.position if entry else None
        rows.append(
            UndergroundRow(
                worker=p.worker,
                employee_no=p.worker.employee_no,
                full_name=p.worker.full_name,
                trade=p.worker.trade,
                site=p.site,
                area=_area_of(position, p.site) or _area_of(p.worker.unit, p.site),
                position=position,
                checked_in_at=p.checked_in_at,
                shift_end=shift_end,
                overdue=shift_end is not None and now > shift_end + grace,
                tag_no=p.worker.tag_no,
                presence_id=p.pk,
                overridden=p.override_by_id is not None or bool(p.override_reason),
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
