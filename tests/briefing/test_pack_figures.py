"""Issue 12, figures that mean one thing everywhere — the briefing pack's side.

Each percentage of plan stands under the one label of its basis (production.figures) on the page, in the PDF
and in the workbook; the pack is built for the meeting's own period and names it; early warnings check the
root too; safety findings are counted as they stood at the period's end; the narrative's percentages have one
decimal and agree with the tables; a target held over the year is done only when the year is over. A version 1
pack frozen on a closed meeting still renders."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from headframe.briefing import services as briefing
from headframe.briefing.models import Meeting
from headframe.briefing.pack import PACK_VERSION, num, pack_build, pack_for, pack_restrict
from headframe.briefing.pack.export import pack_html, pack_pdf
from headframe.briefing.pack.narrative import narrative_draft, pct_vi, period_name
from headframe.briefing.pack.xlsx import pack_xlsx
from headframe.core.formatting import format_number
from headframe.org.models import Unit
from headframe.production import selectors
from headframe.production import services as production
from headframe.production.figures import ACTUALS, BASES, PLANS
from headframe.production.services import ActualRow
from headframe.safety.models import Finding
from tests.briefing import pack_fixtures
from tests.briefing.pack_fixtures import END, NOW, START, YEAR
from tests.factories import make_user

pytestmark = pytest.mark.django_db
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures
HAS_PDFTOTEXT = bool(shutil.which("pdftotext"))
Q3 = (dt.date(YEAR, 7, 1), dt.date(YEAR, 9, 30))
WEEK_41 = (dt.date(YEAR, 10, 5), dt.date(YEAR, 10, 11))  # Monday to Sunday


def _group():
    return Unit.objects.get(code="G")


def _blocks(pack: dict) -> dict:
    return {b["unit"]["code"]: b for b in pack["blocks"]}


def _raw(pack: dict, code: str = "G") -> dict:
    return next(r for r in _blocks(pack)[code]["production"]["rows"] if r["indicator"] == "raw_coal_t")


def _summary(code: str, on: dt.date, start: dt.date | None = None):
    key = selectors.indicators_for(key_only=True)
    rows = selectors.unit_summary(Unit.objects.get(code=code), on, key, period_start=start)
    return next(s for s in rows if s.indicator.code == "raw_coal_t")


def _sheet_rows(pack: dict, sheet: str = "Sản xuất") -> tuple[list[str], dict]:
    book = load_workbook(io.BytesIO(pack_xlsx(pack)))
    rows = list(book[sheet].iter_rows(values_only=True))
    header = list(rows[0])
    return header, {(r[0], r[2]): dict(zip(header, r, strict=True)) for r in rows[1:]}


def _pdf_text(pack: dict, tmp_path, language: str = "vi") -> str:
    path = tmp_path / f"pack-{language}.pdf"
    path.write_bytes(pack_pdf(pack, language))
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _cell(html: str, indicator: str, key: str) -> str:
    row = re.search(rf'<tr data-indicator="{indicator}">(.*?)</tr>', html, re.S).group(1)
    cell = re.search(rf'<td class="num" data-k="{key}">(.*?)</td>', row, re.S).group(1)
    return re.sub(r"<[^>]+>", "", cell).strip()


def _header(html: str, key: str) -> str:
    return re.search(rf'<th class="num" data-k="{key}">(.*?)</th>', html).group(1)


# ---------------------------------------------------------------- 1. one label, one basis


def test_pack_rows_key_each_percentage_by_its_basis(figures):
    pack = pack_for(_group(), START, END)
    assert pack["version"] == PACK_VERSION == 2
    row, s = _raw(pack), _summary("G", END, START)
    assert "ytd_pct" not in row
    assert row["month_pct"] == num(s.month_pct)  # of the whole month's plan
    assert row["month_pct_to_date"] == num(s.mtd.pct)  # of the month's plan to date
    assert row["year_pct"] == num(s.year_pct)  # of the whole year's plan
    assert row["year_pct_to_date"] == num(s.ytd.pct)  # of the year's plan to date
    assert row["year_plan_original"] == num(s.year_plan_original)
    assert row["year_pct_original"] == num(s.year_pct_original)
    assert row["plan_adjusted"] is False
    assert row["year_pct"] != row["year_pct_to_date"]  # two numbers, two labels
    assert pack["labels"]["year"] == {"vi": "% KH năm", "en": "% of year plan"}


def test_the_workbook_puts_under_each_label_the_number_of_its_basis(figures):
    """Defect 1: the pack's workbook had YTD ÷ the year's plan under "% KH năm" while the dashboard export
    had YTD ÷ the plan to date under the same header."""
    pack = pack_for(_group(), START, END)
    header, cells = _sheet_rows(pack)
    for label in ("month", "month_to_date", "year", "year_to_date"):
        assert header.count(BASES[label].vi) == 1, label
    s = _summary("G", END, START)
    row = cells[("G", "raw_coal_t")]
    assert row[BASES["year"].vi] == num(s.year_pct) == _raw(pack)["year_pct"]
    assert row[BASES["year_to_date"].vi] == num(s.ytd.pct)
    assert row[BASES["month"].vi] == num(s.month_pct)
    assert row[BASES["month_to_date"].vi] == num(s.mtd.pct)
    assert row[PLANS["year"].vi] == num(s.year_plan)
    assert row[ACTUALS["year_to_date"].vi] == num(s.ytd.actual)


def test_the_page_heads_each_percentage_with_its_basis_label_in_either_language(group_meeting, users, client):
    client.force_login(users.planner_g)
    pk = group_meeting.meeting.pk
    pack = pack_build(group_meeting.meeting)
    row = _raw(pack)
    html = client.get(f"/briefing/meetings/{pk}/pack").content.decode()
    for key, basis in (
        ("month_pct", "month"),
        ("month_pct_to_date", "month_to_date"),
        ("year_pct", "year"),
        ("year_pct_to_date", "year_to_date"),
    ):
        assert _header(html, key) == BASES[basis].vi
        assert _cell(html, "raw_coal_t", key) == format_number(row[key], 1)
    english = pack_html(pack, "en")
    for key, basis in (("month_pct", "month"), ("year_pct_to_date", "year_to_date")):
        assert _header(english, key) == BASES[basis].en


@pytest.mark.skipif(not HAS_PDFTOTEXT, reason="poppler-utils (pdftotext) is not installed")
def test_the_pdf_heads_each_percentage_with_its_basis_label(group_meeting, tmp_path):
    pack = pack_build(group_meeting.meeting)
    text = _pdf_text(pack, tmp_path)
    for basis in ("month", "month_to_date", "year", "year_to_date"):
        assert BASES[basis].vi in text, basis
    row = _raw(pack)
    line = next(x for x in text.splitlines() if x.strip().startswith("Than nguyên khai (t)"))
    numbers = re.findall(r"[-\d][\d.,]*", line.split(")", 1)[1])
    month, year = format_number(row["month_actual"], 0), format_number(row["ytd_actual"], 0)
    # in the order of the headers: month actual, month plan, % KH tháng, % tiến độ KH tháng, year actual, …
    assert numbers[:8] == [
        month,
        format_number(row["month_plan"], 0),
        format_number(row["month_pct"], 1),
        format_number(row["month_pct_to_date"], 1),
        year,
        format_number(row["year_plan"], 0),
        format_number(row["year_pct"], 1),
        format_number(row["year_pct_to_date"], 1),
    ]


def test_an_adjusted_year_plan_shows_beside_the_original(figures):
    production.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=YEAR,
        effective_from=dt.date(YEAR, 7, 1),
        values={"raw_coal_t": 400_000},
    )
    pack = pack_for(_group(), START, END)
    row, s = _raw(pack, "A"), _summary("A", END, START)
    assert row["plan_adjusted"] is True and s.plan_adjusted
    assert row["year_plan"] == num(s.year_plan) and row["year_plan_original"] == num(s.year_plan_original)
    assert row["year_pct_original"] == num(s.year_pct_original)
    header, cells = _sheet_rows(pack)
    assert BASES["year_original"].vi in header
    assert cells[("A", "raw_coal_t")][BASES["year_original"].vi] == num(s.year_pct_original)
    assert 'data-group="original"' in pack_html(pack, "vi")


def _as_version_1(pack: dict) -> dict:
    """What a pack frozen before issue 12 looks like: `ytd_pct`, no period figures, findings counted now."""
    old = copy.deepcopy(pack)
    old["version"] = 1
    old.pop("labels", None)
    old["period"] = {k: v for k, v in old["period"].items() if k in ("start", "end")}
    for block in old["blocks"]:
        for row in block["production"]["rows"]:
            row["ytd_pct"] = row.pop("year_pct_to_date")
            for key in (
                "period_actual",
                "period_plan",
                "period_pct",
                "year_plan_original",
                "year_pct_original",
            ):
                row.pop(key)
            row.pop("plan_adjusted")
        for child in block["production"]["children"]:
            for figures_ in child["figures"].values():
                figures_.pop("period_actual")
                figures_.pop("period_pct")
        for entry in block["production"]["ranking"]:
            entry.pop("basis")
        safety = block["safety"]
        for key in ("as_of", "critical_opened_and_closed"):
            safety.pop(key)
        safety["incidents"] = {
            "count": 0,
            "by": {"incident": 0, "details": {"by_severity": {}, "injured": 0}},
        }
    return old


def test_a_version_1_pack_frozen_on_a_closed_meeting_still_renders(group_meeting, users, api, client):
    m = group_meeting.meeting
    v1 = _as_version_1(pack_build(m))
    Meeting.objects.filter(pk=m.pk).update(status="closed", pack=v1, closed_at=NOW)
    m.refresh_from_db()
    frozen = pack_build(m)
    assert frozen["version"] == 1 and frozen["frozen"]
    client.force_login(users.planner_g)
    page = client.get(f"/briefing/meetings/{m.pk}/pack")
    assert page.status_code == 200
    html = page.content.decode()
    row = next(r for r in v1["blocks"][0]["production"]["rows"] if r["indicator"] == "raw_coal_t")
    assert _cell(html, "raw_coal_t", "year_pct_to_date") == format_number(row["ytd_pct"], 1)
    assert 'data-group="period"' not in html
    assert client.get(f"/briefing/meetings/{m.pk}/pack?unit=A").status_code == 200
    company = pack_restrict(frozen, "A")  # drafts the company's narrative from the v1 block
    assert company["narrative"]["vi"].startswith("Tháng 10/2026, Đơn vị A sản xuất")
    caller = api(users.planner_g)
    assert caller.get(f"/api/v1/briefing/meetings/{m.pk}/pack.xlsx").status_code == 200
    assert caller.get(f"/api/v1/briefing/meetings/{m.pk}/pack.xlsx", unit="A").status_code == 200
    assert caller.get(f"/api/v1/briefing/meetings/{m.pk}/pack.pdf").status_code == 200
    _, cells = _sheet_rows(frozen)
    assert cells[("G", "raw_coal_t")][BASES["year_to_date"].vi] == row["ytd_pct"]


# ---------------------------------------------------------------- 2. the meeting's own period


@pytest.mark.parametrize(
    ("start", "end", "vi", "en"),
    [
        ((2021, 1, 1), (2021, 3, 31), "Quý I/2021", "Q1 2021"),
        ((2021, 10, 1), (2021, 12, 31), "Quý IV/2021", "Q4 2021"),
        ((2021, 11, 29), (2021, 12, 5), "Tuần 48", "Week 48"),
        ((2026, 12, 28), (2027, 1, 3), "Tuần 53/2026", "Week 53 of 2026"),
        ((2021, 3, 1), (2021, 3, 31), "Tháng 3/2021", "March 2021"),
        ((2021, 1, 1), (2021, 12, 31), "Năm 2021", "2021"),
        ((2021, 3, 1), (2021, 3, 15), "Tháng 3 (đến ngày 15/03)", "March (to 15/03)"),
        ((2021, 1, 1), (2021, 2, 15), "Từ 01/01 đến 15/02/2021", "From 01/01 to 15/02/2021"),
        ((2020, 12, 15), (2021, 2, 15), "Từ 15/12/2020 đến 15/02/2021", "From 15/12/2020 to 15/02/2021"),
    ],
)
def test_the_period_is_named_as_a_report_names_it(start, end, vi, en):
    assert period_name(dt.date(*start), dt.date(*end), "vi") == vi
    assert period_name(dt.date(*start), dt.date(*end), "en") == en


def test_a_quarter_pack_carries_the_quarters_figures_and_the_month_and_year_as_of_its_end(figures):
    start, end = Q3
    pack = pack_for(_group(), start, end)
    assert pack["period"]["kind"] == "quarter"
    for code in ("G", "A"):
        row, s = _raw(pack, code), _summary(code, end, start)
        assert (row["period_actual"], row["period_plan"], row["period_pct"]) == (
            num(s.period.actual),
            num(s.period.plan),
            num(s.period.pct),
        )
        assert row["month_actual"] == num(s.mtd.actual) and row["ytd_actual"] == num(s.ytd.actual)
    assert _raw(pack, "A")["period_actual"] == 30 * 1_000  # September's only figures in the quarter


def test_a_quarter_pack_shows_its_period_in_page_workbook_and_narrative(figures, users, client):
    start, end = Q3
    pack = pack_for(_group(), start, end)
    row = _raw(pack)
    html = pack_html(pack, "vi")
    assert 'data-group="period"' in html and "Quý III/2026" in html
    assert _header(html, "period_pct") == BASES["period"].vi
    assert _cell(html, "raw_coal_t", "period_pct") == format_number(row["period_pct"], 1)
    _, cells = _sheet_rows(pack)
    assert cells[("G", "raw_coal_t")][BASES["period"].vi] == row["period_pct"]
    assert cells[("G", "raw_coal_t")][ACTUALS["period"].vi] == row["period_actual"]
    vi, en = pack["narrative"]["vi"], pack["narrative"]["en"]
    assert vi.startswith(
        f"Quý III/2026, toàn Tập đoàn sản xuất {format_number(row['period_actual'] / 1000, 1)} nghìn tấn "
        f"than nguyên khai, đạt {pct_vi(row['period_pct'])} kế hoạch quý"
    )
    assert f"đạt {pct_vi(row['year_pct'])} kế hoạch năm" in vi  # the year to date against the YEAR plan
    assert en.startswith("In Q3 2026 the group produced")
    client.force_login(users.planner_g)
    page = client.get("/briefing/pack", {"unit": "G", "from": "01/07/2026", "to": "30/09/2026"})
    assert page.status_code == 200 and 'data-group="period"' in page.content.decode()


def test_a_week_pack_names_the_week_and_the_month_to_date(figures):
    start, end = WEEK_41
    pack = pack_for(_group(), start, end)
    row = _raw(pack)
    assert pack["period"]["kind"] == "week"
    assert 'data-group="period"' in pack_html(pack, "vi")
    vi = pack["narrative"]["vi"]
    assert vi.startswith("Tuần 41, toàn Tập đoàn sản xuất")
    assert f"đạt {pct_vi(row['period_pct'])} kế hoạch tuần" in vi
    assert "lũy kế tháng 10 đạt" in vi and f"{pct_vi(row['month_pct'])} kế hoạch tháng" in vi
    assert "lũy kế từ đầu năm" in vi and f"đạt {pct_vi(row['year_pct'])} kế hoạch năm" in vi
    assert pack["narrative"]["en"].startswith("In week 41 the group produced")
    [ranking] = _blocks(pack)["G"]["production"]["ranking"]  # companies ranked against the week's plan
    assert ranking["basis"] == "period"
    assert "So với kế hoạch tuần, dẫn đầu về than nguyên khai là Đơn vị A" in vi


def test_a_month_pack_has_no_period_group_the_month_columns_already_hold_it(figures):
    pack = pack_for(_group(), START, END)
    assert pack["period"]["kind"] == "month"
    assert 'data-group="period"' not in pack_html(pack, "vi")
    header, _cells = _sheet_rows(pack)
    assert BASES["period"].vi not in header
    assert pack["narrative"]["vi"].startswith("Tháng 10/2026, toàn Tập đoàn sản xuất")


def _lead_pack(start: str, end: str, **row) -> dict:
    base = {
        "indicator": "raw_coal_t",
        "name_vi": "Than nguyên khai",
        "name_en": "Raw coal produced",
        "uom": "t",
        "decimals": 0,
        "additive": True,
        "period_actual": None,
        "period_pct": None,
        "month_actual": None,
        "month_pct": None,
        "ytd_actual": None,
        "year_pct": None,
        "ytd_change_pct": None,
    }
    block = {
        "unit": {"code": "G", "name_vi": "Tập đoàn", "name_en": "Group", "kind": "group", "path": "/G/"},
        "production": {"rows": [{**base, **row}], "children": [], "ranking": [], "early_warnings": []},
        "safety": {},
    }
    return {"period": {"start": start, "end": end}, "blocks": [block], "directives": {"available": False}}


def test_a_first_quarter_reads_against_the_quarters_and_the_years_plan():
    pack = _lead_pack(
        "2021-01-01",
        "2021-03-31",
        period_actual=9_120_000,
        period_pct=101.3,
        month_actual=3_050_000,
        month_pct=99.1,
        ytd_actual=9_120_000,
        year_pct=25.4,
        ytd_change_pct=4.1,
    )
    text = narrative_draft(pack)
    assert text["vi"] == (
        "Quý I/2021, toàn Tập đoàn sản xuất 9,12 triệu tấn than nguyên khai, đạt 101,3% kế hoạch quý "
        "và 25,4% kế hoạch năm, tăng 4,1% so với cùng kỳ năm trước; riêng tháng 3 đạt 3,05 triệu tấn, "
        "99,1% kế hoạch tháng."
    )
    assert text["en"] == (
        "In Q1 2021 the group produced 9.12 million tonnes of raw coal, 101.3% of the quarter's plan "
        "and 25.4% of the year's plan, up 4.1% on the same period last year; March alone: "
        "3.05 million tonnes, 99.1% of the month's plan."
    )


def test_a_later_quarter_reads_the_year_to_date_against_the_year_plan():
    pack = _lead_pack(
        "2021-07-01",
        "2021-09-30",
        period_actual=9_500_000,
        period_pct=98.75,
        month_actual=3_100_000,
        month_pct=97.0,
        ytd_actual=29_000_000,
        year_pct=74.35,
    )
    vi = narrative_draft(pack)["vi"]
    assert vi.startswith(
        "Quý III/2021, toàn Tập đoàn sản xuất 9,50 triệu tấn than nguyên khai, đạt 98,8% kế hoạch quý"
    )
    assert vi.endswith("; lũy kế 9 tháng 29,00 triệu tấn, đạt 74,4% kế hoạch năm.")


# ---------------------------------------------------------------- 3. early warnings at every level


def test_early_warnings_check_the_group_itself_and_the_narrative_names_it(figures):
    group = _group()
    pack = pack_for(group, START, END)
    key = selectors.indicators_for(key_only=True)
    own = selectors.early_warnings(group, END, [group], key)
    assert own, "the fixture's group cannot make its year at its best 30-day pace"
    listed = [(w["unit"], w["indicator"]) for w in _blocks(pack)["G"]["production"]["early_warnings"]]
    assert {("G", w.indicator.code) for w in own} <= set(listed)
    assert "Cảnh báo sớm nguy cơ không hoàn thành kế hoạch năm: toàn Tập đoàn (" in pack["narrative"]["vi"]
    assert "at risk of missing the year's plan: the group itself (" in pack["narrative"]["en"]


def test_a_company_block_checks_the_company_itself(figures):
    company = Unit.objects.get(code="A")
    pack = pack_for(_group(), START, END)
    own = selectors.early_warnings(company, END, [company], selectors.indicators_for(key_only=True))
    listed = [(w["unit"], w["indicator"]) for w in _blocks(pack)["A"]["production"]["early_warnings"]]
    assert {("A", w.indicator.code) for w in own} <= set(listed) and own
    alone = pack_for(company, START, END)  # a company's own pack: the company with its mines
    assert "Đơn vị A (" in alone["narrative"]["vi"].split("Cảnh báo sớm", 1)[1]


# ---------------------------------------------------------------- 4. findings as of the period's end


def _finding(title, created, closed=None, deadline=None, severity="critical"):
    verifier = make_user(f"v_{title}", ("safety_officer", "A"))
    return Finding.objects.create(
        position=Unit.objects.get(code=pack_fixtures.FACE_A),
        severity=severity,
        title=title,
        deadline=deadline or created.date() + dt.timedelta(days=7),
        status="closed" if closed else "open",
        closed_at=closed,
        verified_by=verifier if closed else None,
        action_taken="x" if closed else "",
        evidence="y" if closed else "",
        created_at=created,
    )


def _at(y, m, d):
    return timezone.make_aware(dt.datetime(y, m, d, 9, 0))


@pytest.fixture
def findings(figures):
    return {
        "before_open": _finding("before_open", _at(YEAR, 9, 20), deadline=dt.date(YEAR, 10, 10)),
        "closed_after": _finding(
            "closed_after", _at(YEAR, 10, 5), closed=_at(YEAR, 11, 10), deadline=dt.date(YEAR, 10, 20)
        ),
        "within": _finding(
            "within", _at(YEAR, 10, 3), closed=_at(YEAR, 10, 20), deadline=dt.date(YEAR, 10, 10)
        ),
        "closed_before": _finding("closed_before", _at(YEAR, 9, 1), closed=_at(YEAR, 9, 15)),
        "later_1": _finding("later_1", _at(YEAR, 12, 1), deadline=dt.date(YEAR, 12, 3)),
        "later_2": _finding("later_2", _at(YEAR, 12, 2), deadline=dt.date(YEAR, 12, 3)),
        "minor": _finding("minor", _at(YEAR, 9, 2), severity="minor", deadline=dt.date(YEAR, 9, 9)),
    }


def test_critical_findings_are_counted_as_they_stood_at_the_period_end(findings, users, client):
    """Defect 7: every pack counted the findings open now (4 raised in December 2026 in packs of March 2025
    or of Sep–Nov 2026)."""
    pack = pack_for(_group(), START, END)
    safety = _blocks(pack)["G"]["safety"]
    assert safety["as_of"] == END.isoformat()
    assert sorted(i["title"] for i in safety["open_critical"]["items"]) == ["before_open", "closed_after"]
    assert safety["open_critical"]["count"] == 2
    assert [i["title"] for i in safety["critical_opened_and_closed"]["items"]] == ["within"]
    assert sorted(i["title"] for i in safety["overdue"]["items"]) == ["before_open", "closed_after", "minor"]
    assert _blocks(pack)["B"]["safety"]["open_critical"]["count"] == 0
    vi = pack["narrative"]["vi"]
    assert "2 tồn tại nghiêm trọng chưa khắc phục đến cuối kỳ" in vi
    assert "1 tồn tại nghiêm trọng phát sinh và đã khắc phục trong kỳ" in vi
    assert "3 tồn tại quá hạn khắc phục" in vi
    html = pack_html(pack, "vi")
    assert 'data-testid="open-critical-G">2<' in html and 'data-testid="critical-closed-G">1<' in html
    book = load_workbook(io.BytesIO(pack_xlsx(pack)))
    counts = {(r[0], r[2]): r[3] for r in book["Sự cố, tồn tại"].iter_rows(min_row=2, values_only=True)}
    assert counts[("G", "Tồn tại nghiêm trọng chưa khắc phục (cuối kỳ)")] == 2


def test_a_pack_of_a_long_past_period_counts_nothing_raised_after_it(findings):
    safety = _blocks(pack_for(_group(), dt.date(2025, 3, 1), dt.date(2025, 3, 31)))["G"]["safety"]
    assert safety["open_critical"]["count"] == 0 and safety["overdue"]["count"] == 0
    assert safety["critical_opened_and_closed"]["count"] == 0
    later = _blocks(pack_for(_group(), dt.date(YEAR, 9, 1), dt.date(YEAR, 11, 30)))["G"]["safety"]
    assert sorted(i["title"] for i in later["open_critical"]["items"]) == ["before_open"]
    assert sorted(i["title"] for i in later["critical_opened_and_closed"]["items"]) == [
        "closed_after",
        "closed_before",
        "within",
    ]


# ---------------------------------------------------------------- 5. the narrative's numbers


def test_narrative_percentages_have_one_decimal_and_equal_the_tables(figures):
    pack = pack_for(_group(), START, END)
    html = pack_html(pack, "vi")
    row = _raw(pack)
    vi = pack["narrative"]["vi"]
    for key in ("month_pct", "year_pct"):
        shown = _cell(html, "raw_coal_t", key)
        assert re.fullmatch(r"\d+,\d", shown)
        assert f"{shown}%" in vi, (key, shown)
    ranking = _blocks(pack)["G"]["production"]["ranking"][0]
    assert f"({pct_vi(ranking['best']['pct'])})" in vi
    assert f"đạt {format_number(row['month_pct'], 1)}% kế hoạch tháng" in vi


def test_january_is_not_a_one_month_year_to_date():
    pack = _lead_pack(
        "2027-01-01",
        "2027-01-31",
        month_actual=3_031_250,
        month_pct=101.2,
        ytd_actual=3_031_250,
        year_pct=8.08,
        ytd_change_pct=-1.25,
    )
    text = narrative_draft(pack)
    assert text["vi"] == (
        "Tháng 1/2027, toàn Tập đoàn sản xuất 3,03 triệu tấn than nguyên khai, đạt 101,2% kế hoạch tháng "
        "và 8,1% kế hoạch năm, giảm 1,3% so với cùng kỳ năm trước."
    )
    assert "lũy kế" not in text["vi"] and "year to date" not in text["en"]
    assert text["en"] == (
        "In January 2027 the group produced 3.03 million tonnes of raw coal, 101.2% of the month's plan "
        "and 8.1% of the year's plan, down 1.3% on the same period last year."
    )


def test_counts_read_as_a_person_writes_them():
    pack = _lead_pack("2026-10-01", "2026-10-31", month_actual=1000, month_pct=100)
    block = pack["blocks"][0]
    block["safety"] = {
        "incidents": {"count": 0, "serious": 0},
        "open_critical": {"count": 0},
        "overdue": {"count": 1},
    }
    text = narrative_draft(pack)
    assert "Về an toàn, không có sự cố; không có tồn tại nghiêm trọng chưa khắc phục" in text["vi"]
    assert "1 tồn tại quá hạn khắc phục." in text["vi"]
    assert "Safety: no incidents; no critical finding open; 1 overdue finding." in text["en"]
    assert ": 0" not in text["vi"]
    block["safety"] = {"incidents": {"count": 2, "serious": 1}}
    text = narrative_draft(pack)
    assert "Về an toàn, 2 sự cố (1 nghiêm trọng)." in text["vi"]
    assert "Safety: 2 incidents (1 serious)." in text["en"]


# ---------------------------------------------------------------- 6. a target held over the year


def _key_task(users, **kpi):
    task = briefing.key_task_create(
        actor=users.planner_g,
        year=YEAR,
        title_vi="Không để người lao động bị lây nhiễm dịch bệnh",
        owner_unit_code="A",
    )
    briefing.kpi_create(actor=users.planner_g, key_task=task, name_vi="0 người lao động bị lây nhiễm", **kpi)
    return task


def _kpi(pack):
    [task] = pack["key_tasks"]["items"]
    return task, task["kpis"][0]


def test_a_ceiling_over_the_year_kept_in_january_is_on_track_not_done(figures, users):
    production.actuals_upsert(
        actor=None,
        rows=[
            ActualRow(pack_fixtures.FACE_A, "roadway_m", dt.date(YEAR, 1, d), 0, Decimal(5))
            for d in range(1, 11)
        ],
        source="api",
        now=NOW,
    )
    _key_task(users, kind="indicator_value", indicator_code="roadway_m", comparator="le", target=100)
    january = pack_for(Unit.objects.get(code="A"), dt.date(YEAR, 1, 1), dt.date(YEAR, 1, 10))
    task, kpi = _kpi(january)
    assert (kpi["value"], kpi["state"], task["status"]) == (50, "on_track", "on_track")
    html = pack_html(january, "vi")
    assert '<span class="kpi-on_track">đúng tiến độ</span>' in html
    assert "kpi-met" not in html and "kpi-done" not in html
    year_end = pack_for(Unit.objects.get(code="A"), dt.date(YEAR, 12, 1), dt.date(YEAR, 12, 31))
    task, kpi = _kpi(year_end)
    assert kpi["state"] == "missed"  # 295 m of roadway in October broke the ceiling of 100


def test_a_manual_target_over_the_year_reported_in_january_is_done_only_when_the_year_is_over(figures, users):
    task = _key_task(users, kind="manual", target=0)
    briefing.kpi_update_manual(actor=None, kpi=task.kpis.get(), done=True, evidence="Sổ y tế tháng 1: 0 ca")
    january = pack_for(Unit.objects.get(code="A"), dt.date(YEAR, 1, 1), dt.date(YEAR, 1, 31))
    task_json, kpi = _kpi(january)
    assert (kpi["state"], task_json["status"]) == ("on_track", "on_track")
    _h, cells = _sheet_rows(january, "Nhiệm vụ trọng tâm")
    [row] = cells.values()
    assert row["Đánh giá"] == "đúng tiến độ" and row["Trạng thái"] == "Đúng tiến độ"
    year_end = pack_for(Unit.objects.get(code="A"), dt.date(YEAR, 12, 1), dt.date(YEAR, 12, 31))
    task_json, kpi = _kpi(year_end)
    assert (kpi["state"], task_json["status"]) == ("done", "done")
