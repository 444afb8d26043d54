import datetime as dt
from decimal import Decimal

import pytest

from headframe.core.formatting import format_date, format_datetime, format_number


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234567.8, 1, "1.234.567,8"),
        (Decimal("1234567.85"), 1, "1.234.567,9"),  # half up, as planners round
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, "1.000"),
        (-3030000, 0, "-3.030.000"),
        (Decimal("0.05"), 1, "0,1"),
        (12.5, 2, "12,50"),
    ],
)
def test_vietnamese_number_format_groups_with_dots_and_uses_decimal_comma(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_none_formats_as_empty():
    assert format_number(None) == ""


def test_dates_are_day_first():
    assert format_date(dt.date(2027, 2, 3)) == "03/02/2027"


def test_utc_time_is_shown_in_hanoi_time():
    # 23:30 UTC on 31/12 is already 06:30 on 01/01 in Asia/Ho_Chi_Minh (UTC+7)
    moment = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert format_datetime(moment) == "01/01/2027 06:30"
    assert format_date(moment) == "01/01/2027"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_datetime(dt.datetime(2027, 1, 1, 8, 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,5", Decimal("1234.5")),
        ("1234,5", Decimal("1234.5")),
        ("1 234,5", Decimal("1234.5")),
        ("1.234.567", Decimal("1234567")),
        ("1.234", Decimal("1234")),  # Vietnamese thousands, not one point two
        ("1234.5", Decimal("1234.5")),
        ("0,75", Decimal("0.75")),
        ("-12", Decimal("-12")),
        (12.5, Decimal("12.5")),
        ("  300 ", Decimal("300")),
        ("1,234.5", Decimal("1234.5")),  # both separators: the last one is the decimal point
        ("12.5", Decimal("12.5")),
    ],
)
def test_parse_number_reads_vietnamese_and_plain_formats(text, expected):
    from headframe.core.formatting import parse_number

    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.23,4", "12.34.5", "--1", "1e5", True, "1 23"])
def test_parse_number_refuses_ambiguous_or_garbage_text(text):
    from headframe.core.formatting import parse_number

    with pytest.raises((ValueError, TypeError)):
        parse_number(text)


def test_format_exact_keeps_significant_decimals_only():
    from headframe.core.formatting import format_exact

    assert format_exact(Decimal("1234.5000")) == "1.234,5"
    assert format_exact(Decimal("700.0000")) == "700"
    assert format_exact(None) == ""
