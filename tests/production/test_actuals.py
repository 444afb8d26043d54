"""The actuals service: one path for web form, API and Excel; all-or-nothing; idempotent; audited."""

import datetime as dt

import pytest

from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.production import services
from headframe.production.models import Actual, DailyTotal, MonthlyTotal
from tests.production.conftest import PAST, D, plan_a_m1_2026

DAY = dt.date(2026, 3, 10)


def test_resending_the_same_batch_changes_nothing(mines, put):
    rows = [("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100), ("A-M1-K1-F1", "raw_coal_t", DAY, 2, 50)]
    first = put(*rows)
    audit = AuditEntry.objects.count()
    again = put(*rows)
    assert (first.created, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert AuditEntry.objects.count() == audit
    assert Actual.objects.count() == 2


def test_a_correction_keeps_the_previous_value_in_the_audit_log(mines, put):
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100))
    result = put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, "120.5"))
    assert result.updated == 1
    entry = AuditEntry.objects.filter(object_type="production.actual", action="update").get()
    assert entry.before == {"value": "100"} and entry.after == {"value": "120.5"}
    assert DailyTotal.objects.get().value == D("120.5")


def test_daily_and_monthly_totals_follow_the_shifts(mines, put):
    put(
        ("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100),
        ("A-M1-K1-F1", "raw_coal_t", DAY, 2, 50),
        ("A-M1-K1-F1", "raw_coal_t", DAY + dt.timedelta(days=1), 3, 25),
    )
    assert DailyTotal.objects.get(day=DAY).value == D(150)
    month = MonthlyTotal.objects.get()
    assert (month.value_sum, month.day_count) == (D(175), 2)


@pytest.mark.parametrize(
    ("row", "field", "kind"),
    [
        (("NOPE", "raw_coal_t", DAY, 1, 1), "unit", "unknown_unit"),
        (("A-M1-K1-F1", "coal_dust", DAY, 1, 1), "indicator", "unknown_indicator"),
        (("A-M1-K1-F1", "productivity_t_per_man_shift", DAY, 0, 1), "indicator", "derived_indicator"),
        (("A-M1-K1-F1", "overburden_m3", DAY, 0, 1), "indicator", "not_reported_here"),  # underground site
        (("A-M1-K1-F1", "raw_coal_t", DAY, 7, 1), "shift", "shift_range"),
        (("A-M1-K1-F1", "raw_coal_t", DAY, 1, -5), "value", "negative"),
        (("A-M1-K1-F1", "raw_coal_t", DAY, 1, "lots"), "value", "not_a_number"),
        (("A-M1-K1-F1", "raw_coal_t", DAY, 1, float("nan")), "value", "not_a_number"),
        (("A-M1-K1-F1", "raw_coal_t", DAY, 1, True), "value", "not_a_number"),
        (("A-M1-K1-F1", "raw_coal_t", dt.date(2028, 1, 5), 1, 1), "day", "future_day"),
        (("G", "raw_coal_t", DAY, 0, 1), "unit", "not_reporting"),
    ],
)
def test_bad_rows_are_refused_with_their_location_and_nothing_is_stored(mines, put, row, field, kind):
    good = ("A-M1-K1-F1", "raw_coal_t", DAY, 3, 10)
    with pytest.raises(ValidationFailed) as err:
        put(good, row)
    item = err.value.items[0]
    assert item.loc == ("body", 1, field)
    assert item.type == kind
    assert Actual.objects.count() == 0 and DailyTotal.objects.count() == 0


def test_every_bad_row_is_reported_not_only_the_first(mines, put):
    with pytest.raises(ValidationFailed) as err:
        put(("NOPE", "raw_coal_t", DAY, 1, 1), ("A-M1-K1-F1", "raw_coal_t", DAY, 1, -1))
    assert [i.loc[1] for i in err.value.items] == [0, 1]


def test_duplicate_rows_in_one_batch_are_refused(mines, put):
    with pytest.raises(ValidationFailed) as err:
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1), ("A-M1-K1-F1", "raw_coal_t", DAY, 1, 2))
    assert err.value.items[0].type == "duplicate_row"
    assert "body.0" in err.value.items[0].msg


def test_reporter_cannot_write_another_mine(mines, put, users):
    with pytest.raises(ValidationFailed) as err:
        put(("B-M1-K1-F1", "raw_coal_t", DAY, 1, 1), actor=users.reporter_a)
    assert err.value.items[0].type == "unknown_unit"  # B's units are not revealed to A's reporter
    assert Actual.objects.count() == 0


def test_viewer_cannot_write_its_own_units(mines, put, users):
    with pytest.raises(PermissionDenied):
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1), actor=users.viewer_a)


def test_closed_month_needs_the_planner(mines, put, users):
    services.period_lock(actor=users.planner_g, unit_code="A", month=dt.date(2026, 3, 1))
    with pytest.raises(PermissionDenied) as err:
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1), actor=users.reporter_a)
    assert err.value.items[0].type == "period_locked"
    put(("A-M1-K1-F1", "raw_coal_t", dt.date(2026, 4, 1), 1, 1), actor=users.reporter_a)  # April is open
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1), actor=users.planner_g)
    assert Actual.objects.count() == 2


def test_only_planners_close_months(mines, users):
    with pytest.raises(PermissionDenied):
        services.period_lock(actor=users.reporter_a, unit_code="A-M1", month=dt.date(2026, 3, 1))


def test_entries_after_eight_the_next_morning_are_late(mines, put):
    on_time = dt.datetime(2026, 3, 11, 0, 59, tzinfo=dt.UTC)  # 07:59 in Hanoi
    late = dt.datetime(2026, 3, 11, 1, 1, tzinfo=dt.UTC)  # 08:01
    assert put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1), now=on_time).late == 0
    assert put(("A-M1-K1-F1", "raw_coal_t", DAY, 2, 1), now=late).late == 1
    assert list(Actual.objects.order_by("shift").values_list("is_late", flat=True)) == [False, True]


def test_plan_version_bad_input(mines, users):
    with pytest.raises(ValidationFailed) as err:
        services.plan_version_create(
            actor=None,
            unit_code="A-M1",
            year=2027,
            effective_from=dt.date(2027, 1, 1),
            values={"raw_coal_t": [1] * 11, "nope": 5, "productivity_t_per_man_shift": 3, "man_shifts": -1},
        )
    assert {i.loc[-1]: i.type for i in err.value.items} == {
        "raw_coal_t": "months",
        "nope": "unknown_indicator",
        "productivity_t_per_man_shift": "derived_indicator",
        "man_shifts": "negative",
    }
    with pytest.raises(PermissionDenied):
        services.plan_version_create(
            actor=users.reporter_a,
            unit_code="A-M1",
            year=2027,
            effective_from=dt.date(2027, 1, 1),
            values={"raw_coal_t": 1},
        )


def test_two_versions_on_the_same_day_are_refused(mines):
    args = dict(
        actor=None, unit_code="A-M1", year=2026, effective_from=dt.date(2026, 1, 1), values={"raw_coal_t": 1}
    )
    services.plan_version_create(**args)
    with pytest.raises(ValidationFailed, match="already has"):
        services.plan_version_create(**args)


def test_deviation_records_the_shortfall_against_the_day_plan(mines, put, users):
    plan_a_m1_2026()
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 600))
    deviation = services.deviation_record(
        actor=users.reporter_a,
        unit_code="A-M1",
        indicator_code="raw_coal_t",
        day=DAY,
        category="equipment",
        lost_hours="3.5",
        note="hỏng máy combai",
    )
    assert deviation.shortfall == D(400)
    from headframe.org.models import Unit
    from headframe.production import selectors

    reasons = selectors.top_reasons(Unit.objects.get(code="A"), DAY)
    assert [(r.category, r.lost_hours, r.shortfall) for r in reasons] == [("equipment", D("3.5"), D(400))]


def test_deviation_bad_input(mines, users):
    with pytest.raises(ValidationFailed) as err:
        services.deviation_record(
            actor=users.reporter_a,
            unit_code="A-M1",
            indicator_code="raw_coal_t",
            day=DAY,
            category="gremlins",
            lost_hours=30,
        )
    assert {i.loc[-1] for i in err.value.items} == {"category", "lost_hours"}
    with pytest.raises(ValidationFailed):
        services.deviation_record(
            actor=users.reporter_a,
            unit_code="B-M1",
            indicator_code="raw_coal_t",
            day=DAY,
            category="geology",
            lost_hours=1,
        )


def test_now_is_respected_for_future_days(mines, put):
    with pytest.raises(ValidationFailed):
        put(("A-M1-K1-F1", "raw_coal_t", PAST.date() + dt.timedelta(days=2), 1, 1))


def test_a_day_is_reported_whole_or_by_shift_never_both(mines, put):
    with pytest.raises(ValidationFailed) as err:
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 100), ("A-M1-K1-F1", "raw_coal_t", DAY, 1, 50))
    assert {i.type for i in err.value.items} == {"mixed_shifts"}
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 0, 100))
    with pytest.raises(ValidationFailed, match="both for the whole day"):
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 2, 50))
    assert DailyTotal.objects.get().value == D(100)


def test_created_figures_are_audited_one_by_one(mines, put):
    put(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100), ("A-M1-K1-F1", "raw_coal_t", DAY, 2, 50))
    entries = AuditEntry.objects.filter(object_type="production.actual", action="create")
    assert sorted(e.after["value"] for e in entries) == ["100", "50"]
    assert {e.object_id for e in entries} == {str(pk) for pk in Actual.objects.values_list("pk", flat=True)}


def test_shift_numbers_follow_the_units_shift_calendar(mines, put):
    from headframe.org.models import Unit
    from headframe.production.models import ShiftCalendar

    ShiftCalendar.objects.create(unit=Unit.objects.get(code="A"), shift_count=2, shift_hours=12)
    with pytest.raises(ValidationFailed) as err:
        put(("A-M1-K1-F1", "raw_coal_t", DAY, 3, 1))
    assert err.value.items[0].type == "shift_range" and "works 2 shifts" in err.value.items[0].msg
    put(("B-M1-K1-F1", "raw_coal_t", DAY, 3, 1))  # B keeps the default three shifts
