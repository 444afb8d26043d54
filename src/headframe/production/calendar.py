"""Production days, shifts and working days, and the rules on them (late figures, a year split by working days).

A production day is a local (Asia/Ho_Chi_Minh) calendar date. Shift n of day D starts at
first_shift_start + (n-1) × shift_hours on D, so with shifts at 06:00, 14:00 and 22:00 the third shift
runs 22:00–06:00 and everything in it — including 01:30 the next morning — belongs to day D.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.production.values import QUANTUM


@dataclass(frozen=True)
class ShiftPattern:
    shift_count: int = 3
    first_shift_start: dt.time = dt.time(6, 0)
    shift_hours: int = 8
    late_grace_minutes: int = 120  # a day's figures are late after its last shift ends plus this

    def shift_of(self, moment: dt.datetime) -> tuple[dt.date, int]:
        """(production day, shift number) for an aware moment."""
        local = moment.astimezone(LOCAL_TZ)
        start_today = local.replace(
            hour=self.first_shift_start.hour, minute=self.first_shift_start.minute, second=0, microsecond=0
        )
        day = local.date() if local >= start_today else local.date() - dt.timedelta(days=1)
        day_start = dt.datetime.combine(day, self.first_shift_start, tzinfo=LOCAL_TZ)
        elapsed_hours = (local - day_start).total_seconds() / 3600
        shift = int(elapsed_hours // self.shift_hours) + 1
        if shift > self.shift_count:
            raise ValueError(f"{local:%d/%m/%Y %H:%M} falls outside the {self.shift_count} shifts of the day")
        return day, shift

    def shift_start(self, day: dt.date, shift: int) -> dt.datetime:
        start = dt.datetime.combine(day, self.first_shift_start, tzinfo=LOCAL_TZ)
        return start + dt.timedelta(hours=self.shift_hours * (shift - 1))

    def day_end(self, day: dt.date) -> dt.datetime:
        """When the last shift of production day `day` ends (aware, local)."""
        return self.shift_start(day, self.shift_count) + dt.timedelta(hours=self.shift_hours)

    def late_deadline(self, day: dt.date) -> dt.datetime:
        """Figures of `day` entered after this are late: the end of its last shift plus the grace."""
        return self.day_end(day) + dt.timedelta(minutes=self.late_grace_minutes)


DEFAULT_PATTERN = ShiftPattern()


def month_days(year: int, month: int) -> list[dt.date]:
    return [dt.date(year, month, d) for d in range(1, _calendar.monthrange(year, month)[1] + 1)]


def same_day_last_year(day: dt.date) -> dt.date:
    """29/02 maps to 28/02 of the year before."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@lru_cache(maxsize=256)
def _working_days(year: int, month: int, holidays: frozenset[dt.date]) -> tuple[dt.date, ...]:
    return tuple(d for d in month_days(year, month) if d not in holidays)


def working_days(year: int, month: int, holidays: frozenset[dt.date]) -> tuple[dt.date, ...]:
    """Days of the month with production planned: every day except group holidays (mines work 7 days)."""
    return _working_days(year, month, holidays)


def is_late(day: dt.date, now: dt.datetime | None = None, calendar: ShiftPattern | None = None) -> bool:
    """Entered after the day's deadline on the calendar (default: 3 × 8 h from 06:00 + 120 min = 08:00 the
    next morning); see reporting.late_deadline."""
    return (now or timezone.now()) > (calendar or DEFAULT_PATTERN).late_deadline(day)


def split_by_working_days(annual: Decimal, year: int, holidays: frozenset[dt.date]) -> list[Decimal]:
    """Monthly shares in proportion to working days; December takes the rounding so the months add up."""
    counts = [len(working_days(year, m, holidays)) for m in range(1, 13)]
    total_days = sum(counts)
    months = [(annual * n / total_days).quantize(QUANTUM, rounding=ROUND_HALF_UP) for n in counts[:11]]
    months.append(annual - sum(months, Decimal(0)))
    return months
