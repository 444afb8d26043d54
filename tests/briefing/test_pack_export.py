"""PDF and Excel of the pack agree with its JSON to the unit, and Vietnamese text survives both.

The PDF is read back with pdftotext (poppler-utils) and its first page rendered to PNG with pdftoppm
(var/screenshots/briefing-pack-pdf.png, to look at); the workbook is opened with openpyxl."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from headframe.briefing.pack import pack_build
from headframe.briefing.pack.export import pack_html, pack_pdf, rounded
from headframe.briefing.pack.xlsx import pack_xlsx, production_headers
from headframe.core.formatting import format_number
from tests.briefing import pack_fixtures

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) is not installed"),
]
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHOWN = ("month_actual", "month_plan", "ytd_actual", "year_plan", "last_year_ytd", "required_daily_year")


@pytest.fixture
def pack(group_meeting):
    return pack_build(group_meeting.meeting)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return out


def _page_rows(text: str, label: str) -> list[list[str]]:
    """The numbers on each line of the PDF text that starts with an indicator's name."""
    return [
        re.findall(r"[-\d][\d.,]*", line.split(")", 1)[-1])
        for line in text.splitlines()
        if line.strip().startswith(label)
    ]


def test_pdf_figures_agree_with_the_pack_and_vietnamese_survives(pack, tmp_path):
    pdf = pack_pdf(pack, "vi")
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    for block in pack["blocks"]:
        for row in block["production"]["rows"]:
            expected = [format_number(rounded(row[k], row["decimals"]), row["decimals"]) for k in SHOWN]
            lines = _page_rows(text, row["name_vi"])
            found = [line for line in lines if all(e in line for e in expected)]
            assert found, (block["unit"]["code"], row["indicator"], expected, lines)
    for phrase in (
        "Tóm tắt",
        "Sản xuất",
        "Kết luận, chỉ đạo",
        "Khắc phục sự cố băng tải lò chợ B",
        "toàn Tập đoàn sản xuất",
        "Than nguyên khai",
        "Trang 1 /",
    ):
        assert phrase in text, phrase
    info = subprocess.run(["pdfinfo", str(tmp_path / "pack.pdf")], capture_output=True, text=True).stdout
    assert "841.89 x 595.276 pts (A4)" in info  # A4 landscape: wider than high
    fonts = subprocess.run(["pdffonts", str(tmp_path / "pack.pdf")], capture_output=True, text=True).stdout
    assert "Noto-Sans-Pack" in fonts  # the vendored font (its @font-face family), embedded
    if shutil.which("pdftoppm"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "2",
                "-l",
                "2",
                "-singlefile",
                str(tmp_path / "pack.pdf"),
                str(SCREENSHOTS / "briefing-pack-pdf"),
            ],
            check=True,
        )
        assert (SCREENSHOTS / "briefing-pack-pdf.png").stat().st_size > 10_000


def test_pdf_in_english_uses_english_labels_and_numbers(pack, tmp_path):
    text = _pdf_text(pack_pdf(pack, "en"), tmp_path)
    assert "Summary" in text and "Production" in text and "In October 2026 the group produced" in text
    raw = next(r for r in pack["blocks"][0]["production"]["rows"] if r["indicator"] == "raw_coal_t")
    assert format_number(rounded(raw["month_actual"], 0), 0, thousands=",", decimal_sep=".") in text


def test_the_printable_document_uses_the_vendored_font_and_a_landscape_page(pack):
    html = pack_html(pack, "vi")
    assert 'href="pack.css"' in html and 'href="pack-print.css"' in html
    css = Path(pack_fixtures.__file__).resolve().parents[2] / "src/headframe/briefing/static/briefing"
    assert 'url("fonts/NotoSans-Regular.ttf")' in (css / "pack.css").read_text()
    assert "size: A4 landscape" in (css / "pack-print.css").read_text()
    assert "counter(page)" in (css / "pack-print.css").read_text()


def test_xlsx_has_a_sheet_per_section_with_vietnamese_headers_and_the_packs_figures(pack):
    book = load_workbook(io.BytesIO(pack_xlsx(pack)))
    assert book.sheetnames == [
        "Tóm tắt",
        "Sản xuất",
        "Xếp hạng đơn vị",
        "Cảnh báo sớm",
        "An toàn",
        "Sự cố, tồn tại",
        "Kết luận, chỉ đạo",
        "Nhiệm vụ trọng tâm",
    ]
    sheet = book["Sản xuất"]
    headers, _columns = production_headers(pack)  # since pack v2 the labels of production.figures
    assert [c.value for c in sheet[1]] == [h for h, _w, _f in headers]
    assert sheet.freeze_panes == "A2"
    cells = {(r[0].value, r[2].value): r for r in sheet.iter_rows(min_row=2)}
    column = {h: i for i, (h, _w, _f) in enumerate(headers)}
    names = {
        "month_actual": "Lũy kế tháng",
        "month_plan": "KH tháng",
        "ytd_actual": "Lũy kế năm",
        "year_plan": "KH năm",
        "last_year_ytd": "Cùng kỳ năm trước (lũy kế)",
        "required_daily_year": "Cần đạt mỗi ngày (năm)",
    }
    count = 0
    for block in pack["blocks"]:
        for row in block["production"]["rows"]:
            cells_row = cells[(block["unit"]["code"], row["indicator"])]
            assert cells_row[3].value == row["name_vi"]
            for key, header in names.items():
                cell = cells_row[column[header]]
                assert cell.value == rounded(row[key], row["decimals"]), (block["unit"]["code"], key)
                assert cell.number_format == "#,##0"
            assert cells_row[column["% KH tháng"]].value == row["month_pct"]
            count += 1
    assert sheet.max_row == count + 1
    assert "toàn Tập đoàn sản xuất" in book["Tóm tắt"]["B5"].value
    directives = [[c.value for c in r] for r in book["Kết luận, chỉ đạo"].iter_rows(min_row=2)]
    assert [
        "Quá hạn",
        pack["directives"]["overdue"][0]["number"],
        "Khắc phục sự cố băng tải lò chợ B",
    ] == directives[0][:3]
    assert book["Kết luận, chỉ đạo"].freeze_panes == "A2"


def test_pdf_and_xlsx_agree_with_each_other_to_the_unit(pack, tmp_path):
    text = _pdf_text(pack_pdf(pack, "vi"), tmp_path)
    sheet = load_workbook(io.BytesIO(pack_xlsx(pack)))["Sản xuất"]
    for r in sheet.iter_rows(min_row=2, values_only=True):
        month_actual, decimals = r[5], 0
        assert format_number(month_actual, decimals) in text
