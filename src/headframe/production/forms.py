"""Parsing of the day-entry form: one input per (shift, indicator), Vietnamese number formats accepted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from headframe.core.formatting import parse_number
from headframe.production.services import ActualRow

SHIFTS = (1, 2, 3)


def field_name(shift: int, indicator_code: str) -> str:
    return f"v-{shift}-{indicator_code}"


def confirm_name(name: str) -> str:
    """The checkbox confirming an implausible value of cell `name`; its value is the text it confirms, so a
    retyped value is judged again."""
    return f"confirm-{name}"


@dataclass
class DayEntry:
    rows: list[ActualRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # field name → message
    # Stored figures to remove, (indicator code, shift): the form (whole day or shifts) an indicator leaves.
    remove: list[tuple[str, int]] = field(default_factory=list)


def parse_day_entry(
    post, *, unit_code: str, day: dt.date, indicators, shifts=SHIFTS, stored=None
) -> DayEntry:
    """Rows for every filled cell; a cell that is not a number is reported against its own input. A cell whose
    confirmation checkbox carries the very text typed confirms its (implausible) value.

    Shift 0 is the whole day. An indicator typed both for the whole day and by shift is an error on its
    whole-day cell; typed in one form while `stored` ((indicator code, shift) → value) holds the other, the
    stored figures of the other form are listed in `remove` (the day converted)."""
    entry = DayEntry()
    stored = stored or {}
    for indicator in indicators:
        typed = {shift for shift in shifts if (post.get(field_name(shift, indicator.code)) or "").strip()}
        if 0 in typed and typed - {0}:
            entry.errors[field_name(0, indicator.code)] = _(
                "Enter this figure either for the whole day or by shift, not both: clear one of them."
            )
            continue
        if typed:
            whole = 0 in typed
            entry.remove += [
                (code, shift)
                for code, shift in stored
                if code == indicator.code and (shift != 0) == whole and shift not in typed
            ]
    for shift in shifts:
        for indicator in indicators:
            name = field_name(shift, indicator.code)
            text = (post.get(name) or "").strip()
            if not text or name in entry.errors:
                continue
            try:
                value = parse_number(text)
            except ValueError:
                entry.errors[name] = f"“{text}” không phải là số"
                continue
            confirmed = (post.get(confirm_name(name)) or "").strip() == text
            entry.rows.append(
                ActualRow(
                    unit_code,
                    indicator.code,
                    day,
                    shift,
                    value,
                    ("form", name),
                    confirm_implausible=confirmed,
                )
            )
    return entry
