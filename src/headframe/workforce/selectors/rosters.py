"""The roster of a unit for one day: its work positions × the shifts of its calendar, with each crew."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.production.selectors import calendar_for
from headframe.workforce.models import RosterEntry, Worker


@dataclass(frozen=True)
class RosterRow:
    position: Unit
    crews: list[list[Worker]]  # one list per shift (index 0: shift 1), by name


@dataclass(frozen=True)
class RosterGrid:
    unit: Unit
    day: dt.date
    shifts: int
    rows: list[RosterRow] = field(default_factory=list)
    may_edit: bool = False

    @property
    def people(self) -> int:
        return sum(len(crew) for row in self.rows for crew in row.crews)


def roster_grid(user, unit_code: str, day: dt.date) -> RosterGrid:
    """The work positions under a unit (a mine, an area, one position) that the user may see, each with its
    crew on every shift of `day`. Two queries. Unknown or invisible unit: 404."""
    unit = unit_get(user, unit_code, loc=("query", "unit"))
    positions = list(
        Unit.objects.filter(path__startswith=unit.path, kind=UnitKind.POSITION, is_active=True).order_by(
            "path"
        )
    )
    shifts = calendar_for(unit).shift_count
    crews: dict[int, list[list[Worker]]] = {p.pk: [[] for _ in range(shifts)] for p in positions}
    entries = (
        RosterEntry.objects.filter(position__in=positions, day=day)
        .filter(scope_for(user).q(Perm.VIEW, "worker__unit__path"))  # people the user may see, only
        .select_related("worker")
        .order_by("worker__full_name", "worker__employee_no")
    )
    for entry in entries:
        if 1 <= entry.shift <= shifts:
            crews[entry.position_id][entry.shift - 1].append(entry.worker)
    return RosterGrid(
        unit=unit,
        day=day,
        shifts=shifts,
        rows=[RosterRow(p, crews[p.pk]) for p in positions],
        may_edit=scope_for(user).allows(Perm.WORKFORCE, unit.path),
    )
