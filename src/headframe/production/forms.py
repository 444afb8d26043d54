"""Parsing of the day-entry form: one input per (shift, indicator), Vietnamese number formats accepted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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


def parse_day_entry(post, *, unit_code: str, day: dt.date, indicators, shifts=SHIFTS) -> DayEntry:
    """Rows for every filled cell; a cell that is not a number is reported against its own input. A cell whose
    confirmation checkbox carries the very text typed confirms its (implausible) value."""
    entry = DayEntry()
    for shift in shifts:
        for indicator in indicators:
            name = field_name(shift, indicator.code)
            text = (post.get(name) or "").strip()
            if not text:
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
