"""Every percentage of plan on the dashboard, in its exports and in the summary API is named by its basis:
% of the whole month/year plan (the figure the group publishes) and % of the plan to date (pace), with the
year plan in force and, when it was adjusted, the original beside it.

A-M1 plans 365 000 t for 2026 (1 000 t a day, no holidays here) and reports 75 000 t on 5/1 and 700 t on
10/3. On 10/3: year to date 75 700 t against 69 000 t planned to date (109,7 %) but 20,7 % of the year's
365 000 t; month to date 700 t against 10 000 t to date (7,0 %) and 2,3 % of March's 31 000 t.
"""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from headframe.production import services
from headframe.production.figures import BASES, basis_labels
from tests.production.conftest import plan_a_m1_2026

DAY = dt.date(2026, 3, 10)
URL = "/production/u/A-M1/?date=10/03/2026"


@pytest.fixture
def seeded(mines):
    plan_a_m1_2026()
    services.actuals_upsert(
        actor=None,
        rows=[
            services.ActualRow("A-M1-K1-F1", "raw_coal_t", dt.date(2026, 1, 5), 0, 75000),
            services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 0, 700),
        ],
        source="api",
    )
    return mines


@pytest.fixture
def adjusted(seeded):
    """From 1/3 an adjusted plan of 438 000 t for the year is in force."""
    services.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=2026,
        effective_from=dt.date(2026, 3, 1),
        values={"raw_coal_t": 438000},
        kind="adjusted",
        note="Điều chỉnh tăng",
    )
    return seeded


def _xlsx_row(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    raw = next(row for row in rows[1:] if row[0] == "raw_coal_t")
    return dict(zip(rows[0], raw, strict=True))


def test_export_puts_the_share_of_the_whole_year_plan_under_percent_of_year_plan(client, users, seeded):
    client.force_login(users.planner_g)
    row = _xlsx_row(client, URL + "&format=xlsx")
    assert row["% KH năm"] == pytest.approx(20.7)  # 75 700 ÷ 365 000, not ÷ the plan to date
    assert row["% tiến độ KH năm"] == pytest.approx(109.7)
    assert row["KH năm"] == 365000 and row["KH năm đến nay"] == 69000
    assert row["% KH tháng"] == pytest.approx(2.3) and row["KH tháng"] == 31000
    assert row["% tiến độ KH tháng"] == pytest.approx(7.0) and row["KH tháng đến nay"] == 10000


def test_dashboard_shows_both_bases_for_month_and_year_with_the_labels_of_figures(client, users, seeded):
    client.force_login(users.planner_g)
    html = client.get(URL).content.decode()
    for basis in ("month", "month_to_date", "year", "year_to_date"):
        assert f'<th class="num" data-basis="{basis}">{BASES[basis].vi}</th>' in html
    assert 'data-basis="year_original"' not in html  # nothing was adjusted
    month, year = _rows(html, "raw_coal_t")
    assert '<td class="num" data-basis="month">2,3</td>' in month
    assert '<td class="num" data-basis="month_to_date"><span class="light red">7,0</span></td>' in month
    assert '<td class="num" data-basis="year"><strong>20,7</strong></td>' in year
    assert '<td class="num" data-basis="year_to_date">109,7</td>' in year and "365.000" in year


def _rows(html: str, code: str) -> list[str]:
    """The indicator's row in the day-and-month table and in the year table."""
    rows, at = [], 0
    while (at := html.find(f'<tr data-indicator="{code}"', at)) >= 0:
        rows.append(html[at : html.index("</tr>", at)])
        at += 1
    assert len(rows) == 2
    return rows


def test_an_adjusted_year_plan_shows_the_original_alongside(client, users, adjusted):
    client.force_login(users.planner_g)
    html = client.get(URL).content.decode()
    assert f'<th class="num" data-basis="year_original">{BASES["year_original"].vi}</th>' in html
    assert 'data-testid="plan-adjusted"' in html
    row = _xlsx_row(client, URL + "&format=xlsx")
    assert row["KH năm"] == 438000 and row["% KH năm"] == pytest.approx(17.3)  # 75 700 ÷ 438 000
    assert row["KH năm ban đầu"] == 365000 and row["% KH năm ban đầu"] == pytest.approx(20.7)
    assert row["KH năm đã điều chỉnh"] == "có"


def test_the_dashboard_speaks_english_with_the_same_bases(client, users, seeded, settings):
    client.force_login(users.planner_g)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(URL).content.decode()
    assert f'<th class="num" data-basis="year_to_date">{BASES["year_to_date"].en}</th>' in html
    assert 'data-basis="year"><strong>20.7</strong></td>' in html  # English numbers


def test_summary_api_names_each_basis(client, users, api, adjusted):
    response = api(users.viewer_a).get("/api/v1/production/summary", unit="A", date=DAY.isoformat())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["bases"] == basis_labels()
    assert body["bases"]["year"] == {"vi": "% KH năm", "en": "% of year plan"}
    raw = next(i for i in body["indicators"] if i["code"] == "raw_coal_t")
    assert raw["day"] == {"actual": 700.0, "plan": 1200.0, "pct_of_plan": 58.3}
    assert raw["mtd"]["plan"] == 37200.0 and raw["mtd"]["pct_of_plan"] == 1.9  # 700 ÷ 31 × 1 200
    assert set(raw["mtd"]) == {"actual", "plan_to_date", "pct_of_plan_to_date", "plan", "pct_of_plan"}
    ytd = raw["ytd"]
    assert (ytd["actual"], ytd["plan"], ytd["pct_of_plan"]) == (75700.0, 438000.0, 17.3)
    assert (ytd["plan_original"], ytd["pct_of_plan_original"], ytd["plan_adjusted"]) == (365000.0, 20.7, True)
    assert ytd["pct_of_plan_to_date"] == round(75700 * 100 / ytd["plan_to_date"], 1)
    assert "month_plan" not in raw and "year_plan" not in raw and raw["period"] is None
    assert {"last_year", "forecast_year_end", "required_daily_year", "status"} <= set(raw)


def test_summary_api_without_an_adjustment_says_so(api, users, seeded):
    body = api(users.viewer_a).get("/api/v1/production/summary", unit="A-M1", date=DAY.isoformat()).json()
    ytd = next(i for i in body["indicators"] if i["code"] == "raw_coal_t")["ytd"]
    assert ytd["plan_adjusted"] is False and ytd["plan"] == ytd["plan_original"] == 365000.0
    assert (ytd["plan_to_date"], ytd["pct_of_plan_to_date"], ytd["pct_of_plan"]) == (69000.0, 109.7, 20.7)


def test_summary_api_gives_a_period_from_a_start_day(api, users, seeded):
    response = api(users.viewer_a).get(
        "/api/v1/production/summary", unit="A", date=DAY.isoformat(), **{"from": "2026-01-01"}
    )
    assert response.status_code == 200, response.content
    raw = next(i for i in response.json()["indicators"] if i["code"] == "raw_coal_t")
    assert raw["period"] == {
        "start": "2026-01-01",
        "end": "2026-03-10",
        "actual": 75700.0,
        "plan": 69000.0,
        "pct_of_plan": 109.7,
    }


def test_summary_api_refuses_a_period_starting_after_its_end(api, users, seeded):
    response = api(users.viewer_a).get(
        "/api/v1/production/summary", unit="A", date=DAY.isoformat(), **{"from": "2026-03-11"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "from"]


# --- CSV for Excel under Vietnamese regional settings (defect 10) ---------------------------------------


def _csv_rows(content: bytes, delimiter: str) -> dict:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Vietnamese headers
    rows = list(csv.reader(io.StringIO(content[3:].decode("utf-8")), delimiter=delimiter))
    raw = next(row for row in rows[1:] if row[0] == "raw_coal_t")
    return dict(zip(rows[0], raw, strict=True))


def test_vietnamese_csv_uses_semicolons_and_decimal_commas(client, users, seeded):
    client.force_login(users.planner_g)
    response = client.get(URL + "&format=csv-vi")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    row = _csv_rows(response.content, ";")
    assert row["Chỉ tiêu"] == "Than nguyên khai"
    assert row["% KH năm"] == "20,7" and row["% tiến độ KH năm"] == "109,7"
    assert row["Lũy kế năm"] == "75700" and row["KH năm"] == "365000"


def test_plain_csv_keeps_commas_and_decimal_points(client, users, seeded):
    client.force_login(users.planner_g)
    row = _csv_rows(client.get(URL + "&format=csv").content, ",")
    assert row["% KH năm"] == "20.7" and row["% tiến độ KH năm"] == "109.7"


def test_the_dashboard_links_both_csv_forms(client, users, seeded):
    client.force_login(users.planner_g)
    html = client.get(URL).content.decode()
    assert 'data-testid="export-csv"' in html and 'data-testid="export-csv-vi"' in html
    assert "format=csv-vi&amp;table=children" in html


def test_vietnamese_csv_of_the_drill_down_is_scoped(client, users, seeded):
    client.force_login(users.planner_g)
    response = client.get("/production/u/G/?date=10/03/2026&format=csv-vi&table=children")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][4] == "Than nguyên khai (t) — % tiến độ KH tháng"
    client.force_login(users.viewer_a)
    assert client.get("/production/u/G/?date=10/03/2026&format=csv-vi&table=children").status_code == 404
