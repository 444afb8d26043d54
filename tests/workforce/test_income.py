"""Income: payroll aggregates imported (all rows or none, every bad cell named, never a per-person column), the
plan, and the average income per worker — headcount-weighted, rolled up from the children when a unit has no
payroll of its own, never an average of averages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.workforce.models import IncomePlan, PayrollMonth
from headframe.workforce.selectors.income import average_income, income_summary
from headframe.workforce.services.income import income_plan_set, parse_month, payroll_import
from tests.factories import make_user

FEB, JAN = dt.date(2027, 2, 1), dt.date(2027, 1, 1)


def pay(unit, month, headcount, total):
    PayrollMonth.objects.create(unit=unit, month=month, headcount=headcount, total_income=Decimal(total))


def test_the_group_figure_is_weighted_by_people_paid_never_an_average_of_averages(wf):
    pay(wf.a_m1, FEB, 100, 1_500_000_000)  # 15 000 000 each
    pay(wf.a_m2, FEB, 300, 3_000_000_000)  # 10 000 000 each
    pay(wf.b_m1, FEB, 100, 800_000_000)  # 8 000 000 each
    pay(wf.a_m1, JAN, 100, 1_000_000_000)
    pay(wf.a_m2, JAN, 100, 1_100_000_000)
    pay(wf.a_m1, dt.date(2026, 2, 1), 50, 600_000_000)
    pay(wf.a_m2, dt.date(2026, 2, 1), 150, 1_500_000_000)
    IncomePlan.objects.create(unit=wf.a_m1, year=2027, average_income=Decimal(14_000_000))
    IncomePlan.objects.create(unit=wf.a_m2, year=2027, average_income=Decimal(12_000_000))
    admin = make_user("admin_g2", ("admin", "G"))
    summary = income_summary(admin, "G", dt.date(2027, 2, 17))
    line = summary.line
    assert summary.month == FEB
    assert line.month.headcount == 500 and line.month.total == 5_300_000_000
    assert line.average == Decimal(10_600_000)  # not (15 + 10 + 8) / 3 M
    # year to date: (4 500 + 800 + 2 100) M / (500 + 200)
    assert line.year_to_date.average == (Decimal(7_400_000_000) / 700).quantize(Decimal(1))
    assert line.last_year.average == Decimal(10_500_000)  # 2 100 M / 200
    company_a = next(c for c in summary.children if c.unit.code == "A")
    assert company_a.average == Decimal(11_250_000)  # 4 500 M / 400
    # A's plan from its mines' plans, weighted by February's people paid: (14 × 100 + 12 × 300) / 400
    assert company_a.plan == Decimal(12_500_000)
    assert company_a.vs_plan == Decimal("90.0")
    assert average_income(wf.a, FEB) == Decimal(11_250_000)


def test_a_units_own_payroll_wins_over_its_childrens(wf):
    pay(wf.a, FEB, 1000, 9_000_000_000)
    pay(wf.a_m1, FEB, 100, 1_500_000_000)
    summary = income_summary(wf.personnel_a, "A", FEB)
    assert summary.line.average == Decimal(9_000_000)
    assert [c.unit.code for c in summary.children] == ["A-M1"]


def test_company_b_sees_nothing_of_a(wf):
    with pytest.raises(NotFound):
        income_summary(wf.personnel_b, "A", FEB)


def _file(text: str, name: str = "luong.csv") -> dict:
    return {"content": text.encode(), "filename": name}


def test_payroll_import_upserts_per_unit_and_month(wf):
    result = payroll_import(
        actor=wf.personnel_a,
        **_file(
            "unit,month,headcount,total_income\nA-M1,02/2027,100,1.500.000.000\nA-M2,2/2027,300,3000000000\n"
        ),
    )
    assert (result.created, result.updated) == (2, 0)
    assert PayrollMonth.objects.get(unit=wf.a_m1).total_income == 1_500_000_000
    result = payroll_import(
        actor=wf.personnel_a,
        **_file(
            "unit,month,headcount,total_income\nA-M1,02/2027,101,1500000000\nA-M2,02/2027,300,3000000000\n"
        ),
    )
    assert (result.created, result.updated) == (0, 1)
    assert PayrollMonth.objects.get(unit=wf.a_m1).headcount == 101
    assert AuditEntry.objects.filter(object_type="workforce.payrollmonth").count() == 3


def test_payroll_import_all_or_none_every_bad_cell_named(wf):
    text = (
        "unit,month,headcount,total_income\n"
        "A-M1,02/2027,100,1500000000\n"
        "B-M1,02/2027,100,1\n"
        "A-M1-K1-F1,13/2027,0,-5\n"
        "A-M1,02/2027,1.5,1e3x\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        payroll_import(actor=wf.personnel_a, **_file(text))
    assert [(i.loc, i.type) for i in caught.value.items] == [
        (("row", 3, "unit"), "unknown_unit"),
        (("row", 4, "unit"), "payroll_unit_kind"),
        (("row", 4, "month"), "bad_month"),
        (("row", 4, "headcount"), "range"),
        (("row", 4, "total_income"), "range"),
        (("row", 5, "headcount"), "range"),
        (("row", 5, "total_income"), "range"),
    ]
    assert not PayrollMonth.objects.exists()


def test_a_per_person_payroll_is_refused_whole(wf):
    with pytest.raises(ValidationFailed) as caught:
        payroll_import(
            actor=wf.personnel_a,
            **_file("unit,month,headcount,total_income,employee_no\nA-M1,02/2027,1,9000000,A001\n"),
        )
    assert [i.type for i in caught.value.items] == ["personal_column"]
    assert not PayrollMonth.objects.exists()


def test_months_are_read_as_mm_yyyy():
    assert parse_month("02/2027") == FEB == parse_month("2027-02") == parse_month(dt.date(2027, 2, 14))
    assert parse_month("13/2027") is None and parse_month("02/1899") is None and parse_month("x") is None


def test_the_income_plan_needs_the_planning_role(wf):
    with pytest.raises(PermissionDenied):
        income_plan_set(actor=wf.personnel_a, unit_code="A", year=2027, average_income=12_000_000)
    planner = make_user("planner_a", ("planner", "A"))
    plan = income_plan_set(actor=planner, unit_code="A", year=2027, average_income=12_000_000)
    assert plan.average_income == 12_000_000
    income_plan_set(actor=planner, unit_code="A", year=2027, average_income=12_500_000)
    assert IncomePlan.objects.get().average_income == 12_500_000
    with pytest.raises(ValidationFailed):
        income_plan_set(actor=planner, unit_code="A", year=2027, average_income=0)
    with pytest.raises(NotFound):
        income_plan_set(actor=planner, unit_code="B", year=2027, average_income=1)


def test_income_api_and_page(wf, api, client):
    pay(wf.a_m1, FEB, 100, 1_500_000_000)
    response = api(wf.personnel_a).get("/api/v1/workforce/income", unit="A", month="2027-02-01")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["line"]["average"] == 15_000_000 and body["children"][0]["unit"] == "A-M1"
    assert (
        api(wf.personnel_b).get("/api/v1/workforce/income", unit="A", month="2027-02-01").status_code == 404
    )
    upload = SimpleUploadedFile("l.csv", b"unit,month,headcount,total_income\nA-M2,02/2027,10,100000000\n")
    response = client.post(
        "/api/v1/workforce/income/payroll/import",
        {"file": upload},
        HTTP_AUTHORIZATION=api(wf.personnel_a).headers["HTTP_AUTHORIZATION"],
    )
    assert response.status_code == 200 and response.json() == {"created": 1, "updated": 0}
    assert (
        api(wf.personnel_a)
        .post("/api/v1/workforce/income/plans", {"unit": "A", "year": 2027, "average_income": 1})
        .status_code
        == 403
    )
    client.force_login(wf.personnel_a)
    html = client.get("/workforce/income/?unit=A&month=2027-02").content.decode()
    assert 'data-testid="income-average">14.545.455' in html  # 1 600 M / 110
