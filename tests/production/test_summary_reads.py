"""How a summary reads its totals: sums per group of units in the database, the month less its tail,
exact sums on SQLite, and the tree as it stands when a unit has moved."""

import datetime as dt
from decimal import Decimal

from headframe.org import services as org_services
from headframe.org.models import Unit
from headframe.production import selectors
from tests.production.conftest import D, ind

EVERY_KIND = ("raw_coal_t", "overburden_m3", "coal_stock_t", "ash_pct", "stripping_ratio_m3_per_t")


def figures(s):
    """A summary row's actual figures, every period."""
    return (
        s.day.actual,
        s.mtd.actual,
        s.ytd.actual,
        s.last_year_day,
        s.last_year_mtd,
        s.last_year_ytd,
    )


def spread(put, unit, scale, days):
    rows = []
    for n, day in enumerate(days):
        rows += [
            (unit, "raw_coal_t", day, 0, scale * (n + 1)),
            (unit, "clean_coal_t", day, 0, scale * (n + 2)),
            (unit, "coal_stock_t", day, 0, scale * 100 - n),
            (unit, "ash_pct", day, 0, 10 + n % 7),
        ]
    put(*rows)


def test_each_childs_part_of_a_split_summary_equals_its_own_summary(mines, put):
    """The database sums per group of units that every bucketing treats alike (a child, and within it
    open pits or not): no group may mix two children, for sums, last values or weighted averages."""
    days = [dt.date(2026, 11, d) for d in (2, 9, 27, 28, 30)] + [dt.date(2027, 1, 4), dt.date(2027, 11, 27)]
    spread(put, "A-M1-K1-F1", 10, days)
    spread(put, "A-M1-K2", 7, days[:4])
    spread(put, "B-M1-K1-F1", 5, days[1:])
    spread(put, "B-OP-CT-T1", 3, days)
    put(*[("B-OP-CT-T1", "overburden_m3", d, 0, 40 + d.day) for d in days])
    group = Unit.objects.get(code="G")
    children = list(Unit.objects.filter(parent=group).order_by("code"))
    indicators = [ind(c) for c in EVERY_KIND]
    on = dt.date(2027, 11, 27)  # last year's 27/11 has later days in its month: the month less its tail
    split = selectors.children_summaries(group, on, indicators, children)
    for child in children:
        own = selectors.unit_summary(child, on, indicators)
        assert [figures(s) for s in split[child.code]] == [figures(s) for s in own]
    whole = {s.indicator.code: s for s in selectors.unit_summary(group, on, indicators)}
    assert whole["raw_coal_t"].ytd.actual == sum(
        (split[c.code][0].ytd.actual or Decimal(0) for c in children), Decimal(0)
    )


def test_month_less_its_tail_gives_last_values_and_weighted_averages_up_to_the_date(mines, put):
    rows = []
    for day in range(1, 31):
        rows += [
            ("A-M1", "coal_stock_t", dt.date(2026, 11, day), 0, 1000 + day),
            ("A-M1", "clean_coal_t", dt.date(2026, 11, day), 0, day),
            ("A-M1", "ash_pct", dt.date(2026, 11, day), 0, day % 10 + 10),
        ]
    rows += [("B-M1", "coal_stock_t", dt.date(2026, 11, 20), 0, 500)]  # B's latest figure is older
    put(*rows)
    on = dt.date(2027, 11, 27)
    s = {
        x.indicator.code: x
        for x in selectors.unit_summary(Unit.objects.get(code="G"), on, [ind("coal_stock_t"), ind("ash_pct")])
    }
    assert s["coal_stock_t"].last_year_day == D(1027)
    assert s["coal_stock_t"].last_year_mtd == D(1027 + 500)
    assert s["coal_stock_t"].last_year_ytd == D(1027 + 500)
    ash = [(day, day % 10 + 10) for day in range(1, 28)]
    expected = (sum(Decimal(w * a) for w, a in ash) / sum(Decimal(w) for w, _a in ash)).quantize(
        Decimal("0.0001")
    )
    assert s["ash_pct"].last_year_mtd == expected
    assert s["ash_pct"].last_year_ytd == expected
    assert s["ash_pct"].last_year_day == D(17)


def test_large_figures_add_up_to_the_cent(mines, put):
    """SQLite keeps decimals as floats: summed as floats, four revenues of ~98.8 billion would be off in
    the last digit."""
    day = dt.date(2027, 5, 5)
    value = Decimal("98765432109.8761")
    put(*[(u, "revenue_vnd", day, 0, value) for u in ("A-M1-K1-F1", "A-M1-K2", "B-M1-K1-F1", "B-OP")])
    s = selectors.unit_summary(Unit.objects.get(code="G"), day, [ind("revenue_vnd")])[0]
    assert s.day.actual == value * 4
    assert s.mtd.actual == value * 4


def test_a_moved_site_counts_under_its_new_parent_for_every_period(mines, put):
    """Summaries follow the tree as it stands: after a move, the site's figures (earlier ones too) count
    under its new company and no longer under the old one; the group's total does not change."""
    days = [dt.date(2026, 11, 27), dt.date(2027, 3, 2), dt.date(2027, 11, 27)]
    spread(put, "A-M1-K1-F1", 10, days)
    spread(put, "B-M1-K1-F1", 5, days)
    group = Unit.objects.get(code="G")
    indicators = [ind(c) for c in ("raw_coal_t", "coal_stock_t", "ash_pct")]
    on = dt.date(2027, 11, 27)
    before = {s.indicator.code: figures(s) for s in selectors.unit_summary(group, on, indicators)}
    a_m1_before = [figures(s) for s in selectors.unit_summary(Unit.objects.get(code="A-M1"), on, indicators)]
    org_services.unit_move(
        actor=None, unit=Unit.objects.get(code="A-M1"), new_parent_code="B", on=dt.date(2027, 6, 1)
    )
    children = list(Unit.objects.filter(parent=group).order_by("code"))
    split = selectors.children_summaries(group, on, indicators, children)
    assert all(f is None for s in split["A"] for f in figures(s))
    b = {s.indicator.code: s for s in split["B"]}
    assert b["raw_coal_t"].ytd.actual == D((20 + 30) + (10 + 15))  # both sites' figures of this year
    assert b["raw_coal_t"].last_year_ytd == D(10 + 5)
    assert b["coal_stock_t"].day.actual == D(998 + 498)
    after = {s.indicator.code: figures(s) for s in selectors.unit_summary(group, on, indicators)}
    assert after == before
    moved = Unit.objects.get(code="A-M1")
    assert moved.path.startswith(Unit.objects.get(code="B").path)
    assert [figures(s) for s in selectors.unit_summary(moved, on, indicators)] == a_m1_before
