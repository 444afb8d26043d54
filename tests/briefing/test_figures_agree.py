"""Issue 12, "done when": one year plan, a quarter of actuals and a quarterly meeting, and every surface —
the summary API, the dashboard, its xlsx and csv exports, the pack JSON, the pack PDF text, the pack workbook
and the narrative — shows the same percentage on the same basis, to 0,1, under the same label."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from headframe.briefing import services as briefing
from headframe.briefing.pack.export import production_columns
from headframe.production import services as production
from headframe.production.figures import BASES
from headframe.production.services import ActualRow

pytestmark = pytest.mark.django_db
YEAR = 2026
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 3, 31)
NOW = dt.datetime(YEAR, 4, 20, 12, 0, tzinfo=dt.UTC)
RAW = "Than nguyên khai"
# The expected figures, computed by hand: year plan 6 000 000 t, Q1 plan 1 500 000 t, March plan 500 000 t;
# 90 days at 16 500 t/day = 1 485 000 t in the quarter, 511 500 t in March.
EXPECTED = {"year": "24,8", "month": "102,3", "period": "99,0", "year_to_date": "99,0"}


@pytest.fixture
def quarter(tree, indicator_catalogue, users):
    for code, monthly in (("A-M1", 300_000), ("B-M1", 200_000)):
        production.plan_version_create(
            actor=None,
            unit_code=code,
            year=YEAR,
            effective_from=START,
            values={"raw_coal_t": [monthly] * 12},
        )
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
    rows = [ActualRow("A-M1-K1-F1", "raw_coal_t", d, 0, 10_500) for d in days]
    rows += [ActualRow("B-M1-K1-F1", "raw_coal_t", d, 0, 6_000) for d in days]
    production.actuals_upsert(actor=None, rows=rows, source="api", now=NOW)
    return briefing.meeting_create(
        actor=users.planner_g,
        unit_code="G",
        title="Giao ban quý I/2026",
        starts_at=timezone.make_aware(dt.datetime(YEAR, 4, 5, 8)),
        period_start=START,
        period_end=END,
    )


def _vi(number: float) -> str:
    return f"{number:.1f}".replace(".", ",")


def _by_header(headers: list, row: list, label) -> object:
    return row[headers.index(label.vi)]


def test_every_surface_shows_the_same_percentage_on_the_same_basis(quarter, users, api, client, tmp_path):
    caller = api(users.planner_g)
    # 1. The summary API names each basis.
    body = caller.get("/api/v1/production/summary", unit="G", date="2026-03-31", **{"from": "2026-01-01"})
    raw = next(i for i in body.json()["indicators"] if i["code"] == "raw_coal_t")
    assert _vi(raw["ytd"]["pct_of_plan"]) == EXPECTED["year"]
    assert _vi(raw["ytd"]["pct_of_plan_to_date"]) == EXPECTED["year_to_date"]
    assert _vi(raw["mtd"]["pct_of_plan"]) == EXPECTED["month"]
    assert _vi(raw["period"]["pct_of_plan"]) == EXPECTED["period"]
    assert body.json()["bases"]["year"] == {"vi": BASES["year"].vi, "en": BASES["year"].en}

    # 2. The dashboard: the year card's "% KH năm" cell.
    client.force_login(users.planner_g)
    html = client.get("/production/u/G/?date=31/03/2026").content.decode()
    year_card = html.split('data-testid="summary-year"', 1)[1].split("</table>", 1)[0]
    assert BASES["year"].vi in year_card
    row = next(r for r in year_card.split("<tr") if RAW in r)
    assert (
        re.sub(r"<[^>]+>", "", row.split('data-basis="year">', 1)[1].split("</td>", 1)[0]) == EXPECTED["year"]
    )

    # 3. Its exports: the same number under the same header.
    book = load_workbook(io.BytesIO(client.get("/production/u/G/?date=31/03/2026&format=xlsx").content))
    sheet = list(book.active.iter_rows(values_only=True))
    headers, raw_row = list(sheet[0]), next(r for r in sheet[1:] if r[0] == "raw_coal_t")
    assert _vi(_by_header(headers, raw_row, BASES["year"])) == EXPECTED["year"]
    assert _vi(_by_header(headers, raw_row, BASES["month"])) == EXPECTED["month"]
    assert _vi(_by_header(headers, raw_row, BASES["year_to_date"])) == EXPECTED["year_to_date"]
    plain = list(
        csv.reader(
            io.StringIO(client.get("/production/u/G/?date=31/03/2026&format=csv").content.decode("utf-8-sig"))
        )
    )
    raw_csv = next(r for r in plain[1:] if r[0] == "raw_coal_t")
    assert _vi(float(_by_header(plain[0], raw_csv, BASES["year"]))) == EXPECTED["year"]
    excel_vn = client.get("/production/u/G/?date=31/03/2026&format=csv-vi").content.decode("utf-8-sig")
    vn = list(csv.reader(io.StringIO(excel_vn), delimiter=";"))
    assert (
        _by_header(vn[0], next(r for r in vn[1:] if r[0] == "raw_coal_t"), BASES["year"]) == EXPECTED["year"]
    )

    # 4. The pack as JSON.
    pack = caller.get(f"/api/v1/briefing/meetings/{quarter.pk}/pack").json()
    lead = next(r for r in pack["blocks"][0]["production"]["rows"] if r["indicator"] == "raw_coal_t")
    assert _vi(lead["year_pct"]) == EXPECTED["year"]
    assert _vi(lead["month_pct"]) == EXPECTED["month"]
    assert _vi(lead["period_pct"]) == EXPECTED["period"]
    assert _vi(lead["year_pct_to_date"]) == EXPECTED["year_to_date"]

    # 5. The pack workbook.
    book = load_workbook(io.BytesIO(caller.get(f"/api/v1/briefing/meetings/{quarter.pk}/pack.xlsx").content))
    sheet = list(book["Sản xuất"].iter_rows(values_only=True))
    headers = list(sheet[0])
    group_raw = next(r for r in sheet[1:] if r[0] == "G" and "raw_coal_t" in r)
    for basis in ("year", "month", "period", "year_to_date"):
        assert _vi(_by_header(headers, group_raw, BASES[basis])) == EXPECTED[basis], basis

    # 6. The pack PDF: the group's raw-coal line holds, column by column, what the header says.
    if shutil.which("pdftotext"):
        path = tmp_path / "pack.pdf"
        path.write_bytes(caller.get(f"/api/v1/briefing/meetings/{quarter.pk}/pack.pdf").content)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        keys = [c.key for _g, _vi, _en, columns in production_columns(pack) for c in columns]
        line = next(line for line in text.splitlines() if line.strip().startswith(RAW))
        cells = dict(zip(keys, line.split(")", 1)[1].split(), strict=True))
        for key, basis in (("year_pct", "year"), ("month_pct", "month"), ("period_pct", "period")):
            assert cells[key] == EXPECTED[basis], (key, line)
        assert cells["year_pct_to_date"] == EXPECTED["year_to_date"]

    # 7. The narrative, one decimal as the group publishes it.
    narrative = pack["narrative"]["vi"]
    assert "Quý I/2026" in narrative
    assert f"{EXPECTED['period']}% kế hoạch quý" in narrative
    assert f"{EXPECTED['year']}% kế hoạch năm" in narrative
