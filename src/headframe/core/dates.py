"""The calendar headframe works in: production days, deadlines, periods and incident times lie between
FIRST_DAY and LAST_DAY. Dates outside it are typing mistakes (0001-01-01, 9999-12-31) that would only
overflow date arithmetic (a year back, a month ahead) further down; they are refused where they come in.

Stated once here: schemas use `Day` / `Moment` (a 422 naming the field), services and selectors that take
dates from elsewhere (a spreadsheet, a page) call `check_day`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from headframe.core.errors import ErrorItem, ValidationFailed

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)


def out_of_range_message(value: object) -> str:
    shown = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"{shown} is outside {FIRST_DAY:%d/%m/%Y}–{LAST_DAY:%d/%m/%Y}"


def out_of_range_item(loc: Sequence[str | int], value: object) -> ErrorItem:
    """The catalogue error for a date outside FIRST_DAY..LAST_DAY."""
    shown = value.isoformat() if isinstance(value, dt.date) else str(value)
    return ErrorItem(
        tuple(loc),
        "",
        "date_out_of_range",
        {"day": shown, "first": FIRST_DAY, "last": LAST_DAY},
        "date_out_of_range.day",
    )


def day_in_range(day: dt.date) -> bool:
    if isinstance(day, dt.datetime):
        day = day.date()
    return FIRST_DAY <= day <= LAST_DAY


def check_day(day: object, *, loc: Sequence[str | int] = (), label: str = "") -> None:
    """Raise a 422 at `loc` when `day` (a date or datetime) lies outside FIRST_DAY..LAST_DAY."""
    if isinstance(day, dt.date) and not day_in_range(day):
        shown = day.date() if isinstance(day, dt.datetime) else day  # the day, in the date format shown
        params: dict[str, Any] = {"day": shown, "first": FIRST_DAY, "last": LAST_DAY}
        if label:
            raise ValidationFailed(
                loc=tuple(loc),
                type="date_out_of_range",
                params={**params, "label": label},
                key="date_out_of_range.labelled",
            )
        raise ValidationFailed(
            loc=tuple(loc), type="date_out_of_range", params=params, key="date_out_of_range.day"
        )


_Day = TypeVar("_Day", bound=dt.date)


def _validated(value: _Day) -> _Day:
    if not day_in_range(value):
        raise PydanticCustomError("date_out_of_range", out_of_range_message(value))
    return value


Day = Annotated[dt.date, AfterValidator(_validated)]
"""A date between FIRST_DAY and LAST_DAY, for schemas and query parameters."""

Moment = Annotated[dt.datetime, AfterValidator(_validated)]
"""A date and time whose day lies between FIRST_DAY and LAST_DAY."""
