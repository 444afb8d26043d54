"""Excel template, importer (all or nothing, errors naming sheet/row/column), CLI and table exports.

Real .xlsx files written with openpyxl into tmp_path, imported into the real test database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from headframe.cli import main
from headframe.core.errors import ErrorItem, PermissionDenied, TooLarge, ValidationFailed
from headframe.core.formatting import read_number
from headframe.core.models import AuditEntry
from headframe.production.excel import (
    actuals_template,
    error_line,
    import_actuals_workbook,
    parse_actuals_workbook,
    table_csv,
    table_xlsx,
)
from headframe.production.models import Actual, DailyTotal, Indicator, MonthlyTotal

SHEET = "Số liệu"
HEADERS = ["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t", "Mét lò đào (m)\nroadway_m"]
OCT_5, OCT_6 = dt.date(2026, 10, 5), dt.date(2026, 10, 6)


def write_xlsx(path, rows, headers=HEADERS, title=SHEET, more_sheets=()):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for name, sheet_rows in more_sheets:
        extra = wb.create_sheet(name)
        for row in sheet_rows:
            extra.append(row)
    wb.save(path)
    return path


def stored(unit="A-M1", indicator="raw_coal_t", day=OCT_5, shift=0) -> Decimal:
    return Actual.objects.get(unit__code=unit, indicator__code=indicator, day=day, shift=shift).value


def refused(file, actor=None, exc=ValidationFailed) -> list[ErrorItem]:
    with pytest.raises(exc) as info:
        import_actuals_workbook(actor=actor, file=file)
    assert not Actual.objects.exists()
    return info.value.items


# --- template ------------------------------------------------------------------------------------------


def test_template_has_one_row_per_unit_and_day_and_only_entered_indicators(tree):
    indicators = list(Indicator.objects.all())
    content = actuals_template(tree.a, 2026, 10, indicators, [tree.a_m1, tree.b_m1])
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == [SHEET, "Hướng dẫn"]
    ws = wb[SHEET]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["Mã đơn vị", "Ngày", "Ca"]
    codes = [h.splitlines()[-1] for h in headers[3:]]
    assert codes == [i.code for i in indicators if not i.is_derived]
    assert headers[3] == "Than nguyên khai (t)\nraw_coal_t"
    assert ws.freeze_panes == "D2"
    assert ws.max_row == 1 + 2 * 31
    assert [c.value for c in ws[2]][:3] == ["A-M1", dt.datetime(2026, 10, 1), 0]
    assert ws["B2"].number_format == "dd/mm/yyyy"
    assert all(c.value is None for c in ws[2][3:])
    assert "1.234,5" in " ".join(str(r[0].value) for r in wb["Hướng dẫn"].iter_rows())


def test_template_shades_indicators_the_site_does_not_report(tree):
    indicators = [Indicator.objects.get(code="raw_coal_t"), Indicator.objects.get(code="overburden_m3")]
    ws = load_workbook(io.BytesIO(actuals_template(tree.a_m1, 2026, 10, indicators, [])))[SHEET]
    assert ws["D2"].fill.fgColor.rgb != "00D9D9D9"  # raw coal: reported underground
    assert ws["E2"].fill.fgColor.rgb == "00D9D9D9"  # overburden: open-pit only


def test_template_round_trip_stores_figures_and_updates_daily_totals(tree, tmp_path):
    indicators = list(Indicator.objects.filter(code__in=["raw_coal_t", "roadway_m"]))
    path = tmp_path / "t.xlsx"
    path.write_bytes(actuals_template(tree.a_m1, 2026, 10, indicators, [tree.a_m1]))
    wb = load_workbook(path)
    ws = wb[SHEET]
    ws["D6"] = "1.234,5"  # row 6 is 05/10: a Vietnamese number typed as text
    ws["E6"] = 12
    ws["B7"] = dt.datetime(2026, 10, 6)  # an Excel date typed over the template's
    ws["D7"] = 980.25
    wb.save(path)

    result = import_actuals_workbook(actor=None, file=path)

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert stored() == Decimal("1234.5")
    assert stored(indicator="roadway_m") == Decimal(12)
    assert stored(day=OCT_6) == Decimal("980.25")
    assert Actual.objects.filter(source="xlsx").count() == 3
    raw = Indicator.objects.get(code="raw_coal_t")
    assert DailyTotal.objects.get(unit=tree.a_m1, indicator=raw, day=OCT_5).value == Decimal("1234.5")
    month = MonthlyTotal.objects.get(unit=tree.a_m1, indicator=raw, month=dt.date(2026, 10, 1))
    assert month.value_sum == Decimal("2214.75")


def test_unfilled_template_is_refused_as_empty(tree):
    content = actuals_template(tree.a_m1, 2026, 10, list(Indicator.objects.all()), [])
    [item] = refused(content)
    assert (item.loc, item.type) == (("file",), "empty")
    assert item.msg == "the file has no figures (every indicator cell is empty)"
    with translation.override("vi"):
        assert "không có số liệu" in item.text


# --- what the importer accepts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,5", "1234.5"),
        ("1234,5", "1234.5"),
        ("1 234,5", "1234.5"),
        ("1\u00a0234,5", "1234.5"),
        ("1234.5", "1234.5"),
        ("1.234", "1234"),
        ("12.500", "12500"),
        ("1.234.567", "1234567"),
        ("1.234.567,89", "1234567.89"),
        ("1,234", "1.234"),
        ("1,234.5", "1234.5"),
        ("12.5", "12.5"),
        ("0.125", "0.125"),
        ("1.2345", "1.2345"),
        (" 42 ", "42"),
        ("-5", "-5"),
    ],
)
def test_numbers_typed_as_text_follow_the_vietnamese_convention(text, expected):
    assert read_number(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.23.4", "1,2,3", "1.234,5,6", "12 34", "1,", "1e3", "5 t"])
def test_text_that_is_not_a_number_is_refused(text):
    assert read_number(text) is None


def test_dates_shifts_and_numbers_in_their_accepted_forms(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [
            ["A-M1", "05/10/2026", 1, 100, None],
            ["A-M1", "2026-10-05", "Ca 2", "1 234,5", None],
            ["A-M1", 46300, 3.0, Decimal("7.25"), None],  # 46300 = 05/10/2026 as a bare Excel serial
            [None, None, None, None, None],  # blank rows are skipped
            ["A-M1", dt.date(2026, 10, 6), 0, None, None],  # a row without figures is skipped
        ],
    )
    rows, errors = parse_actuals_workbook(path)
    assert errors == []
    assert [(r.unit, r.indicator, r.day, r.shift, r.value, r.loc) for r in rows] == [
        ("A-M1", "raw_coal_t", OCT_5, 1, 100, (SHEET, 2, "D")),
        ("A-M1", "raw_coal_t", OCT_5, 2, Decimal("1234.5"), (SHEET, 3, "D")),
        ("A-M1", "raw_coal_t", OCT_5, 3, Decimal("7.25"), (SHEET, 4, "D")),
    ]


def test_every_data_sheet_is_read_english_headers_too_and_the_guide_is_skipped(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [["A-M1", OCT_5, 0, 10, 2]],
        more_sheets=[
            ("B", [["unit", "day", "shift", "raw_coal_t"], ["B-M1", OCT_5, 0, 20]]),
            ("Hướng dẫn", [["Mã đơn vị", "Ngày", "Ca", "nonsense"], ["x", "y", "z", "w"]]),
            ("Ghi chú", [["Ghi chú"], ["anything at all"]]),
        ],
    )
    result = import_actuals_workbook(actor=None, file=path)
    assert result.created == 3
    assert stored(unit="B-M1") == Decimal(20)


def test_percent_cells_of_a_percent_indicator_are_read_as_shown(tree, tmp_path):
    path = tmp_path / "f.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(["Mã đơn vị", "Ngày", "Ca", "ash_pct"])
    ws.append(["A-M1", OCT_5, 0, 0.125])
    ws["D2"].number_format = "0.0%"  # Excel shows 12,5%
    ws.append(["A-M1", OCT_6, 0, "13,5%"])
    wb.save(path)
    import_actuals_workbook(actor=None, file=path)
    assert stored(indicator="ash_pct") == Decimal("12.5")
    assert stored(indicator="ash_pct", day=OCT_6) == Decimal("13.5")


def test_percent_format_on_a_tonnage_cell_is_refused(tree, tmp_path):
    path = tmp_path / "f.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(HEADERS)
    ws.append(["A-M1", OCT_5, 0, 0.5, 3])
    ws["D2"].number_format = "0%"
    wb.save(path)
    assert [(i.loc, i.type) for i in refused(path)] == [((SHEET, 2, "D"), "percent_format")]


def test_an_uploaded_file_object_is_read_as_it_is(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5]])
    upload = SimpleUploadedFile("so-lieu.bin", path.read_bytes())
    assert import_actuals_workbook(actor=None, file=upload).created == 2


def test_a_notes_column_is_ignored(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5, "lò chợ dừng 2 giờ"]], headers=[*HEADERS, "Ghi chú"]
    )
    assert import_actuals_workbook(actor=None, file=path).created == 2


def test_rows_beyond_a_wrongly_stored_sheet_dimension_are_still_read(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5], ["A-M1", OCT_6, 0, 110, 6]])
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b'<dimension ref="A1:E3"' in parts[sheet]
    parts[sheet] = parts[sheet].replace(b'<dimension ref="A1:E3"', b'<dimension ref="A1:B2"')
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    assert import_actuals_workbook(actor=None, file=path).created == 4


# --- all or nothing, each error naming its cell --------------------------------------------------------


def test_one_bad_cell_among_good_ones_stores_nothing_and_names_sheet_row_column(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [
            ["A-M1", OCT_5, 0, 100, 5],
            ["A-M1", OCT_6, 0, 110, "năm"],
            ["A-M1", dt.date(2026, 10, 7), 0, 90, 4],
        ],
    )
    assert refused(path) == [ErrorItem((SHEET, 3, "E"), "not a number: 'năm'", "not_a_number")]
    assert not AuditEntry.objects.filter(object_type="production.actual").exists()


def test_unknown_unit_is_reported_once_on_the_unit_cell(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5], ["NOPE", OCT_5, 0, 100, 5]])
    assert refused(path) == [ErrorItem((SHEET, 3, "A"), "unknown unit 'NOPE'", "unknown_unit")]


def test_negative_figure_is_refused_on_its_cell(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, "-5"]])
    assert refused(path) == [ErrorItem((SHEET, 2, "E"), "negative value -5", "negative")]


def test_date_outside_the_plan_year_is_refused(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None], ["A-M1", "31/12/2025", 0, 90, None]]
    )
    [item] = refused(path)
    assert (item.loc, item.type) == ((SHEET, 3, "B"), "outside_plan_year")
    assert item.msg.startswith("day outside the plan year 2026: 31/12/2025")
    with translation.override("vi"):
        assert item.text.startswith("ngày ngoài năm kế hoạch 2026: 31/12/2025")


def test_duplicate_row_is_refused_naming_the_first(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None], ["A-M1", "05/10/2026", 0, 90, None]]
    )
    [item] = refused(path)
    assert (item.loc, item.type) == ((SHEET, 3, "D"), "duplicate_row")
    assert item.msg.startswith(f"duplicate of {SHEET}.2.D:")


def test_unknown_indicator_column_is_refused_on_its_header(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5, 7]], headers=[*HEADERS, "Bụi\ndust_t"])
    assert refused(path) == [
        ErrorItem((SHEET, 1, "F"), "unknown column “dust_t”: not an indicator code", "unknown_column")
    ]


def test_indicator_the_site_does_not_report_is_refused_on_its_cell(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 7]], headers=[*HEADERS[:4], "overburden_m3"]
    )
    assert refused(path) == [
        ErrorItem(
            (SHEET, 2, "E"),
            "Overburden removed is not reported by underground sites (A-M1)",
            "not_reported_here",
        )
    ]


def test_derived_indicator_cannot_be_entered(tree, tmp_path):
    headers = [*HEADERS[:3], "productivity_t_per_man_shift"]
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 3]], headers=headers)
    assert [(i.loc, i.type) for i in refused(path)] == [((SHEET, 2, "D"), "derived_indicator")]


def test_missing_unit_bad_date_and_bad_shift_are_all_reported(tree, tmp_path):
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [[None, OCT_5, 0, 1, None], ["A-M1", "32/10/2026", 0, 1, None], ["A-M1", OCT_5, 7, 1, None]],
    )
    assert [(i.loc, i.type) for i in refused(path)] == [
        ((SHEET, 2, "A"), "missing_unit"),
        ((SHEET, 3, "B"), "bad_date"),
        ((SHEET, 4, "C"), "bad_shift"),
    ]


def test_future_day_is_refused(tree, tmp_path):
    future = dt.date.today() + dt.timedelta(days=3)
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", future, 0, 1, None]])
    assert [(i.loc, i.type) for i in refused(path)] == [((SHEET, 2, "B"), "future_day")]


def test_figure_in_a_column_without_header_is_refused(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 1, None, None, 5]])
    assert [(i.loc, i.type) for i in refused(path)] == [((SHEET, 2, "G"), "unlabelled_column")]


def test_a_file_that_is_not_xlsx_is_refused_with_one_clear_error(tree, tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_text("Mã đơn vị,Ngày,Ca,raw_coal_t\nA-M1,05/10/2026,0,100\n", encoding="utf-8")
    [item] = refused(path)
    assert (item.loc, item.type) == (("file",), "not_xlsx")


def test_a_workbook_without_data_sheet_is_refused(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["x"]], headers=["Ghi chú"])
    assert [(i.loc, i.type) for i in refused(path)] == [(("file",), "no_data_sheet")]


def test_too_many_rows_are_refused(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", dt.date(2026, 10, d), 0, d, None] for d in range(1, 6)])
    with pytest.raises(TooLarge) as info:  # 413, naming the limit
        import_actuals_workbook(actor=None, file=path, max_rows=4)
    assert [(i.loc, i.type) for i in info.value.items] == [(("file",), "too_many_rows")]
    assert not Actual.objects.exists()


# --- idempotence and corrections -----------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(tree, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5], ["A-M1", OCT_6, 0, 110, 6]])
    first = import_actuals_workbook(actor=None, file=path)
    audits = AuditEntry.objects.count()
    again = import_actuals_workbook(actor=None, file=path)
    assert (first.created, again.created, again.updated, again.unchanged) == (4, 0, 0, 4)
    assert AuditEntry.objects.count() == audits


def test_a_corrected_cell_updates_only_that_figure(tree, tmp_path):
    import_actuals_workbook(actor=None, file=write_xlsx(tmp_path / "a.xlsx", [["A-M1", OCT_5, 0, 100, 5]]))
    result = import_actuals_workbook(
        actor=None, file=write_xlsx(tmp_path / "b.xlsx", [["A-M1", OCT_5, 0, "105,5", 5]])
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert stored() == Decimal("105.5")


# --- scope ---------------------------------------------------------------------------------------------


def test_reporter_cannot_import_figures_for_another_company(users, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None], ["B-M1", OCT_5, 0, 100, None]])
    items = refused(path, actor=users.reporter_a)
    assert [(i.loc, i.type) for i in items] == [((SHEET, 3, "A"), "unknown_unit")]


def test_viewer_may_not_import_figures(users, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None]])
    items = refused(path, actor=users.viewer_a, exc=PermissionDenied)
    assert [(i.loc, i.type) for i in items] == [((SHEET, 2, "A"), "permission_denied")]


def test_reporter_imports_figures_of_own_site_under_own_name(users, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None]])
    assert import_actuals_workbook(actor=users.reporter_a, file=path).created == 1
    assert Actual.objects.get().entered_by == users.reporter_a


# --- command line --------------------------------------------------------------------------------------


def test_cli_import_prints_a_summary(tree, tmp_path, capsys):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, 5]])
    assert main(["import-actuals", str(path)]) == 0
    assert capsys.readouterr().out == "imported 2 figures: 2 new, 0 corrected, 0 unchanged (2 late)\n"
    assert AuditEntry.objects.filter(object_type="production.actual", channel="cli").count() == 2
    assert main(["import-actuals", str(path)]) == 0
    assert "0 new, 0 corrected, 2 unchanged" in capsys.readouterr().out


def test_cli_stores_an_implausible_figure_only_with_the_confirmation(tree, tmp_path, capsys):
    assert (
        main(["import-actuals", str(write_xlsx(tmp_path / "a.xlsx", [["A-M1", OCT_5, 0, 100, None]]))]) == 0
    )
    jump = write_xlsx(tmp_path / "b.xlsx", [["A-M1", OCT_6, 0, 1000, None]])  # 10 × the best day
    assert main(["import-actuals", str(jump)]) == 1
    assert f"{SHEET}!2 D" in capsys.readouterr().err
    assert not Actual.objects.filter(day=OCT_6).exists()
    assert main(["import-actuals", str(jump), "--confirm-implausible"]) == 0
    assert stored(day=OCT_6) == 1000
    entry = AuditEntry.objects.filter(object_type="production.actual", channel="cli").latest("pk")
    assert entry.after["implausible_confirmed"] is True


def test_cli_prints_every_error_on_its_own_line_and_stores_nothing(tree, tmp_path, capsys):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, "x", 5], ["A-M1", "ngày 6", 0, 1, 5]])
    assert main(["import-actuals", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        f"{SHEET}!2 D: không phải là số: 'x'",
        f"{SHEET}!3 B: ngày không hợp lệ 'ngày 6': ghi dd/mm/yyyy",
    ]
    assert err[2].startswith("headframe import-actuals: error:") and "nothing stored" in err[2]
    assert not Actual.objects.exists()


def test_cli_as_user_imports_with_that_users_scope(users, tmp_path, capsys):
    path = write_xlsx(tmp_path / "f.xlsx", [["B-M1", OCT_5, 0, 100, None]])
    assert main(["import-actuals", str(path), "--as", "reporter_a"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"{SHEET}!2 A: không có đơn vị 'B-M1'"  # in Vietnamese
    assert main(["import-actuals", str(path)]) == 0  # the system may
    assert Actual.objects.get().entered_by is None


def test_cli_refuses_an_unknown_user_or_a_missing_file(tree, tmp_path, capsys):
    path = write_xlsx(tmp_path / "f.xlsx", [["A-M1", OCT_5, 0, 100, None]])
    assert main(["import-actuals", str(path), "--as", "nobody"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert main(["import-actuals", str(tmp_path / "missing.xlsx")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert not Actual.objects.exists()


def test_error_line_formats_cells_and_file_errors():
    assert error_line(ErrorItem(("S", 4, "D"), "bad", "t")) == "S!4 D: bad"
    assert error_line(ErrorItem(("S", 4), "bad", "t")) == "S!4: bad"
    assert error_line(ErrorItem(("file",), "not xlsx", "t")) == "file: not xlsx"


# --- table exports -------------------------------------------------------------------------------------


def test_table_xlsx_has_a_frozen_bold_filtered_header_and_real_numbers():
    rows = [
        ["Than nguyên khai", Decimal("1234567.5"), dt.date(2026, 10, 5), 98.25],
        ["Mét lò đào", Decimal("1500"), dt.date(2026, 10, 6), None],
    ]
    content = table_xlsx(
        "Tổng hợp 10/2026", ["Chỉ tiêu", "Thực hiện", "Ngày", "% KH"], rows, ["@", "#,##0.0", None, "0.00"]
    )
    ws = load_workbook(io.BytesIO(content)).active
    assert ws.title == "Tổng hợp 10 2026"
    assert [c.value for c in ws[1]] == ["Chỉ tiêu", "Thực hiện", "Ngày", "% KH"]
    assert ws["A1"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D3"
    assert ws["B2"].value == 1234567.5 and isinstance(ws["B2"].value, float)
    assert ws["B2"].number_format == "#,##0.0"
    assert ws["C2"].value == dt.datetime(2026, 10, 5) and ws["C2"].number_format == "dd/mm/yyyy"
    assert ws["D2"].number_format == "0.00"
    assert ws["D3"].value is None
    assert ws.column_dimensions["A"].width >= len("Than nguyên khai")


def test_table_csv_starts_with_a_bom_and_writes_plain_numbers_and_iso_dates():
    text = table_csv(
        ["Chỉ tiêu", "Thực hiện", "Ngày"],
        [["Than nguyên khai", Decimal("1234567.5000"), dt.date(2026, 10, 5)], ["Mét lò, đào", 1500, None]],
    )
    assert text.startswith("\ufeffChỉ tiêu,")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["Chỉ tiêu", "Thực hiện", "Ngày"],
        ["Than nguyên khai", "1234567.5", "2026-10-05"],
        ["Mét lò, đào", "1500", ""],
    ]


def test_exports_never_turn_user_text_into_formulas():
    evil = '=HYPERLINK("http://example.invalid","x")'
    ws = load_workbook(io.BytesIO(table_xlsx("t", ["Ghi chú"], [[evil]]))).active
    assert ws["A2"].value == evil and ws["A2"].data_type == "s"
    rows = list(
        csv.reader(io.StringIO(table_csv(["Ghi chú"], [[evil], ["-5"], ["@x"]]).removeprefix("\ufeff")))
    )
    assert rows[1:] == [["'" + evil], ["-5"], ["'@x"]]
