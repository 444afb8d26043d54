"""Production errors read in the UI language: raised through the real services, the English `msg` for API
clients and the Vietnamese `text` for pages — dates dd/mm/yyyy, numbers 1.234,5, indicators by their name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from headframe.core.errors import Conflict, ValidationFailed
from headframe.production import holidays, services
from headframe.production.models import Holiday, Indicator
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TET = dt.date(2026, 2, 17)


def test_a_day_that_already_is_a_holiday_reads_in_vietnamese_with_its_date(tree, users):
    Holiday.objects.create(day=TET, name="Tết Nguyên đán")
    with pytest.raises(Conflict) as caught:
        holidays.holiday_add(actor=users.planner_g, day=TET, name="again", unit_code="A-M1")
    [item] = caught.value.items
    assert item.type == "holiday_exists"
    assert item.msg == "17/02/2026 is already a holiday for the whole group (Tết Nguyên đán)"
    with translation.override("vi"):
        assert caught.value.text == "17/02/2026 đã là ngày nghỉ lễ của toàn Tập đoàn (Tết Nguyên đán)"


def test_a_month_closed_for_holidays_reads_in_vietnamese(tree, users):
    services.period_lock(actor=users.planner_g, unit_code="A-M1", month=dt.date(2026, 5, 1))
    planner_a = make_user("planner_a", ("planner", "A"))
    with pytest.raises(Conflict) as caught:
        holidays.holiday_add(actor=planner_a, day=dt.date(2026, 5, 4), name="Nghỉ bù", unit_code="A")
    assert caught.value.items[0].msg == "month 05/2026 is closed for A-M1: its plans can no longer change"
    with translation.override("vi"):
        assert caught.value.text == (
            "tháng 05/2026 đã khóa sổ với A-M1: không thể thay đổi kế hoạch của tháng này nữa"
        )


def test_an_impossible_lower_bound_reads_with_vietnamese_numbers(tree, users):
    indicator = Indicator.objects.get(code="raw_coal_t")
    with pytest.raises(ValidationFailed) as caught:
        services.plausible_range_set(
            actor=users.planner_g,
            indicator_code=indicator.code,
            impossible_below=Decimal("1234.5"),
            impossible_above=Decimal("1000"),
        )
    [item] = caught.value.items
    assert item.type == "range_order"
    assert item.msg == "the upper impossible bound must be above the lower one (1234.5)"
    with translation.override("vi"):
        assert item.text == "giới hạn trên của giá trị không thể có phải lớn hơn giới hạn dưới (1.234,5)"
