"""Pure rules of the lamp room: which roster days count for a moment, and when a person's shift ends."""

from __future__ import annotations

import datetime as dt

from headframe.core.formatting import LOCAL_TZ
from headframe.production.calendar import ShiftPattern


def roster_days(pattern: ShiftPattern, at: dt.datetime) -> set[dt.date]:
    """The days whose rosters count for someone arriving at `at`: the production day of that moment and the
    local calendar date (someone arriving at 05:30 for the 06:00 shift belongs to today's roster)."""
    local = at.astimezone(LOCAL_TZ).date()
    try:
        day, _shift = pattern.shift_of(at)
    except ValueError:  # a calendar whose shifts leave a gap: the local date only
        return {local}
    return {day, local}


def rostered_shift_end(
    pattern: ShiftPattern, at: dt.datetime, shifts: list[tuple[dt.date, int]]
) -> dt.datetime | None:
    """The end of the rostered shift (day, shift) whose start lies nearest the check-in `at`; with no
    rostered shift, the end of the calendar shift `at` falls in (None when it falls in none)."""
    if shifts:
        day, shift = min(shifts, key=lambda s: abs((pattern.shift_start(*s) - at).total_seconds()))
    else:
        try:
            day, shift = pattern.shift_of(at)
        except ValueError:
            return None
    return pattern.shift_start(day, shift) + dt.timedelta(hours=pattern.shift_hours)
