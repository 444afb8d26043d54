"""The workforce section of the briefing pack (issue 15, item 9) and the key-task KPIs read from this module
(tasks 5, 6 and 8): the figures exactly on a small two-company fixture for January 2027, the Vietnamese
sentence of the drafted summary, counts only (company B's pack holds nothing of A's people, no pack names
anyone), the KPI values, and an unknown measure refused."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from headframe.briefing import selectors as briefing_selectors
from headframe.briefing import services as briefing
from headframe.briefing.pack import pack_for, pack_restrict, pack_version
from headframe.briefing.pack.export import pack_html
from headframe.briefing.pack.xlsx import pack_xlsx
from headframe.workforce.models import (
    Certificate,
    EpidemicCase,
    EpidemicTest,
    Grievance,
    IncomePlan,
    PayrollMonth,
    Presence,
)
from headframe.workforce.selectors.briefing import average_income, pack_section
from headframe.workforce.selectors.training import training_coverage
from tests.workforce.conftest import make_worker

pytestmark = pytest.mark.django_db

START, END = dt.date(2027, 1, 1), dt.date(2027, 1, 31)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _stay(worker, site, day: dt.date, hour: int, minute: int = 0) -> Presence:
    start = _at(day, hour, minute)
    return Presence.objects.create(
        worker=worker, site=site, checked_in_at=start, checked_out_at=start + dt.timedelta(hours=7)
    )


def _grievance(unit, received, due, answered=None) -> Grievance:
    return Grievance.objects.create(
        unit=unit,
        text="Đề nghị bổ sung nước uống tại lò chợ",
        received_on=received,
        due_on=due,
        status="answered" if answered else "open",
        answer="Đã bổ sung" if answered else "",
        answered_on=answered,
    )


@pytest.fixture
def january(wf):
    """A: Ann, Bình, Cường (+ one gone, one hired after January); B: Bảo."""
    make_worker("A009", wf.a_m1_k1, name="Đỗ Văn Nghỉ", is_active=False)
    late = make_worker("A010", wf.a_m1_k1, name="Hồ Văn Mới")
    late.hire_date = dt.date(2027, 2, 5)
    late.save()
    # Certificates at 31/01: Ann's first aid expires within 30 days, Bình's has expired, Cường's was renewed.
    for worker, passed, expires in (
        (wf.ann, dt.date(2025, 2, 15), dt.date(2027, 2, 15)),
        (wf.binh, dt.date(2025, 1, 10), dt.date(2027, 1, 10)),
        (wf.cuong, dt.date(2024, 12, 1), dt.date(2026, 12, 1)),
        (wf.cuong, dt.date(2027, 1, 20), dt.date(2029, 1, 20)),
        (wf.bob, dt.date(2025, 1, 5), dt.date(2027, 1, 5)),
    ):
        Certificate.objects.create(worker=worker, course=wf.first_aid, passed_on=passed, expires_on=expires)
    # Underground: 5/1 Ann twice and Bình (A), Bảo (B); 6/1 Ann; 31/01 23:30 Bình; outside: 31/12, 01/02.
    _stay(wf.ann, wf.a_m1, dt.date(2027, 1, 5), 6)
    _stay(wf.ann, wf.a_m1, dt.date(2027, 1, 5), 14)
    _stay(wf.binh, wf.a_m1, dt.date(2027, 1, 5), 7)
    _stay(wf.ann, wf.a_m1, dt.date(2027, 1, 6), 6)
    _stay(wf.binh, wf.a_m1, dt.date(2027, 1, 31), 23, 30)
    _stay(wf.cuong, wf.a_m1, dt.date(2026, 12, 31), 23)
    _stay(wf.cuong, wf.a_m1, dt.date(2027, 2, 1), 0, 30)
    _stay(wf.bob, wf.b_m1, dt.date(2027, 1, 5), 6)
    # Cases: Ann (recovered), Bình (isolating, open end), Cường (from December, isolating past the end); Bảo.
    EpidemicCase.objects.create(
        worker=wf.ann,
        confirmed_on=dt.date(2027, 1, 10),
        isolation_from=dt.date(2027, 1, 10),
        isolation_to=dt.date(2027, 1, 17),
        status="recovered",
    )
    EpidemicCase.objects.create(
        worker=wf.binh, confirmed_on=dt.date(2027, 1, 28), isolation_from=dt.date(2027, 1, 28)
    )
    EpidemicCase.objects.create(
        worker=wf.cuong,
        confirmed_on=dt.date(2026, 12, 20),
        isolation_from=dt.date(2026, 12, 20),
        isolation_to=dt.date(2027, 2, 3),
    )
    EpidemicCase.objects.create(
        worker=wf.bob,
        confirmed_on=dt.date(2027, 1, 15),
        isolation_from=dt.date(2027, 1, 15),
        isolation_to=dt.date(2027, 1, 22),
        status="recovered",
    )
    for worker, day, result in (
        (wf.ann, dt.date(2027, 1, 9), "positive"),
        (wf.binh, dt.date(2027, 1, 9), "negative"),
        (wf.cuong, dt.date(2027, 2, 2), "negative"),
        (wf.bob, dt.date(2027, 1, 14), "positive"),
    ):
        EpidemicTest.objects.create(worker=worker, tested_on=day, result=result)
    # Grievances: A answered on time, open and overdue, open, old one answered after the period; B late.
    _grievance(wf.a_m1, dt.date(2027, 1, 3), dt.date(2027, 1, 13), dt.date(2027, 1, 10))
    _grievance(wf.a_m1, dt.date(2027, 1, 20), dt.date(2027, 1, 25))
    _grievance(wf.a_m1_k1, dt.date(2027, 1, 29), dt.date(2027, 2, 10))
    _grievance(wf.a, dt.date(2026, 12, 1), dt.date(2026, 12, 15), dt.date(2027, 2, 2))
    _grievance(wf.b_m1, dt.date(2027, 1, 5), dt.date(2027, 1, 20), dt.date(2027, 1, 22))
    # Payroll: A 15,2 million a head in January (plan 15), 14 a year before; B 12 (the group's plan, 14).
    for unit, month, people, total in (
        (wf.a, dt.date(2027, 1, 1), 3, 45_600_000),
        (wf.a, dt.date(2026, 12, 1), 3, 60_000_000),
        (wf.a, dt.date(2026, 1, 1), 3, 42_000_000),
        (wf.b, dt.date(2027, 1, 1), 1, 12_000_000),
    ):
        PayrollMonth.objects.create(unit=unit, month=month, headcount=people, total_income=total)
    IncomePlan.objects.create(unit=wf.a, year=2027, average_income=15_000_000)
    IncomePlan.objects.create(unit=wf.group, year=2027, average_income=14_000_000)
    return wf


def _section(pack: dict, code: str) -> dict:
    return next(b for b in pack["blocks"] if b["unit"]["code"] == code)["workforce"]


def test_the_section_counts_each_block_exactly(january, indicator_catalogue):
    pack = pack_for(january.group, START, END)
    a, b, g = (_section(pack, code) for code in ("A", "B", "G"))
    assert (a["headcount"], b["headcount"], g["headcount"]) == (3, 1, 4)
    days = dict(a["underground"]["by_day"])
    assert len(days) == 31 and days["2027-01-05"] == 2 and days["2027-01-06"] == 1 and days["2027-01-31"] == 1
    assert sum(days.values()) == 4
    assert (a["underground"]["average"], a["underground"]["peak"], a["underground"]["peak_day"]) == (
        1.3,
        2,
        "2027-01-05",
    )
    assert (g["underground"]["average"], g["underground"]["peak"]) == (1.7, 3)
    assert (b["underground"]["average"], b["underground"]["peak"]) == (1.0, 1)
    assert a["certificates"] == {"window_days": 30, "expiring": 1, "expired": 1}
    assert b["certificates"] == {"window_days": 30, "expiring": 0, "expired": 1}
    assert a["epidemic"] == {"new_cases": 2, "isolating": 2, "tests": 2, "positive_tests": 1}
    assert b["epidemic"] == {"new_cases": 1, "isolating": 0, "tests": 1, "positive_tests": 1}
    assert g["epidemic"] == {"new_cases": 3, "isolating": 2, "tests": 3, "positive_tests": 2}
    assert a["grievances"] == {"received": 3, "open": 3, "overdue": 2, "answered": 1}
    assert b["grievances"] == {"received": 1, "open": 0, "overdue": 0, "answered": 1}
    assert g["grievances"] == {"received": 4, "open": 3, "overdue": 2, "answered": 2}
    assert a["income"] == {
        "month": "2027-01-01",
        "people_paid": 3,
        "average": 15_200_000,
        "plan": 15_000_000,
        "pct_of_plan": 101.3,
        "last_year": 14_000_000,
        "change_pct": 8.6,
    }
    # no plan of its own nor below it: none, as on the income page (the group's plan is the group's figure)
    assert b["income"]["plan"] is None and b["income"]["pct_of_plan"] is None
    assert b["income"]["last_year"] is None and b["income"]["change_pct"] is None
    assert (g["income"]["average"], g["income"]["pct_of_plan"], g["income"]["change_pct"]) == (
        14_400_000,
        102.9,
        2.9,
    )


def test_the_drafted_summary_speaks_of_the_workforce_in_vietnamese(january, indicator_catalogue):
    pack = pack_for(january.a, START, END)
    assert (
        "Lao động: 3 người, bình quân 1 người/ngày xuống lò; 1 chứng chỉ hết hạn trong 30 ngày tới, "
        "1 chứng chỉ đã hết hạn; 2 ca mắc mới, 2 người đang cách ly; 3 kiến nghị đang mở (2 quá hạn); "
        "thu nhập bình quân tháng 1 đạt 15,2 triệu đồng/người, bằng 101,3% kế hoạch, tăng 8,6% so với "
        "cùng tháng năm trước."
    ) in pack["narrative"]["vi"]
    assert (
        "Workforce: 3 people, on average 1 a day underground; 1 certificate expiring within 30 days, "
        "1 expired; 2 new cases, 2 isolating; 3 grievances open (2 overdue); average income for January "
        "VND 15.2 million per person, 101.3% of plan, up 8.6% on the same month last year."
    ) in pack["narrative"]["en"]


def test_no_pack_names_a_person_and_company_bs_pack_holds_none_of_as(january, indicator_catalogue):
    group = pack_for(january.group, START, END)
    text = repr(group) + pack_html(group, "vi")
    for worker in (january.ann, january.binh, january.cuong, january.bob):
        assert worker.full_name not in text and worker.employee_no not in text
    b = pack_restrict(group, "B")
    assert [block["unit"]["code"] for block in b["blocks"]] == ["B"]
    assert _section(b, "B")["headcount"] == 1
    assert "Lao động: 1 người" in b["narrative"]["vi"] and "3 người" not in b["narrative"]["vi"]
    own = pack_for(january.b, START, END)
    assert _section(own, "B") == _section(group, "B")


def test_the_page_pdf_body_and_workbook_show_the_section(january, indicator_catalogue):
    pack = pack_for(january.group, START, END)
    html = pack_html(pack, "vi")
    assert 'id="sec-workforce"' in html
    assert 'data-testid="wf-headcount-A">3<' in html and 'data-testid="wf-cases-G">3<' in html
    assert 'data-testid="wf-by-day-G"' in html and 'data-testid="wf-by-day-A"' not in html
    assert "15.200.000" in html and "101,3" in html
    sheet = load_workbook(io.BytesIO(pack_xlsx(pack)))["Lao động"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"G", "A", "B"}
    assert rows["A"][2:5] == (3, 1, 2) and rows["A"][17:20] == (15_200_000, 15_000_000, 101.3)


def test_a_new_grievance_case_or_presence_changes_the_live_packs_key(january):
    before = pack_version()
    _grievance(january.a_m1, dt.date(2027, 2, 1), dt.date(2027, 2, 11))
    after_grievance = pack_version()
    assert after_grievance != before
    EpidemicCase.objects.create(
        worker=january.ann, confirmed_on=dt.date(2027, 2, 9), isolation_from=dt.date(2027, 2, 9)
    )
    assert pack_version() != after_grievance
    after_case = pack_version()
    _stay(january.ann, january.a_m1, dt.date(2027, 2, 8), 6)
    assert pack_version() != after_case


def test_a_pack_without_workforce_records_has_no_section(tree, indicator_catalogue):
    pack = pack_for(tree.group, START, END)
    assert all("workforce" not in block for block in pack["blocks"])
    assert "Lao động" not in pack["narrative"]["vi"]


# ---------------------------------------------------------------- key tasks 5, 6 and 8


def _kpi(task, actor, name, measure, target, comparator="ge", unit="G"):
    briefing.kpi_create(
        actor=actor,
        key_task=task,
        name_vi=name,
        kind="measure",
        measure_code=measure,
        target=target,
        comparator=comparator,
        unit_code=unit,
    )


def test_the_key_task_kpis_read_the_workforce_module(january, users):
    planner = users.planner_g
    task = briefing.key_task_create(actor=planner, year=2027, title_vi="Người lao động", owner_unit_code="G")
    _kpi(task, planner, "Đủ huấn luyện", "workforce.training_coverage", 95)
    _kpi(task, planner, "Trả lời kiến nghị đúng hạn", "workforce.grievances_on_time", 95)
    _kpi(task, planner, "Kiến nghị A", "workforce.grievances_on_time", 95, unit="A")
    _kpi(task, planner, "0 người lao động bị lây nhiễm", "workforce.cases", 0, comparator="le")
    _kpi(task, planner, "Ca mắc của B", "workforce.cases", 0, comparator="le", unit="B")
    _kpi(task, planner, "Thu nhập bình quân", "workforce.average_income", 14_000_000)
    (status,) = briefing_selectors.key_task_statuses([task], on=END)
    coverage, on_time, on_time_a, cases, cases_b, income = status.kpis
    assert coverage.value == training_coverage(january.group, END) and coverage.unit_of_measure == "%"
    # G: answered on time 1 of 3 settled (A's 10/01, A's overdue, B's late); A: 1 of 2.
    assert (on_time.value, on_time_a.value) == (Decimal("33.3"), Decimal("50.0"))
    assert (cases.value, cases_b.value) == (Decimal(3), Decimal(1)) and cases.state == "missed"
    assert cases.unit_of_measure == "ca"
    assert income.value == Decimal(14_400_000) and income.unit_of_measure == "đồng/người/tháng"
    assert income.state == "on_track"  # an average may still fall before December
    assert status.status == "off_track"


def test_no_case_yet_keeps_task_8_on_track(wf, users):
    task = briefing.key_task_create(
        actor=users.planner_g, year=2027, title_vi="Phòng dịch", owner_unit_code="G"
    )
    _kpi(task, users.planner_g, "0 người lao động bị lây nhiễm", "workforce.cases", 0, comparator="le")
    (status,) = briefing_selectors.key_task_statuses([task], on=END)
    assert status.kpis[0].value == 0 and status.kpis[0].state == "on_track"


def test_an_unknown_measure_is_refused_naming_the_field(wf, users, api):
    task = briefing.key_task_create(
        actor=users.planner_g, year=2027, title_vi="Người lao động", owner_unit_code="G"
    )
    answer = api(users.planner_g).post(
        f"/api/v1/key-tasks/{task.pk}/kpis",
        {"name_vi": "Thu nhập", "kind": "measure", "measure": "workforce.salary", "target": 1},
    )
    assert answer.status_code == 422
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == ["body", "measure"] and detail["type"] == "unknown_measure"
    assert "workforce.average_income" in detail["msg"]
    assert not task.kpis.exists()


def test_a_company_and_its_mines_paid_in_the_same_month_count_once(wf, db):
    """The pack and key task 6's income KPI roll payrolls up as the income page does: a unit's own payroll, else
    its children's — never both (A's 1 000 people include A-M1's 400)."""
    month = dt.date(2027, 1, 1)
    PayrollMonth.objects.create(unit=wf.a, month=month, headcount=1000, total_income=15_000_000_000)
    PayrollMonth.objects.create(unit=wf.a_m1, month=month, headcount=400, total_income=4_000_000_000)
    section = pack_section(wf.a, month, dt.date(2027, 1, 31), [wf.a])
    assert section["A"]["income"]["average"] == 15_000_000 and section["A"]["income"]["people_paid"] == 1000
    assert average_income(wf.a, dt.date(2027, 1, 31)) == Decimal(15_000_000)
