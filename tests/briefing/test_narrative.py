"""The summary paragraph: Vietnamese and English sentences drafted from a hand-made pack, with Vietnamese
number formatting (nghìn / triệu / tỷ, comma decimals, dot thousands) and no plural-dependent wording."""

from __future__ import annotations

import copy

import pytest

from headframe.briefing.pack.narrative import (
    amount_en,
    amount_vi,
    narrative_draft,
    narrative_of,
    pct_en,
    pct_vi,
)


def row(code, vi, en, uom, month, month_pct, ytd=None, year_pct=None, change=None):
    return {
        "indicator": code,
        "name_vi": vi,
        "name_en": en,
        "uom": uom,
        "decimals": 0,
        "additive": True,
        "month_actual": month,
        "month_pct": month_pct,
        "ytd_actual": ytd,
        "year_pct": year_pct,
        "ytd_change_pct": change,
    }


def unit(code, vi, en, kind="company"):
    return {"code": code, "name_vi": vi, "name_en": en, "kind": kind, "path": f"/G/{code}/"}


def pack(end="2026-10-31", **overrides) -> dict:
    group = unit("G", "Tập đoàn", "Group", "group")
    block = {
        "unit": group,
        "production": {
            "rows": [
                row(
                    "raw_coal_t",
                    "Than nguyên khai",
                    "Raw coal produced",
                    "t",
                    3_031_250,
                    101.2,
                    32_784_000,
                    81.4,
                    2.44,
                ),
                row("coal_sold_t", "Than tiêu thụ", "Coal sold", "t", 4_120_400, 98.4),
                row("roadway_m", "Mét lò đào", "Roadway development", "m", 21_350, 97.0),
                row("revenue_vnd", "Doanh thu", "Revenue", "đồng", 5_930_120_000_000, 99.5),
            ],
            "children": [unit("A", "Công ty Than A", "A Coal"), unit("B", "Công ty Than B", "B Coal")],
            "ranking": [
                {
                    "indicator": "raw_coal_t",
                    "name_vi": "Than nguyên khai",
                    "name_en": "Raw coal produced",
                    "best": {**unit("A", "Công ty Than A", "A Coal"), "pct": 108.0},
                    "worst": {**unit("B", "Công ty Than B", "B Coal"), "pct": 91.25},
                }
            ],
            "early_warnings": [
                {
                    "unit": "B",
                    "unit_name_vi": "Công ty Than B",
                    "unit_name_en": "B Coal",
                    "indicator": "raw_coal_t",
                    "name_vi": "Than nguyên khai",
                    "name_en": "Raw coal produced",
                },
                {
                    "unit": "B",
                    "unit_name_vi": "Công ty Than B",
                    "unit_name_en": "B Coal",
                    "indicator": "roadway_m",
                    "name_vi": "Mét lò đào",
                    "name_en": "Roadway development",
                },
            ],
        },
        "safety": {
            "sites": [{"code": "A-M1"}],
            "alarms": 1250,
            "by_priority": {"urgent": 12, "high": 30, "medium": 800, "low": 408},
            "flood_periods": 2,
            "standing": 0,
            "incidents": {"count": 1},
        },
    }
    out = {
        "period": {"start": "2026-10-01", "end": end},
        "blocks": [block],
        "directives": {
            "available": True,
            "since": "2026-09-30",
            "overdue": [{}] * 2,
            "due": [{}] * 3,
            "done": [{}] * 5,
        },
    }
    out.update(overrides)
    return out


@pytest.mark.parametrize(
    ("value", "uom", "vi", "en"),
    [
        (3_031_250, "t", "3,03 triệu tấn", "3.03 million tonnes"),
        (32_784_000, "t", "32,78 triệu tấn", "32.78 million tonnes"),
        (850_550, "t", "850,6 nghìn tấn", "850.6 thousand tonnes"),
        (9_999, "t", "9.999 tấn", "9,999 tonnes"),
        (9_715_185, "m³", "9,72 triệu m³", "9.72 million m³"),
        (21_350, "m", "21.350 m", "21,350 m"),
        (5_930_120_000_000, "đồng", "5.930 tỷ đồng", "VND 5,930 billion"),
        (45_500_000_000, "đồng", "45,5 tỷ đồng", "VND 45.5 billion"),
        (0, "t", "0 tấn", "0 tonnes"),
    ],
)
def test_amounts_are_scaled_the_way_a_vietnamese_report_writes_them(value, uom, vi, en):
    assert amount_vi(value, uom) == vi
    assert amount_en(value, uom) == en


def test_percentages_have_one_decimal_as_the_group_publishes_them():
    # Were whole percents (101%, 81%) next to tables showing 101,2 and 81,4 (issue 12, defect 8).
    assert pct_vi(101.2) == "101,2%"
    assert pct_vi(80.45) == "80,5%"  # half up, as planners round
    assert pct_vi(99.6) == "99,6%"
    assert pct_en(99.6) == "99.6%"
    assert pct_vi(100) == "100,0%"


def test_vietnamese_paragraph_from_hand_made_figures():
    text = narrative_draft(pack())["vi"]
    assert text == (
        "Tháng 10/2026, toàn Tập đoàn sản xuất 3,03 triệu tấn than nguyên khai, đạt 101,2% kế hoạch tháng; "
        "lũy kế 10 tháng 32,78 triệu tấn, đạt 81,4% kế hoạch năm, tăng 2,4% so với cùng kỳ năm trước. "
        "Các chỉ tiêu khác trong tháng (so với kế hoạch tháng): than tiêu thụ 4,12 triệu tấn (98,4%); "
        "mét lò đào 21.350 m (97,0%); doanh thu 5.930 tỷ đồng (99,5%). "
        "Theo tiến độ kế hoạch tháng, dẫn đầu về than nguyên khai là Công ty Than A (108,0%), "
        "thấp nhất là Công ty Than B (91,3%). "
        "Cảnh báo sớm nguy cơ không hoàn thành kế hoạch năm: Công ty Than B (than nguyên khai, mét lò đào). "
        "Về an toàn, hệ thống quan trắc khí ghi nhận 1.250 cảnh báo trong kỳ (12 khẩn cấp, 30 mức cao); "
        "2 lần cảnh báo dồn dập; 1 sự cố. "
        "Kết luận, chỉ đạo: 2 quá hạn, 3 đang đến hạn, 5 hoàn thành từ kỳ giao ban trước."
    )


def test_english_paragraph_from_the_same_figures():
    text = narrative_draft(pack())["en"]
    assert text == (
        "In October 2026 the group produced 3.03 million tonnes of raw coal, 101.2% of the month's plan; "
        "year to date (January–October) 32.78 million tonnes, 81.4% of the year's plan, "
        "up 2.4% on the same period last year. "
        "Other figures for the month (against the month's plan): coal sold 4.12 million tonnes (98.4%); "
        "roadway development 21,350 m (97.0%); revenue VND 5,930 billion (99.5%). "
        "Against the month's plan to date, A Coal leads on raw coal (108.0%) and B Coal trails (91.3%). "
        "Early warning, at risk of missing the year's plan: B Coal (raw coal, roadway). "
        "Safety: 1,250 gas-monitoring alarms in the period (12 urgent, 30 high); 2 alarm floods; 1 incident. "
        "Directives: 2 overdue, 3 due, 5 done since the last briefing."
    )


def test_a_period_ending_mid_month_says_so_and_counts_the_year_from_its_start():
    p = pack(end="2026-10-15")
    text = narrative_draft(p)
    assert text["vi"].startswith(
        "Tháng 10 (đến ngày 15/10), toàn Tập đoàn sản xuất 3,03 triệu tấn than nguyên khai, "
        "đạt 101,2% kế hoạch tháng; lũy kế từ đầu năm 32,78 triệu tấn,"
    )
    assert text["en"].startswith("In October (to 15/10) the group produced 3.03 million tonnes of raw coal")
    assert "year to date 32.78 million tonnes" in text["en"]


def test_a_company_is_named_and_a_fall_is_a_fall():
    p = pack()
    block = p["blocks"][0]
    block["unit"] = unit("A", "Công ty Than A", "A Coal")
    block["production"]["rows"][0]["ytd_change_pct"] = -1.25
    text = narrative_draft(p)
    assert text["vi"].startswith("Tháng 10/2026, Công ty Than A sản xuất")
    assert "giảm 1,3% so với cùng kỳ năm trước" in text["vi"]
    assert "down 1.3% on the same period last year" in text["en"]


def test_without_warnings_or_alarms_the_paragraph_says_so():
    p = pack()
    block = p["blocks"][0]
    block["production"]["early_warnings"] = []
    block["safety"] = {"sites": [{"code": "A-M1"}], "alarms": 0, "by_priority": {}, "flood_periods": 0}
    text = narrative_draft(p)
    assert "Không có đơn vị nào có nguy cơ không hoàn thành kế hoạch năm." in text["vi"]
    assert "Về an toàn, hệ thống quan trắc khí không ghi nhận cảnh báo nào trong kỳ." in text["vi"]
    assert "Safety: no gas-monitoring alarm in the period." in text["en"]


def test_more_than_three_units_at_risk_are_counted_not_listed():
    p = pack()
    warnings = p["blocks"][0]["production"]["early_warnings"]
    template = warnings[0]
    warnings[:] = [
        # not "G": that is the group's own code, which the sentence names first (pack v2)
        {**template, "unit": c, "unit_name_vi": f"Công ty {c}", "unit_name_en": f"{c} Co"}
        for c in "CDEFH"
    ]
    text = narrative_draft(p)
    assert (
        "Công ty C (than nguyên khai), Công ty D (than nguyên khai), Công ty E (than nguyên khai) và 2 đơn vị khác."
        in text["vi"]
    )
    assert "; other units: 2." in text["en"]


def test_missing_sections_leave_no_empty_sentences():
    p = pack(directives={"available": False})
    block = p["blocks"][0]
    block["production"]["children"] = []
    block["production"]["ranking"] = []
    block["production"]["rows"] = block["production"]["rows"][:1]
    block["safety"] = {}
    text = narrative_draft(p)
    assert text["vi"] == (
        "Tháng 10/2026, toàn Tập đoàn sản xuất 3,03 triệu tấn than nguyên khai, đạt 101,2% kế hoạch tháng; "
        "lũy kế 10 tháng 32,78 triệu tấn, đạt 81,4% kế hoạch năm, tăng 2,4% so với cùng kỳ năm trước."
    )


def test_the_chairs_edit_is_shown_instead_of_the_draft():
    p = pack()
    p["narrative"] = narrative_draft(p)
    edited = copy.deepcopy(p)
    edited["narrative_edited"] = {"vi": "Bản đã sửa.", "en": ""}
    assert narrative_of(edited, "vi") == "Bản đã sửa."
    assert narrative_of(edited, "en") == p["narrative"]["en"]  # no English edit: the English draft
    assert narrative_of(p, "vi") == p["narrative"]["vi"]
