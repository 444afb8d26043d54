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


def parse_number(text) -> Decimal:
    """A number as people type it in Vietnam or in Excel: 1.234,5 · 1234,5 · 1 234,5 · 1234.5 · 1.234.

    Rules: a comma is the decimal separator when present (dots and spaces are then thousands separators);
    without a comma, dots followed by groups of exactly three digits are thousands separators ("1.234" is
    one thousand two hundred thirty-four, as a Vietnamese reader means it) and a single other dot is a
    decimal point ("1234.5"). Raises ValueError with the text otherwise."""
    if isinstance(text, int | float | Decimal) and not isinstance(text, bool):
        return Decimal(str(text))
    raw = str(text).strip().replace("\u00a0", " ")
    cleaned = raw.replace(" ", "")
    if not cleaned:
        raise ValueError("empty")
    sign = ""
    if cleaned[0] in "+-":
        sign, cleaned = cleaned[0], cleaned[1:]
    if "," in cleaned:
        integer, _, fraction = cleaned.rpartition(",")
        if "," in integer or "." in fraction:
            raise ValueError(f"not a number: {raw!r}")
        groups = integer.split(".")
        if len(groups) > 1 and (not groups[0] or any(len(g) != 3 for g in groups[1:])):
            raise ValueError(f"not a number: {raw!r}")
        cleaned = "".join(groups) + "." + fraction
    elif cleaned.count(".") >= 1:
        groups = cleaned.split(".")
        if len(groups) > 2 or len(groups[1]) == 3:
            if not groups[0] or any(len(g) != 3 for g in groups[1:]):
                raise ValueError(f"not a number: {raw!r}")
            cleaned = "".join(groups)
    if not cleaned.replace(".", "", 1).isdigit():
        raise ValueError(f"not a number: {raw!r}")
    return Decimal(sign + cleaned)
