"""Plan-vs-actual arithmetic against hand-computed cases."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headframe.org.models import Unit
from headframe.production import selectors, services
from headframe.production.calendar import ShiftPattern, same_day_last_year, working_days
from headframe.production.models import Holiday, Indicator
from tests.production.conftest import D, ind


def summary(code, on, *codes):
    indicators = [ind(c) for c in codes]
    return {s.indicator.code: s for s in selectors.unit_summary(Unit.objects.get(code=code), on, indicators)}


# --- calendar ----------------------------------------------------------------------------------------


def test_shift_crossing_midnight_counts_for_start_day():
    pattern = ShiftPattern()  # 06:00, 14:00, 22:00
    hanoi = dt.timezone(dt.timedelta(hours=7))
    assert pattern.shift_of(dt.datetime(2027, 1, 5, 1, 30, tzinfo=hanoi)) == (dt.date(2027, 1, 4), 3)
    assert pattern.shift_of(dt.datetime(2027, 1, 5, 5, 59, tzinfo=hanoi)) == (dt.date(2027, 1, 4), 3)
    assert pattern.shift_of(dt.datetime(2027, 1, 5, 6, 0, tzinfo=hanoi)) == (dt.date(2027, 1, 5), 1)
    assert pattern.shift_of(dt.datetime(2027, 1, 5, 22, 0, tzinfo=hanoi)) == (dt.date(2027, 1, 5), 3)
    # the same instant in UTC (18:30 on the 4th) gives the same answer
    assert pattern.shift_of(dt.datetime(2027, 1, 4, 18, 30, tzinfo=dt.UTC)) == (dt.date(2027, 1, 4), 3)


def test_same_day_last_year_handles_the_leap_day():
    assert same_day_last_year(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert same_day_last_year(dt.date(2027, 3, 1)) == dt.date(2026, 3, 1)


def test_working_days_skip_holidays():
    holidays = frozenset({dt.date(2027, 2, 6), dt.date(2027, 2, 7)})
    assert len(working_days(2027, 2, holidays)) == 26
    assert len(working_days(2028, 2, frozenset())) == 29


def test_split_by_working_days_adds_up_exactly(db):
    holidays = frozenset({dt.date(2027, 2, d) for d in range(5, 12)})
    months = services.split_by_working_days(Decimal("1000000"), 2027, holidays)
    assert sum(months) == Decimal("1000000")
    assert months[1] < months[0]  # February loses its Tet week
    # January: 31 of 358 working days
    assert months[0] == (Decimal("1000000") * 31 / 358).quantize(Decimal("0.0001"))


def test_leap_year_plan_spreads_over_366_days(tree):
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2028,
        effective_from=dt.date(2028, 1, 1),
        values={"raw_coal_t": 366000},
    )
    s = summary("A-M1", dt.date(2028, 2, 29), "raw_coal_t")["raw_coal_t"]
    assert s.day.plan == D(1000)
    assert s.mtd.plan == D(29000)
    assert s.ytd.plan == D(60000)
    assert s.year_plan == D(366000)


# --- periods -------------------------------------------------------------------------------------------


def test_month_boundary_splits_mtd_from_ytd(mines, put):
    put(
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 1, 31), 1, 100),
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 2, 1), 1, 40),
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 2, 1), 2, 60),
    )
    s = summary("A", dt.date(2027, 2, 1), "raw_coal_t")["raw_coal_t"]
    assert s.day.actual == D(100)
    assert s.mtd.actual == D(100)
    assert s.ytd.actual == D(200)
    jan = summary("A", dt.date(2027, 1, 31), "raw_coal_t")["raw_coal_t"]
    assert jan.mtd.actual == D(100) and jan.ytd.actual == D(100)


def test_same_period_last_year_and_change(mines, put):
    put(
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2026, 3, 10), 0, 80),
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2026, 3, 11), 0, 999),  # after the same day: not counted
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 3, 10), 0, 100),
    )
    s = summary("A", dt.date(2027, 3, 10), "raw_coal_t")["raw_coal_t"]
    assert s.last_year_day == D(80)
    assert s.last_year_mtd == D(80)
    assert s.last_year_ytd == D(80)
    assert s.ytd_change_pct == D("25.0")


def test_plan_revision_mid_month(mines):
    """An adjusted plan replaces the original for the whole year, as the approved document does: every plan
    figure on a date comes from the version in force that day, the original is kept alongside."""
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2027,
        effective_from=dt.date(2027, 1, 1),
        values={"raw_coal_t": [3100] + [3000] * 11},
    )
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2027,
        effective_from=dt.date(2027, 1, 16),
        kind="adjusted",
        values={"raw_coal_t": [6200] + [3000] * 11},
    )
    s = summary("A", dt.date(2027, 1, 20), "raw_coal_t")["raw_coal_t"]
    assert s.day.plan == D(200)  # 6200 / 31 days, the adjusted version is in force
    assert s.mtd.plan == D(20 * 200)  # the adjusted month's plan to date, not a blend of two documents
    assert s.month_plan == D(6200)
    assert s.year_plan == D(6200 + 11 * 3000) and s.plan_adjusted
    assert s.year_plan_original == D(3100 + 11 * 3000)
    before = summary("A", dt.date(2027, 1, 15), "raw_coal_t")["raw_coal_t"]
    assert before.day.plan == D(100) and before.mtd.plan == D(1500)
    assert before.year_plan == before.year_plan_original == D(3100 + 11 * 3000)
    assert not before.plan_adjusted


def test_run_rate_forecast_and_required_daily_rate(mines, put):
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2027,
        effective_from=dt.date(2027, 1, 1),
        values={"raw_coal_t": 365000},
    )
    put(*[("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 4, d), 0, 800) for d in range(1, 11)])
    s = summary("A-M1", dt.date(2027, 4, 10), "raw_coal_t")["raw_coal_t"]
    assert s.mtd.actual == D(8000) and s.mtd.plan == D(10000)
    assert s.mtd.pct == D("80.0")
    assert s.month_plan == D(30000)
    assert s.forecast_month_end == D(24000)  # 800 a day × 30 days
    assert s.required_daily_month == D(1100)  # (30000 - 8000) / 20 days left
    assert s.ytd.actual == D(8000)
    assert s.required_daily_year == D("1347.17")  # (365000 - 8000) / 265 days left, rounded
    assert s.forecast_year_end == D("29200.00")  # 8000 / 100 elapsed days × 365
    assert s.status == "red"


def test_holidays_carry_no_plan(mines):
    Holiday.objects.create(day=dt.date(2027, 2, 6), name="Tết")
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2027,
        effective_from=dt.date(2027, 1, 1),
        values={"raw_coal_t": [0, 2700] + [0] * 10},
    )
    assert summary("A-M1", dt.date(2027, 2, 6), "raw_coal_t")["raw_coal_t"].day.plan == D(0)
    assert summary("A-M1", dt.date(2027, 2, 7), "raw_coal_t")["raw_coal_t"].day.plan == D(100)


def test_company_plan_is_used_instead_of_its_sites_plans(mines):
    services.plan_version_create(
        actor=None,
        unit_code="A",
        year=2027,
        effective_from=dt.date(2027, 1, 1),
        values={"coal_sold_t": 730000},
    )
    services.plan_version_create(
        actor=None, unit_code="A-M1", year=2027, effective_from=dt.date(2027, 1, 1), values={"coal_sold_t": 1}
    )
    assert summary("A", dt.date(2027, 6, 1), "coal_sold_t")["coal_sold_t"].day.plan == D(2000)
    assert summary("G", dt.date(2027, 6, 1), "coal_sold_t")["coal_sold_t"].year_plan == D(730000)


# --- aggregation ---------------------------------------------------------------------------------------


def test_derived_indicator_is_a_ratio_of_totals_not_a_sum_of_ratios(mines, put):
    day = dt.date(2027, 5, 5)
    put(
        ("A-M1-K1-F1", "raw_coal_t", day, 0, 1000),
        ("A-M1-K1", "man_shifts", day, 0, 100),  # 10 t per man-shift
        ("B-M1-K1-F1", "raw_coal_t", day, 0, 300),
        ("B-M1-K1", "man_shifts", day, 0, 100),  # 3 t per man-shift
    )
    s = summary("G", day, "productivity_t_per_man_shift")["productivity_t_per_man_shift"]
    assert s.day.actual == D("6.5")  # 1300 / 200, not 10 + 3 and not (10 + 3) / 2 weighted wrongly
    assert s.forecast_month_end is None  # ratios have no run-rate


def test_stripping_ratio_counts_open_pit_coal_only(mines, put):
    day = dt.date(2027, 5, 5)
    put(
        ("B-OP-CT-T1", "raw_coal_t", day, 0, 1000),
        ("B-OP-CT-T1", "overburden_m3", day, 0, 9000),
        ("A-M1-K1-F1", "raw_coal_t", day, 0, 5000),  # underground coal must not dilute the ratio
    )
    s = summary("G", day, "stripping_ratio_m3_per_t")["stripping_ratio_m3_per_t"]
    assert s.day.actual == D(9)


def test_roll_up_of_averages_weights_every_observation(mines, put):
    Indicator.objects.create(
        code="air_temp_c", name_vi="Nhiệt độ", name_en="Temperature", unit_of_measure="°C", aggregation="avg"
    )
    put(
        ("A-M1-K1", "air_temp_c", dt.date(2027, 5, 1), 0, 10),
        ("A-M1-K1", "air_temp_c", dt.date(2027, 5, 2), 0, 20),
        ("A-M1-K2", "air_temp_c", dt.date(2027, 5, 2), 0, 40),
    )
    s = summary("A-M1", dt.date(2027, 5, 2), "air_temp_c")["air_temp_c"]
    assert s.mtd.actual == D("23.3333")  # (10 + 20 + 40) / 3, not the mean of the areas' means (27.5)
    assert s.day.actual == D(30)


def test_shift_values_of_an_average_are_averaged_into_the_day(mines, put):
    Indicator.objects.create(code="t_c", name_vi="t", name_en="t", unit_of_measure="°C", aggregation="avg")
    put(("A-M1-K1", "t_c", dt.date(2027, 5, 1), 1, 10), ("A-M1-K1", "t_c", dt.date(2027, 5, 1), 2, 30))
    assert summary("A-M1", dt.date(2027, 5, 1), "t_c")["t_c"].day.actual == D(20)


def test_weighted_average_uses_the_weight_indicator(mines, put):
    day = dt.date(2027, 5, 5)
    put(
        ("A-M1", "clean_coal_t", day, 0, 300),
        ("A-M1", "ash_pct", day, 0, 10),
        ("B-M1", "clean_coal_t", day, 0, 100),
        ("B-M1", "ash_pct", day, 0, 30),
    )
    assert summary("G", day, "ash_pct")["ash_pct"].day.actual == D(15)  # (300×10 + 100×30) / 400


def test_last_value_takes_each_units_latest_figure_and_adds_units(mines, put):
    put(
        ("A-M1", "coal_stock_t", dt.date(2027, 5, 1), 0, 500),
        ("A-M1", "coal_stock_t", dt.date(2027, 5, 3), 0, 700),
        ("B-M1", "coal_stock_t", dt.date(2027, 5, 2), 0, 100),
    )
    s = summary("G", dt.date(2027, 5, 3), "coal_stock_t")["coal_stock_t"]
    assert s.mtd.actual == D(800)


def test_children_summaries_split_the_parent(mines, put):
    day = dt.date(2027, 5, 5)
    put(("A-M1-K1-F1", "raw_coal_t", day, 0, 100), ("B-M1-K1-F1", "raw_coal_t", day, 0, 50))
    group = Unit.objects.get(code="G")
    children = list(Unit.objects.filter(parent=group).order_by("code"))
    split = selectors.children_summaries(group, day, [ind("raw_coal_t")], children)
    assert split["A"][0].day.actual == D(100)
    assert split["B"][0].day.actual == D(50)


# One reporting level per subtree (an indicator is never reported at a unit and its ancestor too).
unit_codes = st.sampled_from(["A-M1-K1-F1", "A-M1-K2", "B-M1-K1-F1", "B-OP-CT-T1"])
figures = st.lists(
    st.tuples(
        unit_codes,
        st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2027, 3, 31)),
        st.integers(min_value=1, max_value=3),
        st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False),
    ),
    max_size=25,
    unique_by=lambda row: (row[0], row[1], row[2]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=figures, on=st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2027, 3, 31)))
def test_roll_up_of_a_subtree_equals_the_sum_of_its_children(mines, put, rows, on):
    from headframe.production.models import Actual, DailyTotal, MonthlyTotal

    Actual.objects.all().delete()
    DailyTotal.objects.all().delete()
    MonthlyTotal.objects.all().delete()
    put(*[(u, "raw_coal_t", d, s, v) for u, d, s, v in rows])
    group = Unit.objects.get(code="G")
    children = list(Unit.objects.filter(parent=group))
    whole = selectors.unit_summary(group, on, [ind("raw_coal_t")])[0]
    parts = selectors.children_summaries(group, on, [ind("raw_coal_t")], children)
    for period in ("day", "mtd", "ytd"):
        total = getattr(whole, period).actual or Decimal(0)
        pieces = sum((getattr(parts[c.code][0], period).actual or Decimal(0) for c in children), Decimal(0))
        assert total == pieces
    expected_ytd = sum((v for _u, d, _s, v in rows if d <= on), Decimal(0))
    assert (whole.ytd.actual or Decimal(0)) == expected_ytd


@pytest.mark.parametrize("code", ["raw_coal_t", "man_shifts"])
def test_summary_without_any_data_is_empty_not_zero(mines, code):
    s = summary("G", dt.date(2027, 5, 5), code)[code]
    assert s.day.actual is None and s.mtd.pct is None and s.forecast_month_end is None


def test_last_value_over_the_year_reads_earlier_months(mines, put):
    put(
        ("A-M1", "coal_stock_t", dt.date(2027, 1, 20), 0, 500),
        ("A-M1", "coal_stock_t", dt.date(2027, 3, 2), 0, 650),
        ("B-M1", "coal_stock_t", dt.date(2027, 2, 10), 0, 100),
        ("B-M1", "coal_stock_t", dt.date(2027, 2, 11), 0, 120),
    )
    s = summary("G", dt.date(2027, 3, 3), "coal_stock_t")["coal_stock_t"]
    assert s.ytd.actual == D(770)  # A's 02/03 figure + B's last February figure
    assert s.mtd.actual == D(650)  # only A reported in March


def test_weighted_average_over_the_year_combines_months(mines, put):
    put(
        ("A-M1", "clean_coal_t", dt.date(2027, 1, 5), 0, 100),
        ("A-M1", "ash_pct", dt.date(2027, 1, 5), 0, 10),
        ("A-M1", "clean_coal_t", dt.date(2027, 2, 5), 0, 300),
        ("A-M1", "ash_pct", dt.date(2027, 2, 5), 0, 20),
    )
    s = summary("A", dt.date(2027, 2, 5), "ash_pct")["ash_pct"]
    assert s.ytd.actual == D("17.5")  # (100×10 + 300×20) / 400
    # the weight arriving after the value still counts
    put(("A-M1", "ash_pct", dt.date(2027, 1, 6), 0, 30))
    put(("A-M1", "clean_coal_t", dt.date(2027, 1, 6), 0, 100))
    s = summary("A", dt.date(2027, 2, 5), "ash_pct")["ash_pct"]
    assert s.ytd.actual == D(20)  # (1000 + 3000 + 6000) / 500


def test_a_second_group_is_not_counted_in_the_first(mines, put):
    from tests.factories import make_unit

    make_unit("G2", "group")
    make_unit("G2-C", "company", "G2")
    make_unit("G2-C-M", "site", "G2-C")
    put(
        ("A-M1", "raw_coal_t", dt.date(2027, 5, 5), 0, 10),
        ("G2-C-M", "raw_coal_t", dt.date(2027, 5, 5), 0, 99),
    )
    assert summary("G", dt.date(2027, 5, 5), "raw_coal_t")["raw_coal_t"].day.actual == D(10)


@pytest.mark.parametrize("later", [False, True])
def test_month_to_date_is_the_same_whether_or_not_later_days_are_reported(mines, put, later):
    """Without later figures the month part comes from MonthlyTotal, with them from daily rows."""
    rows = [
        ("A-M1", "raw_coal_t", dt.date(2027, 5, 1), 0, 100),
        ("A-M1", "raw_coal_t", dt.date(2027, 5, 2), 0, 50),
        ("A-M1", "coal_stock_t", dt.date(2027, 5, 1), 0, 400),
        ("A-M1", "coal_stock_t", dt.date(2027, 5, 2), 0, 300),
        ("A-M1", "clean_coal_t", dt.date(2027, 5, 1), 0, 100),
        ("A-M1", "ash_pct", dt.date(2027, 5, 1), 0, 10),
        ("A-M1", "clean_coal_t", dt.date(2027, 5, 2), 0, 300),
        ("A-M1", "ash_pct", dt.date(2027, 5, 2), 0, 20),
    ]
    if later:
        rows += [
            ("A-M1", "raw_coal_t", dt.date(2027, 5, 9), 0, 999),
            ("A-M1", "coal_stock_t", dt.date(2027, 5, 9), 0, 999),
            ("A-M1", "clean_coal_t", dt.date(2027, 5, 9), 0, 999),
            ("A-M1", "ash_pct", dt.date(2027, 5, 9), 0, 99),
        ]
    put(*rows)
    s = summary("A", dt.date(2027, 5, 2), "raw_coal_t", "coal_stock_t", "ash_pct")
    assert (s["raw_coal_t"].mtd.actual, s["raw_coal_t"].day.actual) == (D(150), D(50))
    assert (s["coal_stock_t"].mtd.actual, s["coal_stock_t"].day.actual) == (D(300), D(300))
    assert (s["ash_pct"].mtd.actual, s["ash_pct"].day.actual) == (D("17.5"), D(20))
    assert s["ash_pct"].ytd.actual == D("17.5")


def test_month_to_date_late_in_a_month_subtracts_the_tail(mines, put):
    put(*[("A-M1", "raw_coal_t", dt.date(2027, 5, d), 0, d) for d in range(1, 32)])
    s = summary("A", dt.date(2027, 5, 29), "raw_coal_t")["raw_coal_t"]
    assert s.mtd.actual == D(sum(range(1, 30)))
    assert s.day.actual == D(29)
    early = summary("A", dt.date(2027, 5, 3), "raw_coal_t")["raw_coal_t"]
    assert early.mtd.actual == D(6)
    nxt = summary("A", dt.date(2028, 5, 29), "raw_coal_t")["raw_coal_t"]
    assert nxt.last_year_mtd == D(sum(range(1, 30)))


def test_a_childs_own_plan_counts_even_when_its_parent_is_planned_too(mines, put):
    for code, annual in (("A", 730000), ("A-M1", 365000)):
        services.plan_version_create(
            actor=None,
            unit_code=code,
            year=2027,
            effective_from=dt.date(2027, 1, 1),
            values={"raw_coal_t": annual},
        )
    a = Unit.objects.get(code="A")
    child = selectors.children_summaries(
        a, dt.date(2027, 5, 5), [ind("raw_coal_t")], [Unit.objects.get(code="A-M1")]
    )
    assert child["A-M1"][0].year_plan == D(365000)
    assert summary("A", dt.date(2027, 5, 5), "raw_coal_t")["raw_coal_t"].year_plan == D(730000)


def test_a_company_plan_does_not_hide_its_open_pits_plans_from_the_stripping_ratio(mines):
    services.plan_version_create(
        actor=None,
        unit_code="B-OP",
        year=2027,
        effective_from=dt.date(2027, 1, 1),
        values={"raw_coal_t": 36500, "overburden_m3": 365000},
    )
    services.plan_version_create(
        actor=None, unit_code="B", year=2027, effective_from=dt.date(2027, 1, 1), values={"raw_coal_t": 73000}
    )
    s = summary("G", dt.date(2027, 5, 5), "stripping_ratio_m3_per_t")["stripping_ratio_m3_per_t"]
    assert s.day.plan == D(10)


def test_ash_reported_by_shift_is_weighted_by_each_shifts_clean_coal(mines, put):
    day = dt.date(2027, 5, 5)
    put(
        ("A-M1", "clean_coal_t", day, 1, 300),
        ("A-M1", "ash_pct", day, 1, 10),
        ("A-M1", "clean_coal_t", day, 2, 100),
        ("A-M1", "ash_pct", day, 2, 30),
    )
    assert summary("A-M1", day, "ash_pct")["ash_pct"].day.actual == D(15)  # not the plain mean 20


def test_plans_of_stock_add_up_and_ash_plans_are_weighted_like_the_actuals(mines, put):
    for code, stock, ash, clean in (("A-M1", 500, 10, 109500), ("B-M1", 100, 30, 36500)):
        services.plan_version_create(
            actor=None,
            unit_code=code,
            year=2027,
            effective_from=dt.date(2027, 1, 1),
            values={"coal_stock_t": [stock] * 12, "ash_pct": [ash] * 12, "clean_coal_t": clean},
        )
    s = summary("G", dt.date(2027, 5, 5), "coal_stock_t", "ash_pct")
    assert s["coal_stock_t"].day.plan == D(600)  # 500 + 100, like the actual stock
    assert s["ash_pct"].day.plan == D(15)  # (300 t × 10 % + 100 t × 30 %) / 400 t a day


def test_a_month_that_loses_all_its_figures_loses_its_total(mines, put):
    from headframe.production.models import Actual, MonthlyTotal

    put(("A-M1", "raw_coal_t", dt.date(2027, 4, 10), 0, 500))
    actual = Actual.objects.get()
    key = (actual.unit_id, actual.indicator_id, actual.day)
    actual.delete()
    services.refresh_totals({key})
    assert not MonthlyTotal.objects.exists()
    assert summary("A", dt.date(2027, 5, 3), "raw_coal_t")["raw_coal_t"].ytd.actual is None
