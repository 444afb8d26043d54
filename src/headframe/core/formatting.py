"""Vietnamese number and date formatting that does not depend on the active request language.

Used by exports, narratives and the CLI, where Django's localisation machinery is not in play. Pages use
Django's own localisation with the formats in headframe/formats (same result)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeAlias
from zoneinfo import ZoneInfo

from django.utils.translation import get_language

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Number: TypeAlias = Decimal | int | float
"""A quantity to format: read from the database (Decimal), counted (int) or computed (float)."""


def format_number(
    value: Number | str | None, decimals: int = 0, *, thousands: str = ".", decimal_sep: str = ","
) -> str:
    """1234567.8 -> '1.234.567,8' (decimals=1). Rounds half up, as accountants and planners expect."""
    if value is None:
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    integer, _, fraction = f"{abs(number):f}".partition(".")
    groups: list[str] = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    text = thousands.join(groups)
    if decimals > 0:
        text += decimal_sep + fraction
    return sign + text


def format_exact(value: Number | str | None) -> str:
    """A stored quantity with every significant decimal and none more: Decimal('1234.5000') → '1.234,5'."""
    if value is None:
        return ""
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity ('n', 'N', 'F'): fails as `-exponent` always did
        raise TypeError(f"bad operand type for unary -: {type(exponent).__name__!r}")
    decimals = max(0, -exponent)
    return format_number(value, decimals)


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


_NUMBER_TEXT = re.compile(r"[0-9][0-9., ]*")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


def read_number(text: str) -> Decimal | None:
    """A number typed as text, the Vietnamese way, or None if it is not one.

    Rules, in order:
    - spaces (also no-break and thin spaces) separate thousands: ``1 234,5``;
    - with both ``.`` and ``,``, the one that comes last is the decimal separator and the other separates
      thousands: ``1.234,5`` (Vietnamese), ``1,234.5`` (English);
    - a separator that occurs more than once separates thousands: ``1.234.567``;
    - a single ``,`` is the decimal separator: ``1234,5``, ``1,234`` (= 1.234);
    - a single ``.`` separates thousands when it reads as a thousands group — 1 to 3 digits not starting with
      0, the dot, exactly 3 digits, and no spaces: ``1.234`` = 1234, ``12.500`` = 12500; otherwise it is
      a decimal point: ``1234.5``, ``12.5``, ``0.125``, ``1.2345``;
    - thousands groups must be exact (a first group of 1–3 digits, then groups of 3), else it is not a number.
    A leading ``-`` is kept so that the service can refuse negatives by name.
    """
    s = _SPACES.sub(" ", text.strip())
    negative = False
    if s[:1] in ("-", "+", "\u2212"):
        negative = s[0] != "+"
        s = s[1:].lstrip()
    if not _NUMBER_TEXT.fullmatch(s) or s.endswith(" "):
        return None
    dots, commas = s.count("."), s.count(",")
    decimal_sep = thousands = None
    if dots and commas:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if s.count(decimal_sep) > 1:
            return None
    elif commas:
        decimal_sep, thousands = (",", None) if commas == 1 else (None, ",")
    elif dots > 1:
        thousands = "."
    elif dots:
        head, _, tail = s.partition(".")
        if " " not in s and _GROUPED.fullmatch(head) and len(tail) == 3 and tail.isdigit():
            thousands = "."
        else:
            decimal_sep = "."
    integer, fraction = s.split(decimal_sep) if decimal_sep else (s, "")
    if decimal_sep and not fraction.isdigit():
        return None
    groups = re.split(f"[ {re.escape(thousands)}]" if thousands else " ", integer)
    if len(groups) > 1 and not (
        1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and all(g.isdigit() for g in groups)
    ):
        return None
    digits = "".join(groups)
    if not digits.isdigit():
        return None
    try:
        number = Decimal(f"{digits}.{fraction}" if fraction else digits)
    except InvalidOperation:  # pragma: no cover - the checks above leave only digits
        return None
    return -number if negative else number


def parse_number(text: object) -> Decimal:
    """read_number for callers that want an exception: numbers pass through, text that is not one raises."""
    if isinstance(text, int | float | Decimal) and not isinstance(text, bool):
        return Decimal(str(text))
    if not isinstance(text, str):
        raise ValueError(f"not a number: {text!r}")
    number = read_number(text)
    if number is None:
        raise ValueError(f"not a number: {text!r}")
    return number


def format_number_in_language(value: Number | str | None, decimals: int | str = 0) -> str:
    """Thousands-grouped number in the active language (1.234.567,8 in Vietnamese, 1,234,567.8 in English);
    "" for nothing. The `number` template filter."""
    if value is None or value == "":
        return ""
    if (get_language() or "vi").startswith("en"):
        return format_number(value, int(decimals), thousands=",", decimal_sep=".")
    return format_number(value, int(decimals))
