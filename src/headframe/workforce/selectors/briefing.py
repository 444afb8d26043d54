"""The workforce in the briefing pack (issue 15, item 9) and the key-task KPIs read from this module.

`pack_section(root, start, end, blocks)` gives each block of the pack (the group and each company, or one
company) its workforce figures for the period, as counts only — the pack is read by everyone who may view the
unit, so no person is named:

- `headcount`: active workers (hired by the period's end);
- `underground`: distinct people who checked in underground each day of the period (by the local day of the
  check-in), its average over the days anyone went underground, and the peak;
- `certificates`: the latest certificate of a course (not renewed by the period's end) expiring within 30 days
  of the period's end, or already expired at it;
- `epidemic`: cases confirmed in the period, people isolating at its end, tests in the period (positive ones);
- `grievances`: received in the period, open at its end (not answered by then), overdue among them (past their
  answer deadline), answered in the period;
- `income`: the latest payroll month in the period: average income per person paid (sum of totals / sum of
  people paid), against the plan (the block's own plan, else its payroll units' plans weighted by the people
  paid) and the same month last year.

A handful of queries for the whole group, each grouped by unit and summed into the blocks here. The KPI
measures (`MEASURES`) read as of a day for a unit's subtree, the year to date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from headframe.briefing.extensions import KpiMeasure, PackSection, XlsxSheet
from headframe.briefing.pack.common import period_bounds
from headframe.briefing.pack.narrative import MONTHS_EN, pct_en, pct_vi
from headframe.core.formatting import LOCAL_TZ, format_number
from headframe.org.models import Unit
from headframe.workforce.models import (
    CaseStatus,
    Certificate,
    EpidemicCase,
    EpidemicTest,
    Grievance,
    GrievanceStatus,
    IncomePlan,
    PayrollMonth,
    Presence,
    TestResult,
    Worker,
)
from headframe.workforce.selectors.income import Pay, PayrollTree
from headframe.workforce.selectors.training import training_coverage
from headframe.workforce.selectors.voice import grievances_on_time as voice_on_time

EXPIRY_WINDOW_DAYS = 30
SECTION = "workforce"


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _pct(part, whole) -> Decimal | None:
    """part as a percentage of whole, one decimal rounded half up (None when whole is nothing)."""
    if not whole:
        return None
    return _one_decimal(Decimal(part) * 100 / Decimal(whole))


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class _Blocks:
    """Which blocks a unit's figures add to: the blocks whose subtree holds it."""

    def __init__(self, root: Unit, blocks: list[Unit]):
        self.blocks = blocks
        self.paths = dict(Unit.objects.filter(path__startswith=root.path).values_list("pk", "path"))
        self._of: dict[int, list[str]] = {}

    def of(self, unit_id: int) -> list[str]:
        if unit_id not in self._of:
            path = self.paths.get(unit_id, "")
            self._of[unit_id] = [b.code for b in self.blocks if path.startswith(b.path)]
        return self._of[unit_id]

    def add(self, into: dict[str, dict], unit_id: int, key: str, n: int) -> None:
        for code in self.of(unit_id):
            into[code][key] = into[code].get(key, 0) + n


# ---------------------------------------------------------------- the parts of the section


def _headcounts(root: Unit, end: dt.date, where: _Blocks, out: dict) -> None:
    rows = (
        Worker.objects.filter(unit__path__startswith=root.path, is_active=True)
        .filter(Q(hire_date__isnull=True) | Q(hire_date__lte=end))
        .values("unit_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        where.add(out, row["unit_id"], "headcount", row["n"])


def _underground(root: Unit, start: dt.date, end: dt.date, where: _Blocks) -> dict[str, dict[dt.date, int]]:
    """{block code: {day: distinct people who checked in that local day}}: each worker belongs to one unit,
    so the per-unit distinct counts add up to the block's."""
    first, last = period_bounds(start, end)
    rows = (
        Presence.objects.filter(
            worker__unit__path__startswith=root.path, checked_in_at__gte=first, checked_in_at__lt=last
        )
        .annotate(day=TruncDate("checked_in_at", tzinfo=LOCAL_TZ))
        .values("worker__unit_id", "day")
        .annotate(n=Count("worker_id", distinct=True))
        .order_by()
    )
    by: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for code in where.of(row["worker__unit_id"]):
            by[code][row["day"]] += row["n"]
    return by


def _underground_json(days: dict[dt.date, int], start: dt.date, end: dt.date) -> dict:
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    counts = [days.get(day, 0) for day in span]
    worked = [n for n in counts if n]
    peak = max(counts, default=0)
    return {
        "by_day": [[day.isoformat(), n] for day, n in zip(span, counts, strict=True)],
        "average": float(_one_decimal(Decimal(sum(worked)) / len(worked))) if worked else None,
        "peak": peak,
        "peak_day": span[counts.index(peak)].isoformat() if peak else None,
    }


def _certificates(root: Unit, end: dt.date, where: _Blocks, out: dict) -> None:
    renewed = Certificate.objects.filter(
        worker=OuterRef("worker"),
        course=OuterRef("course"),
        passed_on__gt=OuterRef("passed_on"),
        passed_on__lte=end,
    )
    rows = (
        Certificate.objects.filter(
            worker__unit__path__startswith=root.path,
            worker__is_active=True,
            passed_on__lte=end,
            expires_on__isnull=False,
            expires_on__lte=end + dt.timedelta(days=EXPIRY_WINDOW_DAYS),
        )
        .exclude(Exists(renewed))
        .values("worker__unit_id")
        .annotate(
            expiring=Count("pk", filter=Q(expires_on__gte=end)),
            expired=Count("pk", filter=Q(expires_on__lt=end)),
        )
        .order_by()
    )
    for row in rows:
        where.add(out, row["worker__unit_id"], "certificates_expiring", row["expiring"])
        where.add(out, row["worker__unit_id"], "certificates_expired", row["expired"])


def _isolating_on(day: dt.date) -> Q:
    """Isolating on the day: isolation begun by then and not ended before it (an open end counts until the case
    is marked recovered)."""
    return Q(isolation_from__lte=day) & (
        Q(isolation_to__gte=day) | (Q(isolation_to__isnull=True) & ~Q(status=CaseStatus.RECOVERED))
    )


def _epidemic(root: Unit, start: dt.date, end: dt.date, where: _Blocks, out: dict) -> None:
    new = Q(confirmed_on__gte=start, confirmed_on__lte=end)
    rows = (
        EpidemicCase.objects.filter(worker__unit__path__startswith=root.path)
        .filter(new | _isolating_on(end))
        .values("worker__unit_id")
        .annotate(
            new=Count("pk", filter=new),
            isolating=Count("worker_id", filter=_isolating_on(end), distinct=True),
        )
        .order_by()
    )
    for row in rows:
        where.add(out, row["worker__unit_id"], "new_cases", row["new"])
        where.add(out, row["worker__unit_id"], "isolating", row["isolating"])
    tests = (
        EpidemicTest.objects.filter(
            worker__unit__path__startswith=root.path, tested_on__gte=start, tested_on__lte=end
        )
        .values("worker__unit_id")
        .annotate(n=Count("pk"), positive=Count("pk", filter=Q(result=TestResult.POSITIVE)))
        .order_by()
    )
    for row in tests:
        where.add(out, row["worker__unit_id"], "tests", row["n"])
        where.add(out, row["worker__unit_id"], "positive_tests", row["positive"])


def _open_on(day: dt.date) -> Q:
    """Received by the day and not answered by it (a grievance closed without an answer date is settled)."""
    settled = Q(answered_on__lte=day) | (Q(answered_on__isnull=True) & ~Q(status=GrievanceStatus.OPEN))
    return Q(received_on__lte=day) & ~settled


def _grievances(root: Unit, start: dt.date, end: dt.date, where: _Blocks, out: dict) -> None:
    received = Q(received_on__gte=start, received_on__lte=end)
    answered = Q(answered_on__gte=start, answered_on__lte=end)
    rows = (
        Grievance.objects.filter(unit__path__startswith=root.path, received_on__lte=end)
        .filter(received | answered | _open_on(end))
        .values("unit_id")
        .annotate(
            received=Count("pk", filter=received),
            open=Count("pk", filter=_open_on(end)),
            overdue=Count("pk", filter=_open_on(end) & Q(due_on__lt=end)),
            answered=Count("pk", filter=answered),
        )
        .order_by()
    )
    for row in rows:
        for key in ("received", "open", "overdue", "answered"):
            where.add(out, row["unit_id"], f"grievances_{key}", row[key])


def _month_back(month: dt.date) -> dt.date:
    return month.replace(year=month.year - 1)


def _income_of(tree: PayrollTree, block: Unit, months: list[dt.date]) -> dict | None:
    """The block's latest payroll month in the period against plan and the same month last year, rolled up as
    the income page does (a unit's own payroll, else its children's: the same figure under the same label)."""
    month = next((m for m in reversed(months) if tree.pay(block, m).headcount), None)
    if month is None:
        return None
    pay = tree.pay(block, month)
    average = pay.total / pay.headcount
    plan = tree.plan(block, month)
    last_year = tree.pay(block, _month_back(month)).average
    return {
        "month": month.isoformat(),
        "people_paid": pay.headcount,
        "average": round(float(average)),
        "plan": round(float(plan)) if plan is not None else None,
        "pct_of_plan": _float(_pct(average, plan)) if plan else None,
        "last_year": round(float(last_year)) if last_year is not None else None,
        "change_pct": _float(_pct(average - last_year, last_year)) if last_year else None,
    }


def _months_between(first: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _income(root: Unit, start: dt.date, end: dt.date, blocks: list[Unit]) -> dict[str, dict | None]:
    months = _months_between(start, end)
    if not PayrollMonth.objects.filter(unit__path__startswith=root.path, month__in=months).exists():
        return {}
    tree = PayrollTree(root, [*months, *(_month_back(m) for m in months)])
    return {block.code: _income_of(tree, block, months) for block in blocks}


# ---------------------------------------------------------------- the section


def pack_section(root: Unit, start: dt.date, end: dt.date, blocks: list[Unit]) -> dict[str, dict]:
    """{block code: the block's workforce figures} (see the module's docstring); a block with no people and
    no payroll has none, nor has a pack of an installation without the workforce's records."""
    where = _Blocks(root, blocks)
    counts: dict[str, dict] = {b.code: {} for b in blocks}
    _headcounts(root, end, where, counts)
    _certificates(root, end, where, counts)
    _epidemic(root, start, end, where, counts)
    _grievances(root, start, end, where, counts)
    underground = _underground(root, start, end, where)
    income = _income(root, start, end, blocks)
    out = {}
    for block in blocks:
        c = counts[block.code]
        if not c and not underground.get(block.code) and not income.get(block.code):
            continue
        out[block.code] = {
            "as_of": end.isoformat(),
            "headcount": c.get("headcount", 0),
            "underground": _underground_json(underground.get(block.code, {}), start, end),
            "certificates": {
                "window_days": EXPIRY_WINDOW_DAYS,
                "expiring": c.get("certificates_expiring", 0),
                "expired": c.get("certificates_expired", 0),
            },
            "epidemic": {
                "new_cases": c.get("new_cases", 0),
                "isolating": c.get("isolating", 0),
                "tests": c.get("tests", 0),
                "positive_tests": c.get("positive_tests", 0),
            },
            "grievances": {
                key: c.get(f"grievances_{key}", 0) for key in ("received", "open", "overdue", "answered")
            },
            "income": income.get(block.code),
        }
    return out


def depends_on() -> str:
    """The last row of each record the section counts, in one query: a new worker, certificate, presence,
    case, test, grievance or payroll changes the live pack's key (answers and other edits are audited)."""
    models = (Worker, Certificate, Presence, EpidemicCase, EpidemicTest, Grievance, PayrollMonth, IncomePlan)
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT MAX(id) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return ".".join("-" if v is None else str(v) for v in row)


# ---------------------------------------------------------------- the narrative and the workbook


def _n(value, language: str, decimals: int = 0) -> str:
    if language == "en":
        return format_number(value, decimals, thousands=",", decimal_sep=".")
    return format_number(value, decimals)


def _income_sentence(income: dict | None, language: str) -> str:
    if not income or income.get("average") is None:
        return ""
    month = dt.date.fromisoformat(income["month"])
    millions = Decimal(income["average"]) / 10**6
    if language == "en":
        text = (
            f"average income for {MONTHS_EN[month.month - 1]} VND {_n(millions, 'en', 1)} million per person"
        )
        if income.get("pct_of_plan") is not None:
            text += f", {pct_en(income['pct_of_plan'])} of plan"
        if income.get("change_pct") is not None:
            change = income["change_pct"]
            text += f", {'up' if change >= 0 else 'down'} {pct_en(abs(change))} on the same month last year"
        return text
    text = f"thu nhập bình quân tháng {month.month} đạt {_n(millions, 'vi', 1)} triệu đồng/người"
    if income.get("pct_of_plan") is not None:
        text += f", bằng {pct_vi(income['pct_of_plan'])} kế hoạch"
    if income.get("change_pct") is not None:
        change = income["change_pct"]
        text += f", {'tăng' if change >= 0 else 'giảm'} {pct_vi(abs(change))} so với cùng tháng năm trước"
    return text


def _parts_vi(s: dict) -> list[str]:
    parts = [f"{_n(s['headcount'], 'vi')} người"]
    if s["underground"]["average"] is not None:
        parts[0] += f", bình quân {_n(s['underground']['average'], 'vi')} người/ngày xuống lò"
    certificates = s["certificates"]
    if certificates["expiring"] or certificates["expired"]:
        parts.append(
            f"{_n(certificates['expiring'], 'vi')} chứng chỉ hết hạn trong {certificates['window_days']} ngày tới, "
            f"{_n(certificates['expired'], 'vi')} chứng chỉ đã hết hạn"
        )
    epidemic = s["epidemic"]
    cases = (
        f"{_n(epidemic['new_cases'], 'vi')} ca mắc mới" if epidemic["new_cases"] else "không có ca mắc mới"
    )
    if epidemic["isolating"]:
        cases += f", {_n(epidemic['isolating'], 'vi')} người đang cách ly"
    parts.append(cases)
    grievances = s["grievances"]
    if grievances["open"]:
        overdue = f" ({_n(grievances['overdue'], 'vi')} quá hạn)" if grievances["overdue"] else ""
        parts.append(f"{_n(grievances['open'], 'vi')} kiến nghị đang mở{overdue}")
    else:
        parts.append("không có kiến nghị tồn đọng")
    return parts


def _plural(n: int, noun: str) -> str:
    return f"{_n(n, 'en')} {noun}{'' if n == 1 else 's'}"


def _parts_en(s: dict) -> list[str]:
    parts = [f"{_n(s['headcount'], 'en')} people"]
    if s["underground"]["average"] is not None:
        parts[0] += f", on average {_n(s['underground']['average'], 'en')} a day underground"
    certificates = s["certificates"]
    if certificates["expiring"] or certificates["expired"]:
        parts.append(
            f"{_plural(certificates['expiring'], 'certificate')} expiring within {certificates['window_days']} "
            f"days, {_n(certificates['expired'], 'en')} expired"
        )
    epidemic = s["epidemic"]
    new = epidemic["new_cases"]
    cases = _plural(new, "new case") if new else "no new cases"
    if epidemic["isolating"]:
        cases += f", {_n(epidemic['isolating'], 'en')} isolating"
    parts.append(cases)
    grievances = s["grievances"]
    if grievances["open"]:
        overdue = f" ({_n(grievances['overdue'], 'en')} overdue)" if grievances["overdue"] else ""
        parts.append(f"{_plural(grievances['open'], 'grievance')} open{overdue}")
    else:
        parts.append("no grievance outstanding")
    return parts


def narrative(block: dict, language: str) -> str | None:
    """ "Lao động: 10.012 người, bình quân 1.234 người/ngày xuống lò; 3 ca mắc mới, 5 người đang cách ly;
    12 kiến nghị đang mở (2 quá hạn); thu nhập bình quân tháng 11 đạt 14,2 triệu đồng/người, bằng 101,3%
    kế hoạch." — None when the block has nobody on its books."""
    s = block.get(SECTION)
    if not s or not s["headcount"]:
        return None
    en = language.startswith("en")
    parts = _parts_en(s) if en else _parts_vi(s)
    income = _income_sentence(s.get("income"), "en" if en else "vi")
    if income:
        parts.append(income)
    return ("Workforce: " if en else "Lao động: ") + "; ".join(parts) + "."


XLSX_HEADERS = [
    ("Mã đơn vị", 12, None),
    ("Đơn vị", 34, None),
    ("Lao động (người)", 12, "i"),
    ("Xuống lò bình quân (người/ngày)", 14, "i"),
    ("Xuống lò cao nhất (người)", 12, "i"),
    ("Ngày cao nhất", 12, None),
    ("Chứng chỉ hết hạn trong 30 ngày", 14, "i"),
    ("Chứng chỉ đã hết hạn", 12, "i"),
    ("Ca mắc mới", 10, "i"),
    ("Đang cách ly", 10, "i"),
    ("Xét nghiệm", 10, "i"),
    ("Dương tính", 10, "i"),
    ("Kiến nghị nhận trong kỳ", 12, "i"),
    ("Kiến nghị đang mở", 12, "i"),
    ("Kiến nghị quá hạn", 12, "i"),
    ("Kiến nghị đã trả lời trong kỳ", 12, "i"),
    ("Tháng lương", 10, None),
    ("Thu nhập bình quân (đồng/người/tháng)", 16, "i"),
    ("Kế hoạch (đồng/người/tháng)", 16, "i"),
    ("% kế hoạch", 10, "p"),
    ("Cùng tháng năm trước (đồng/người/tháng)", 16, "i"),
    ("± % so cùng kỳ", 10, "p"),
]


def _xlsx_row(block: dict) -> list:
    s, unit = block[SECTION], block["unit"]
    underground, income = s["underground"], s.get("income") or {}
    peak_day = underground.get("peak_day")
    month = income.get("month")
    return [
        unit["code"],
        unit["name_vi"],
        s["headcount"],
        round(underground["average"]) if underground["average"] is not None else None,
        underground["peak"],
        f"{dt.date.fromisoformat(peak_day):%d/%m/%Y}" if peak_day else "",
        s["certificates"]["expiring"],
        s["certificates"]["expired"],
        *(s["epidemic"][k] for k in ("new_cases", "isolating", "tests", "positive_tests")),
        *(s["grievances"][k] for k in ("received", "open", "overdue", "answered")),
        f"{dt.date.fromisoformat(month):%m/%Y}" if month else "",
        income.get("average"),
        income.get("plan"),
        income.get("pct_of_plan"),
        income.get("last_year"),
        income.get("change_pct"),
    ]


def xlsx(blocks: list[dict]) -> list[XlsxSheet]:
    return [XlsxSheet("Lao động", XLSX_HEADERS, [_xlsx_row(b) for b in blocks])]


PACK_SECTION = PackSection(
    name=SECTION,
    label=("Lao động", "Workforce"),
    build=pack_section,
    template="workforce/pack_section.html",
    xlsx=xlsx,
    narrative=narrative,
    depends_on=depends_on,
    order=10,
)


# ---------------------------------------------------------------- KPI measures (key tasks 5, 6 and 8)
# Key task 5's training coverage is the training part's figure (selectors.training.training_coverage).


def grievances_on_time(unit: Unit, on: dt.date) -> Decimal | None:
    """Key task 6's KPI: the voice page's "answered on time" over the grievances received this year to date
    (one meaning for the figure: workforce.selectors.voice.grievances_on_time)."""
    return voice_on_time(unit, dt.date(on.year, 1, 1), on)


def cases(unit: Unit, on: dt.date) -> Decimal:
    """Cases among the unit's workers confirmed this year to date."""
    n = EpidemicCase.objects.filter(
        worker__unit__path__startswith=unit.path,
        confirmed_on__gte=dt.date(on.year, 1, 1),
        confirmed_on__lte=on,
    ).count()
    return Decimal(n)


def average_income(unit: Unit, on: dt.date) -> Decimal | None:
    """Average income per person paid per month, this year's payroll months to date, rolled up as the income
    page does: the sum of totals / the sum of people paid (VND, whole đồng)."""
    months = _months_between(dt.date(on.year, 1, 1), on)
    tree = PayrollTree(unit, months)
    pay = sum((tree.pay(unit, m) for m in months), Pay())
    if not pay.headcount:
        return None
    return (pay.total / pay.headcount).quantize(Decimal(1), rounding=ROUND_HALF_UP)


MEASURES = (
    KpiMeasure(
        "workforce.training_coverage",
        ("Người lao động đủ huấn luyện bắt buộc còn hiệu lực", "Workers with every mandatory course valid"),
        "%",
        training_coverage,
        decimals=1,
    ),
    KpiMeasure(
        "workforce.grievances_on_time",
        ("Kiến nghị được trả lời đúng hạn (lũy kế năm)", "Grievances answered on time (year to date)"),
        "%",
        grievances_on_time,
        decimals=1,
    ),
    KpiMeasure(
        "workforce.cases",
        ("Ca mắc bệnh dịch của người lao động (lũy kế năm)", "Cases among the workers (year to date)"),
        "ca",
        cases,
        cumulative=True,
    ),
    KpiMeasure(
        "workforce.average_income",
        ("Thu nhập bình quân (lũy kế năm)", "Average income (year to date)"),
        "đồng/người/tháng",
        average_income,
    ),
)
