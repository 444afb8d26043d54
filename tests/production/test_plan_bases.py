"""Issue 12: one meaning per figure in the summary engine — the two plan bases, the plan version in force,
a meeting's own period, the root's early warning, holidays per unit."""

import datetime as dt

from headframe.org.models import Unit
from headframe.production import selectors, services
from headframe.production.models import Holiday
from tests.production.conftest import D, ind


def summary(code, on, *codes, period_start=None):
    rows = selectors.unit_summary(
        Unit.objects.get(code=code), on, [ind(c) for c in codes], period_start=period_start
    )
    return {s.indicator.code: s for s in rows}


def plan(unit, year, values, effective=None, kind="original"):
    services.plan_version_create(
        actor=None,
        unit_code=unit,
        year=year,
        effective_from=effective or dt.date(year, 1, 1),
        kind=kind,
        values=values,
    )


def test_both_bases_mid_month(mines, put):
    plan("A-M1", 2027, {"raw_coal_t": [3100] + [3000] * 11})
    put(*[("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 1, d), 0, 110) for d in range(1, 11)])
    s = summary("A", dt.date(2027, 1, 10), "raw_coal_t")["raw_coal_t"]
    assert s.mtd.plan == D(1000) and s.mtd.pct == D("110.0")  # % of month plan to date (tiến độ)
    assert s.month_plan == D(3100) and s.month_pct == D("35.5")  # % of the month plan: 1100 / 3100
    assert s.year_plan == D(36100) and s.year_pct == D("3.0")  # % of the year plan: 1100 / 36100
    assert s.ytd.pct == D("110.0")  # % of year plan to date


def test_year_plan_is_the_version_in_force_and_the_original_is_kept(mines, put):
    plan("A-M1", 2027, {"raw_coal_t": [3100] * 12})
    adjusted = [3000] * 6 + [2500] * 6
    plan("A-M1", 2027, {"raw_coal_t": adjusted}, effective=dt.date(2027, 7, 1), kind="adjusted")
    put(("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 8, 3), 0, 100))
    s = summary("G", dt.date(2027, 8, 10), "raw_coal_t")["raw_coal_t"]
    # The approved adjusted plan's total, not original months before July plus adjusted ones after.
    assert s.year_plan == D(sum(adjusted)) == D(33000)
    assert s.year_plan_original == D(3100 * 12) and s.plan_adjusted
    assert s.year_pct == D("0.3") and s.year_pct_original == D("0.3")
    assert s.ytd.plan == D(sum(adjusted[:7]) + 2500 * 10 / 31).quantize(D("0.0001"))
    june = summary("G", dt.date(2027, 6, 30), "raw_coal_t")["raw_coal_t"]
    assert june.year_plan == june.year_plan_original == D(3100 * 12) and not june.plan_adjusted


def test_weighted_plan_is_weighted_by_the_version_in_force(mines):
    plan("A-M1", 2027, {"clean_coal_t": [1000] * 12, "ash_pct": [10] * 12})
    plan("B-M1", 2027, {"clean_coal_t": [1000] * 12, "ash_pct": [20] * 12})
    plan(
        "A-M1",
        2027,
        {"clean_coal_t": [3000] * 12, "ash_pct": [10] * 12},
        effective=dt.date(2027, 7, 1),
        kind="adjusted",
    )
    s = summary("G", dt.date(2027, 8, 10), "ash_pct")["ash_pct"]
    # Jan–Aug ash plan weighted by the adjusted clean-coal plan of A-M1 (3000) against B-M1's 1000.
    assert s.ytd.plan == D("12.5")
    assert summary("G", dt.date(2027, 6, 10), "ash_pct")["ash_pct"].ytd.plan == D(15)


def test_period_figures_for_a_quarter(mines, put):
    plan("A-M1", 2027, {"raw_coal_t": [3100, 2800, 3100] + [3000] * 9})
    put(*[("A-M1-K1-F1", "raw_coal_t", dt.date(2027, m, 1), 0, 1000) for m in (1, 2, 3, 4)])
    s = summary("A", dt.date(2027, 3, 31), "raw_coal_t", period_start=dt.date(2027, 1, 1))["raw_coal_t"]
    assert s.period.actual == D(3000) and s.period.plan == D(9000)
    assert s.period.pct == D("33.3")
    assert s.mtd.actual == D(1000) and s.ytd.actual == D(3000)  # month and year to date still there
    week = summary("A", dt.date(2027, 3, 7), "raw_coal_t", period_start=dt.date(2027, 2, 26))["raw_coal_t"]
    assert week.period.actual == D(1000) and week.period.plan == D(3 * 100 + 7 * 100)
    assert summary("A", dt.date(2027, 3, 7), "raw_coal_t")["raw_coal_t"].period is None


def test_period_across_a_new_year_adds_both_years_plans(mines, put):
    plan("A-M1", 2027, {"raw_coal_t": [3100] * 12})
    plan("A-M1", 2028, {"raw_coal_t": [6200] * 12})
    put(
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 12, 30), 0, 50),
        ("A-M1-K1-F1", "raw_coal_t", dt.date(2028, 1, 2), 0, 70),
        now=dt.datetime(2028, 2, 1, tzinfo=dt.UTC),
    )
    s = summary("A", dt.date(2028, 1, 3), "raw_coal_t", period_start=dt.date(2027, 12, 28))["raw_coal_t"]
    assert s.period.actual == D(120)
    assert s.period.plan == D(4 * 100 + 3 * 200)


def test_period_of_averages_and_weighted_averages(mines, put):
    put(
        ("A-M1-K1-F1", "clean_coal_t", dt.date(2027, 2, 27), 0, 100),
        ("A-M1-K1-F1", "ash_pct", dt.date(2027, 2, 27), 0, 10),
        ("A-M1-K1-F1", "clean_coal_t", dt.date(2027, 3, 2), 0, 300),
        ("A-M1-K1-F1", "ash_pct", dt.date(2027, 3, 2), 0, 20),
    )
    s = summary("A", dt.date(2027, 3, 5), "ash_pct", period_start=dt.date(2027, 2, 25))["ash_pct"]
    assert s.period.actual == D("17.5")  # (10 × 100 + 20 × 300) / 400
    assert s.mtd.actual == D(20)


def test_early_warning_evaluates_the_root(mines, put):
    # The group's plan is held at the group: no company has a plan, so only the root can be at risk.
    plan("G", 2027, {"roadway_m": 365000})
    put(*[("A-M1-K1-F1", "roadway_m", dt.date(2027, 6, d), 0, 100) for d in range(1, 31)])
    group = Unit.objects.get(code="G")
    warnings = selectors.early_warnings_below(group, dt.date(2027, 6, 30), Unit.objects.all())
    assert [(w.unit.code, w.indicator.code) for w in warnings] == [("G", "roadway_m")]
    assert warnings[0].best_30_day_rate == D(100)
    assert warnings[0].required_daily > warnings[0].best_30_day_rate


def test_a_company_holiday_moves_only_that_companys_plan(mines):
    plan("A-M1", 2027, {"raw_coal_t": [3100] + [3000] * 11})
    plan("B-M1", 2027, {"raw_coal_t": [3100] + [3000] * 11})
    Holiday.objects.create(day=dt.date(2027, 1, 5), name="Ngày truyền thống", unit=Unit.objects.get(code="A"))
    on = dt.date(2027, 1, 5)
    a = summary("A", on, "raw_coal_t")["raw_coal_t"]
    b = summary("B", on, "raw_coal_t")["raw_coal_t"]
    assert a.day.plan == 0 and a.month_plan == D(3100)  # spread over 30 working days
    assert a.mtd.plan == D(4 * 3100 / 30).quantize(D("0.0001"))
    assert b.day.plan == D(100) and b.mtd.plan == D(500)
    assert selectors.holidays_in(2027, Unit.objects.get(code="A-M1")) == {dt.date(2027, 1, 5)}
    assert selectors.holidays_in(2027) == frozenset()
