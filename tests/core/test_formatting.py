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
