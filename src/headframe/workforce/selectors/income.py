"""Average income per worker: a unit's month against its plan, the same month last year and the year to date,
and each child unit's. Every average is headcount-weighted — sum(total income) / sum(people paid) — and a unit
without a payroll of its own is the sum of its children's (never an average of averages)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.workforce.models import IncomePlan, PayrollMonth


@dataclass(frozen=True)
class Pay:
    """A sum of payrolls: people paid and the total paid (VND)."""

    headcount: int = 0
    total: Decimal = Decimal(0)

    def __add__(self, other: Pay) -> Pay:
        return Pay(self.headcount + other.headcount, self.total + other.total)

    @property
    def average(self) -> Decimal | None:
        if not self.headcount:
            return None
        return (self.total / self.headcount).quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass
class IncomeLine:
    unit: Unit
    month: Pay
    plan: Decimal | None
    last_year: Pay
    year_to_date: Pay

    @property
    def average(self) -> Decimal | None:
        return self.month.average

    @property
    def vs_plan(self) -> Decimal | None:
        """This month's average in percent of the plan (one decimal)."""
        if self.plan is None or self.average is None:
            return None
        return (self.average * 100 / self.plan).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def vs_last_year(self) -> Decimal | None:
        if self.average is None or self.last_year.average is None:
            return None
        return (self.average * 100 / self.last_year.average).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class IncomeSummary:
    month: dt.date
    line: IncomeLine
    children: list[IncomeLine]


class PayrollTree:
    """The payrolls and plans of a subtree for the months asked, rolled up on demand."""

    def __init__(self, root: Unit, months: list[dt.date]) -> None:
        self.units = {u.pk: u for u in Unit.objects.filter(path__startswith=root.path)}
        self.children: dict[int | None, list[Unit]] = defaultdict(list)
        for unit in sorted(self.units.values(), key=lambda u: u.path):
            self.children[unit.parent_id].append(unit)
        self.own: dict[tuple[int, dt.date], Pay] = {
            (unit_id, month): Pay(headcount, total)
            for unit_id, month, headcount, total in PayrollMonth.objects.filter(
                unit__in=list(self.units), month__in=months
            ).values_list("unit_id", "month", "headcount", "total_income")
        }
        years = {m.year for m in months}
        self.plans = {
            (unit_id, year): amount
            for unit_id, year, amount in IncomePlan.objects.filter(
                unit__in=list(self.units), year__in=years
            ).values_list("unit_id", "year", "average_income")
        }

    def pay(self, unit: Unit, month: dt.date) -> Pay:
        """The unit's own payroll of the month, or else the sum of its children's."""
        own = self.own.get((unit.pk, month))
        if own is not None:
            return own
        return sum((self.pay(child, month) for child in self.children[unit.pk]), Pay())

    def plan(self, unit: Unit, month: dt.date) -> Decimal | None:
        """The unit's plan for the year, or else its children's plans weighted by the month's people paid."""
        own = self.plans.get((unit.pk, month.year))
        if own is not None:
            return own
        weighted, people = Decimal(0), 0
        for child in self.children[unit.pk]:
            plan, headcount = self.plan(child, month), self.pay(child, month).headcount
            if plan is not None and headcount:
                weighted += plan * headcount
                people += headcount
        return (weighted / people).quantize(Decimal(1), rounding=ROUND_HALF_UP) if people else None


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(month: dt.date) -> tuple[list[dt.date], dt.date]:
    """January to `month` of its year, and the same month a year before."""
    return [dt.date(month.year, m, 1) for m in range(1, month.month + 1)], dt.date(
        month.year - 1, month.month, 1
    )


def _line(tree: PayrollTree, unit: Unit, month: dt.date) -> IncomeLine:
    year, last = _months(month)
    return IncomeLine(
        unit=unit,
        month=tree.pay(unit, month),
        plan=tree.plan(unit, month),
        last_year=tree.pay(unit, last),
        year_to_date=sum((tree.pay(unit, m) for m in year), Pay()),
    )


def income_summary(user, unit_code: str, month: dt.date) -> IncomeSummary:
    """The unit's average income per worker in `month` (any day of it), its plan for the year, the same month
    last year and the year to date (January to the month), with the same for each child unit the user may see
    that has a figure. Three queries."""
    unit = unit_get(user, unit_code, Perm.VIEW, loc=("query", "unit"))
    month = first_of_month(month)
    year, last = _months(month)
    tree = PayrollTree(unit, [*year, last])
    scope = scope_for(user)
    children = [
        _line(tree, child, month) for child in tree.children[unit.pk] if scope.allows(Perm.VIEW, child.path)
    ]
    return IncomeSummary(
        month=month,
        line=_line(tree, unit, month),
        children=[c for c in children if c.month.headcount or c.year_to_date.headcount or c.plan],
    )


def average_income(unit: Unit, month: dt.date) -> Decimal | None:
    """The unit's average income per worker in `month` (headcount-weighted roll-up), for the briefing pack."""
    month = first_of_month(month)
    return PayrollTree(unit, [month]).pay(unit, month).average
