import datetime as dt
from decimal import Decimal

from headframe.production.models import Actual

DAY = dt.date(2026, 3, 10)


def test_dashboard_drills_down_from_the_group(client, users, seeded):
    client.force_login(users.planner_g)
    html = client.get("/production/?date=10/03/2026").content.decode()
    assert 'data-testid="drill-A"' in html and 'data-testid="drill-B"' in html
    html = client.get("/production/u/A/?date=10/03/2026").content.decode()
    assert 'data-testid="drill-A-M1"' in html
    html = client.get("/production/u/A-M1-K1/?date=10/03/2026").content.decode()
    assert 'data-testid="drill-A-M1-K1-F1"' in html
    assert "700" in html


def test_unit_page_numbers_are_vietnamese(client, users, seeded):
    client.force_login(users.planner_g)
    html = client.get("/production/u/A-M1/?date=10/03/2026").content.decode()
    assert "69.000" in html  # YTD plan 69 days × 1.000 t, grouped with a dot
    assert "10/03/2026" in html


def test_company_user_cannot_open_the_other_company(client, users, seeded):
    client.force_login(users.viewer_a)
    assert client.get("/production/u/B/?date=10/03/2026").status_code == 404
    html = client.get("/production/?date=10/03/2026").content.decode()
    assert "drill-B" not in html


def test_bad_date_is_400(client, users, seeded):
    client.force_login(users.viewer_a)
    assert client.get("/production/u/A/?date=31/02/2026").status_code == 400


def test_entry_form_saves_a_day_of_shifts(client, users, seeded):
    client.force_login(users.reporter_a)
    page = client.get("/production/entry/?unit=A-M1-K1-F1&date=11/03/2026")
    assert page.status_code == 200
    assert 'name="v-3-raw_coal_t"' in page.content.decode()
    assert 'name="v-1-overburden_m3"' not in page.content.decode()  # underground: no overburden
    response = client.post(
        "/production/entry/",
        {"unit": "A-M1-K1-F1", "date": "11/03/2026", "v-1-raw_coal_t": "1.234,5", "v-3-raw_coal_t": "600"},
    )
    assert response.status_code == 302
    stored = dict(Actual.objects.filter(day=dt.date(2026, 3, 11)).values_list("shift", "value"))
    assert stored == {1: Decimal("1234.5"), 3: Decimal("600")}


def test_entry_form_reports_bad_cells_and_stores_nothing(client, users, seeded):
    client.force_login(users.reporter_a)
    response = client.post(
        "/production/entry/",
        {"unit": "A-M1-K1-F1", "date": "11/03/2026", "v-1-raw_coal_t": "nhiều", "v-2-raw_coal_t": "5"},
    )
    assert response.status_code == 422
    assert "không phải là số" in response.content.decode()
    assert not Actual.objects.filter(day=dt.date(2026, 3, 11)).exists()
    response = client.post(
        "/production/entry/", {"unit": "A-M1-K1-F1", "date": "11/03/2026", "v-2-raw_coal_t": "-5"}
    )
    assert response.status_code == 422
    assert not Actual.objects.filter(day=dt.date(2026, 3, 11)).exists()


def test_entry_form_refuses_another_mine(client, users, seeded):
    client.force_login(users.reporter_a)
    assert client.get("/production/entry/?unit=B-M1-K1-F1").status_code == 404
    response = client.post(
        "/production/entry/", {"unit": "B-M1-K1-F1", "date": "11/03/2026", "v-1-raw_coal_t": "5"}
    )
    assert response.status_code == 404
    assert not Actual.objects.filter(day=dt.date(2026, 3, 11)).exists()


def test_viewer_has_no_entry_form(client, users, seeded):
    client.force_login(users.viewer_a)
    assert client.get("/production/entry/").status_code == 403


def test_template_download_and_import_page_round_trip(client, users, seeded):
    import io

    from openpyxl import load_workbook

    client.force_login(users.reporter_a)
    response = client.get("/production/template/?unit=A-M1&month=03/2026")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Số liệu"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Mã đơn vị", "Ngày", "Ca"]
    raw_col = next(n for n, h in enumerate(headers) if h and h.endswith("raw_coal_t"))
    first = sheet[2]
    assert first[0].value == "A-M1-K1-F1"
    first[raw_col].value = "1.500"
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "so-lieu.xlsx"
    response = client.post("/production/import/", {"file": buffer})
    assert response.status_code == 200, response.content.decode()[-2000:]
    assert 'data-testid="import-result"' in response.content.decode()
    assert Actual.objects.filter(unit__code="A-M1-K1-F1", day=dt.date(2026, 3, 1)).get().value == Decimal(
        1500
    )


def test_import_page_lists_bad_cells_and_stores_nothing(client, users, seeded):
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Số liệu"
    sheet.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    sheet.append(["A-M1-K1-F1", "02/03/2026", 1, "100"])
    sheet.append(["B-M1-K1-F1", "02/03/2026", 1, "100"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "bad.xlsx"
    client.force_login(users.reporter_a)
    response = client.post("/production/import/", {"file": buffer})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Số liệu" in html and "B-M1-K1-F1" in html
    assert not Actual.objects.filter(day=dt.date(2026, 3, 2)).exists()


def test_template_for_another_mine_is_404(client, users, seeded):
    client.force_login(users.reporter_a)
    assert client.get("/production/template/?unit=B-M1&month=03/2026").status_code == 404
    assert client.get("/production/template/?unit=A-M1&month=2026-03").status_code == 400


def test_summary_export_xlsx_and_csv_are_scoped(client, users, seeded):
    import io

    from openpyxl import load_workbook

    client.force_login(users.viewer_a)
    response = client.get("/production/u/A/?date=10/03/2026&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.freeze_panes is not None
    values = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert "raw_coal_t" in values
    csv = client.get("/production/u/A/?date=10/03/2026&format=csv").content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("Mã chỉ tiêu")
    assert client.get("/production/u/B/?date=10/03/2026&format=csv").status_code == 404


def test_indicator_catalogue_is_editable_in_the_admin_by_group_admins_and_audited(client, users, seeded):
    from headframe.core.models import AuditEntry
    from headframe.production.models import Indicator

    indicator = Indicator.objects.get(code="roadway_m")
    url = f"/admin/production/indicator/{indicator.pk}/change/"
    client.force_login(users.admin_a)  # manages company A only
    assert client.get(url).status_code == 200  # may look
    assert client.post(url, {"name_vi": "x"}).status_code == 403
    client.force_login(users.admin_g)
    form = {
        "name_vi": "Mét lò đào mới",
        "name_en": "Roadway development",
        "unit_of_measure": "m",
        "site_types": '["underground"]',
        "higher_is_better": "on",
        "decimals": 0,
        "is_key": "on",
        "sort_order": 50,
        "is_active": "on",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Indicator.objects.get(code="roadway_m").name_vi == "Mét lò đào mới"
    entry = AuditEntry.objects.filter(object_type="production.indicator").latest("id")
    assert entry.channel == "admin" and entry.after == {"name_vi": "Mét lò đào mới"}


def test_planner_closes_a_month_from_the_unit_page_and_the_form_says_so(client, users, seeded):
    client.force_login(users.reporter_a)
    html = client.get("/production/u/A-M1/?date=10/03/2026").content.decode()
    assert 'data-testid="lock-month"' not in html  # reporters cannot close months
    assert client.post("/production/u/A-M1/lock/", {"date": "10/03/2026"}).status_code == 302
    from headframe.production.models import PeriodLock

    assert not PeriodLock.objects.exists()
    client.force_login(users.planner_g)
    client.post("/production/u/A/lock/", {"date": "10/03/2026"})
    assert PeriodLock.objects.get().month == dt.date(2026, 3, 1)
    client.force_login(users.reporter_a)
    assert (
        'data-testid="month-locked"'
        in client.get("/production/entry/?unit=A-M1-K1-F1&date=11/03/2026").content.decode()
    )
    response = client.post(
        "/production/entry/", {"unit": "A-M1-K1-F1", "date": "11/03/2026", "v-1-raw_coal_t": "5"}
    )
    assert response.status_code == 422
    assert not Actual.objects.filter(day=dt.date(2026, 3, 11)).exists()


def test_late_figures_are_marked(client, users, seeded):
    client.force_login(users.viewer_a)
    html = client.get("/production/u/A/?date=10/03/2026").content.decode()
    assert 'data-testid="late-count"' in html  # the seeded figures were entered long after their day
    client.force_login(users.reporter_a)
    html = client.get("/production/entry/?unit=A-M1-K1-F1&date=10/03/2026").content.decode()
    assert 'class="late"' in html


def test_drill_down_table_exports_with_the_same_figures(client, users, seeded):
    import io

    from openpyxl import load_workbook

    client.force_login(users.planner_g)
    response = client.get("/production/u/G/?date=10/03/2026&format=xlsx&table=children")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã đơn vị", "Tên đơn vị", "Than nguyên khai (t) — TH lũy kế tháng")
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["A"][2] == 700 and by_code["B"][2] == 300
    client.force_login(users.viewer_a)
    csv = client.get("/production/u/G/?date=10/03/2026&format=csv&table=children")
    assert csv.status_code == 404  # the group is outside a company viewer's scope


def test_dashboard_early_warnings_match_the_api(client, users, seeded, api):
    client.force_login(users.planner_g)
    html = client.get("/production/u/G/?date=10/03/2026").content.decode()
    table = html.split('data-testid="early-warnings"', 1)[1].split("</table>", 1)[0]
    listed = api(users.planner_g).get("/api/v1/production/early-warnings", unit="G", date="2026-03-10").json()
    assert sorted(w["unit"] for w in listed) == ["A", "G"]  # the group itself is evaluated too
    assert "/production/u/A/" in table and "/production/u/B/" not in table
