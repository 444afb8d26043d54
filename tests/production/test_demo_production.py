"""The production demo data: realistic in size and shape, consistent totals, idempotent and deterministic.

The org demo and one year of production demo are loaded once for the module (≈ 6 s) inside a transaction
that is rolled back at the end, so the other test modules never see them.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test import override_settings

from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.production import selectors, services
from headframe.production.demo import load_production_demo
from headframe.production.models import (
    Actual,
    DailyTotal,
    Deviation,
    Holiday,
    Indicator,
    MonthlyTotal,
    PlanVersion,
)
from tests.demo_snapshot import demo_database

TODAY = dt.date(2026, 11, 28)
ON = TODAY - dt.timedelta(days=1)  # the last day with figures
SUMMARY_REPR = "HFG: production demo data"


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        demo_database()
        # One recent year only: the 2021 register year (loaded by default) has its own tests (test_demo_2021.py).
        counts = load_production_demo(today=TODAY, years=1, register_years=())
        # Fire PostgreSQL's deferred foreign-key checks once, here, rather than in every test's teardown
        # (TestCase checks them inside its savepoint, which then rolls the check back).
        connection.check_constraints()
        yield counts
        transaction.set_rollback(True)


def unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


def by_code(summary) -> dict:
    return {s.indicator.code: s for s in summary}


def test_a_year_of_demo_figures_loads_whole(loaded, db):
    # How long it takes is a benchmark's business (a timing assertion fails on a busy machine, not on a defect).
    assert loaded["actuals"] > 100_000
    assert loaded["days"] == (ON - dt.date(2026, 1, 1)).days + 1
    assert 50 <= loaded["deviations"] <= 1000
    assert Actual.objects.exclude(source=Actual.Source.DEMO).count() == 0


def test_a_second_load_adds_and_changes_nothing(loaded, db):
    actuals, totals, audit = Actual.objects.count(), DailyTotal.objects.count(), AuditEntry.objects.count()
    checksum = DailyTotal.objects.aggregate(s=Sum("value"))["s"]
    again = load_production_demo(today=TODAY, years=1, register_years=())
    assert {k: v for k, v in again.items() if k != "seconds"} == dict.fromkeys(again.keys() - {"seconds"}, 0)
    assert Actual.objects.count() == actuals
    assert DailyTotal.objects.count() == totals
    assert DailyTotal.objects.aggregate(s=Sum("value"))["s"] == checksum
    assert AuditEntry.objects.count() == audit
    assert AuditEntry.objects.filter(object_repr=SUMMARY_REPR).count() == 1


def test_the_load_is_one_audit_row_not_one_per_figure(loaded, db):
    entry = AuditEntry.objects.get(object_repr=SUMMARY_REPR)
    assert entry.unit_path == "/HFG/"
    assert entry.after["actuals"] == loaded["actuals"]
    assert not AuditEntry.objects.filter(object_type="production.actual").exists()


def test_group_year_to_date_is_the_size_of_a_coal_group(loaded, db):
    s = by_code(selectors.unit_summary(unit("HFG"), ON))
    assert 30e6 <= s["raw_coal_t"].ytd.actual <= 40e6
    assert 38e6 <= s["raw_coal_t"].year_plan <= 41e6
    assert 49e6 <= s["coal_sold_t"].year_plan <= 51e6
    assert 90 <= s["raw_coal_t"].ytd.pct <= 105
    price = s["revenue_vnd"].ytd.actual / s["coal_sold_t"].ytd.actual
    assert Decimal(1_300_000) <= price <= Decimal(1_500_000)
    assert 4 <= s["productivity_t_per_man_shift"].ytd.actual <= 12
    october = by_code(selectors.unit_summary(unit("HFG"), dt.date(2026, 10, 31)))
    assert 17_000 <= october["roadway_m"].mtd.actual <= 26_000
    assert 7e6 <= october["overburden_m3"].mtd.actual <= 12e6
    assert 2.5e6 <= october["raw_coal_t"].mtd.actual <= 3.8e6


def test_open_pits_remove_overburden_and_underground_mines_drive_roadways(loaded, db):
    for site in Unit.objects.filter(kind="site", site_type__in=["open_pit", "underground"]):
        s = by_code(selectors.unit_summary(site, ON))
        if site.site_type == "open_pit":
            assert s["overburden_m3"].ytd.actual > 0, site.code
            assert s["roadway_m"].ytd.actual is None, site.code
            assert 5 <= s["stripping_ratio_m3_per_t"].ytd.actual <= 10, site.code
        else:
            assert s["roadway_m"].ytd.actual > 0, site.code
            assert s["overburden_m3"].ytd.actual is None, site.code
            assert 4 <= s["productivity_t_per_man_shift"].ytd.actual <= 8, site.code


def test_drill_down_reaches_faces_headings_and_benches(loaded, db):
    reporting = set(
        DailyTotal.objects.filter(indicator__code="raw_coal_t").values_list("unit__position_kind", flat=True)
    )
    assert reporting == {"longwall_face", "bench"}
    headings = DailyTotal.objects.filter(indicator__code="roadway_m").values_list(
        "unit__position_kind", flat=True
    )
    assert set(headings) == {"development_heading"}
    sold_by = DailyTotal.objects.filter(indicator__code="coal_sold_t").values_list("unit__kind", flat=True)
    assert set(sold_by) == {"company"}


def test_holidays_have_next_to_no_production(loaded, db):
    days = set(Holiday.objects.filter(day__year=2026).values_list("day", flat=True))
    assert {dt.date(2026, 2, 17), dt.date(2026, 4, 30), dt.date(2026, 5, 1), dt.date(2026, 9, 2)} <= days
    tet = [d for d in days if abs((d - dt.date(2026, 2, 17)).days) <= 7]
    assert 5 <= len(tet) <= 9
    raw = Indicator.objects.get(code="raw_coal_t")
    series = selectors.daily_series(unit("HFG"), raw, dt.date(2026, 1, 1), ON)
    normal = series[dt.date(2026, 3, 10)]
    for day in sorted(days):
        assert series.get(day, 0) < normal * Decimal("0.01"), day
    assert series[max(tet) + dt.timedelta(days=1)] < normal * Decimal("0.8")  # restarting after Tet


def test_early_warnings_name_a_struggling_company_but_not_everyone(loaded, db):
    group = unit("HFG")
    companies = list(Unit.objects.filter(kind="company").order_by("code"))
    warnings = selectors.early_warnings(group, ON, companies, selectors.indicators_for(key_only=True))
    flagged = {w.unit.code for w in warnings}
    assert flagged
    assert len(flagged) < len(companies)


def test_deviations_explain_shortfalls_with_a_realistic_mix(loaded, db):
    mix = dict(Deviation.objects.values_list("category").annotate(n=Count("id")))
    assert len(mix) >= 5
    assert {"geology", "equipment"} <= set(mix)
    assert not Deviation.objects.filter(day__gte=TODAY).exists()
    assert selectors.top_reasons(unit("HFG"), dt.date(2026, 8, 31)) or selectors.top_reasons(
        unit("HFG"), dt.date(2026, 7, 31)
    )


def test_plans_are_original_per_site_and_company_and_adjusted_mid_year(loaded, db):
    versions = PlanVersion.objects.filter(year=2026)
    originals = versions.filter(kind="original", effective_from=dt.date(2026, 1, 1))
    assert set(originals.values_list("unit__kind", flat=True)) == {"site", "company"}
    assert originals.filter(unit__kind="site").count() == Unit.objects.filter(kind="site").count()
    adjusted = versions.filter(kind="adjusted")
    assert 1 <= adjusted.count() <= 2
    assert set(adjusted.values_list("effective_from", flat=True)) == {dt.date(2026, 7, 1)}


@pytest.mark.parametrize(
    ("code", "indicator", "month"),
    [
        ("NDA-M1-KT1-LC01", "raw_coal_t", dt.date(2026, 11, 1)),  # reported per shift this month
        ("DGI-M1-CT1-T03", "overburden_m3", dt.date(2026, 6, 1)),
        ("NDA-M1", "ash_pct", dt.date(2026, 3, 1)),
        ("NDA-M1", "coal_stock_t", dt.date(2026, 2, 1)),
    ],
)
def test_daily_and_monthly_totals_agree_with_the_actuals(loaded, db, code, indicator, month):
    u, ind = unit(code), Indicator.objects.get(code=indicator)
    actuals = Actual.objects.filter(unit=u, indicator=ind, day__year=month.year, day__month=month.month)
    daily = DailyTotal.objects.filter(unit=u, indicator=ind, day__year=month.year, day__month=month.month)
    monthly = MonthlyTotal.objects.get(unit=u, indicator=ind, month=month)
    per_day = {}
    for a in actuals:
        per_day.setdefault(a.day, []).append((a.shift, a.value))
    weights = {}
    if ind.weight_id:
        for a in Actual.objects.filter(unit=u, indicator_id=ind.weight_id, day__in=list(per_day)):
            weights.setdefault(a.day, {})[a.shift] = a.value
    expected = {
        day: services.day_value(ind.aggregation, values, weights.get(day)) for day, values in per_day.items()
    }
    assert dict(daily.values_list("day", "value")) == expected
    assert monthly.value_sum == sum(expected.values(), Decimal(0))
    assert monthly.day_count == len(expected)
    before = (monthly.value_sum, monthly.day_count)
    services.refresh_totals({(u.pk, ind.pk, day) for day in expected})
    monthly.refresh_from_db()
    assert (monthly.value_sum, monthly.day_count) == before


def test_loading_in_pieces_gives_the_same_figures_as_at_once(loaded, db):
    window = (dt.date(2026, 1, 1), dt.date(2026, 2, 9))
    at_once = dict(
        ((u, i, d), v)
        for u, i, d, v in DailyTotal.objects.filter(day__range=window).values_list(
            "unit_id", "indicator_id", "day", "value"
        )
    )
    reasons = set(Deviation.objects.filter(day__range=window).values_list("unit_id", "day", "category"))
    Deviation.objects.all().delete()
    MonthlyTotal.objects.all().delete()
    DailyTotal.objects.all().delete()
    Actual.objects.all().delete()
    load_production_demo(today=dt.date(2026, 1, 20), years=1, register_years=())
    load_production_demo(today=dt.date(2026, 2, 10), years=1, register_years=())
    pieces = dict(
        ((u, i, d), v)
        for u, i, d, v in DailyTotal.objects.values_list("unit_id", "indicator_id", "day", "value")
    )
    assert pieces == at_once
    assert set(Deviation.objects.values_list("unit_id", "day", "category")) == reasons
    assert Actual.objects.filter(day__lt=dt.date(2026, 1, 20), shift__gt=0).exists()  # that month per shift
