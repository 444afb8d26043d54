"""Vietnamese number and date formatting that does not depend on the active request language.

Used by exports, narratives and the CLI, where Django's localisation machinery is not in play. Pages use
Django's own localisation with the formats in headframe/formats (same result)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def format_number(value, decimals: int = 0, *, thousands: str = ".", decimal_sep: str = ",") -> str:
    """1234567.8 -> '1.234.567,8' (decimals=1). Rounds half up, as accountants and planners expect."""
    if value is None:
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    integer, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    text = thousands.join(groups)
    if decimals > 0:
        text += decimal_sep + fraction
    return sign + text


def to_local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: headframe stores aware UTC datetimes only")
    return value.astimezone(LOCAL_TZ)


def format_date(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def format_datetime(value: dt.datetime) -> str:
    return to_local(value).strftime("%d/%m/%Y %H:%M")
