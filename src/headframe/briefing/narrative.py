"""The briefing's summary paragraph, drafted from the pack by templates, in Vietnamese and English.

"Tháng 10, toàn Tập đoàn sản xuất 3,03 triệu tấn than nguyên khai, đạt 101% kế hoạch tháng; lũy kế 10 tháng
32,78 triệu tấn, đạt 81% kế hoạch năm…" — every figure is read from the pack (which holds the production
selectors' figures), scaled the way a Vietnamese report writes it (nghìn / triệu / tỷ, comma decimals, dot
thousands), and counts are written "label: number" so no sentence depends on a plural. No external service.
The chair edits the draft before closing; the edited text is stored on the meeting, the draft never is.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from headframe.core.formatting import format_number

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
UOM_VI = {"t": "tấn", "đồng": "đồng", "công": "công"}
UOM_EN = {"t": "tonnes", "công": "man-shifts"}
EARLY_WARNINGS_LISTED = 3  # units named; the rest are counted
# Indicator names as nouns in an English sentence ("produced … of raw coal"), where the catalogue's English
# name reads as a heading ("Raw coal produced"). Indicators not listed use their lower-cased name.
NOUN_EN = {"raw_coal_t": "raw coal", "coal_sold_t": "coal sold", "roadway_m": "roadway"}


def _en(value, decimals: int) -> str:
    return format_number(value, decimals, thousands=",", decimal_sep=".")


def _vi(value, decimals: int) -> str:
    return format_number(value, decimals)


def _d(value) -> Decimal:
    return Decimal(str(value))


def _scaled(value, uom: str) -> tuple[Decimal, int, int]:
    """(scaled value, power of ten, decimals): 3 030 000 t → (3.03, 6, 2); money in billions (tỷ)."""
    v = abs(_d(value))
    if uom == "đồng":
        if v >= Decimal(10) ** 9:
            scaled = _d(value) / Decimal(10) ** 9
            return scaled, 9, 0 if abs(scaled) >= 100 else (1 if abs(scaled) >= 10 else 2)
        if v >= Decimal(10) ** 6:
            return _d(value) / Decimal(10) ** 6, 6, 0
        return _d(value), 0, 0
    if uom == "m" or uom not in ("t", "m³"):
        return _d(value), 0, 0
    if v >= Decimal(10) ** 6:
        return _d(value) / Decimal(10) ** 6, 6, 2
    if v >= Decimal(10) ** 4:
        return _d(value) / Decimal(10) ** 3, 3, 1
    return _d(value), 0, 0


def amount_vi(value, uom: str) -> str:
    """3030000, "t" → "3,03 triệu tấn"; 850500 → "850,5 nghìn tấn"; 5.93e12 đồng → "5.930 tỷ đồng"."""
    scaled, power, decimals = _scaled(value, uom)
    word = {9: " tỷ", 6: " triệu", 3: " nghìn", 0: ""}[power]
    return f"{_vi(scaled, decimals)}{word} {UOM_VI.get(uom, uom)}"


def amount_en(value, uom: str) -> str:
    """3030000, "t" → "3.03 million tonnes"; money as "VND 5,930 billion"."""
    scaled, power, decimals = _scaled(value, uom)
    word = {9: " billion", 6: " million", 3: " thousand", 0: ""}[power]
    if uom == "đồng":
        return f"VND {_en(scaled, decimals)}{word}"
    return f"{_en(scaled, decimals)}{word} {UOM_EN.get(uom, uom)}"


def _pct_decimals(pct) -> int:
    """Whole percents, unless rounding would make a shortfall read as 100 %."""
    p = _d(pct)
    whole = p.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return 1 if whole == 100 and p != 100 else 0


def pct_vi(pct) -> str:
    return f"{_vi(pct, _pct_decimals(pct))}%"


def pct_en(pct) -> str:
    return f"{_en(pct, _pct_decimals(pct))}%"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).month != day.month


def _period_vi(end: dt.date) -> str:
    if _is_month_end(end):
        return f"Tháng {end.month}"
    return f"Tháng {end.month} (đến ngày {end:%d/%m})"


def _period_en(end: dt.date) -> str:
    if _is_month_end(end):
        return f"In {MONTHS_EN[end.month - 1]}"
    return f"In {MONTHS_EN[end.month - 1]} (to {end:%d/%m})"


def _change_vi(change) -> str:
    if change is None:
        return ""
    c = _d(change)
    if c.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) == 0:
        return ", bằng cùng kỳ năm trước"
    return f", {'tăng' if c > 0 else 'giảm'} {_vi(abs(c), 1)}% so với cùng kỳ năm trước"


def _change_en(change) -> str:
    if change is None:
        return ""
    c = _d(change)
    if c.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) == 0:
        return ", level with the same period last year"
    return f", {'up' if c > 0 else 'down'} {_en(abs(c), 1)}% on the same period last year"


def _subject_vi(unit: dict) -> str:
    return "toàn Tập đoàn" if unit["kind"] == "group" else unit["name_vi"]


def _subject_en(unit: dict) -> str:
    return "the group" if unit["kind"] == "group" else unit["name_en"]


def noun_en(row: dict) -> str:
    return NOUN_EN.get(row["indicator"], _lower_first(row["name_en"]))


def _lead(rows: list[dict]) -> dict | None:
    from headframe.briefing.pack import LEAD_INDICATOR

    with_figures = [r for r in rows if r["additive"] and r["month_actual"] is not None]
    return next((r for r in with_figures if r["indicator"] == LEAD_INDICATOR), None) or (
        with_figures[0] if with_figures else None
    )


def lead_sentence(block: dict, end: dt.date) -> dict[str, str]:
    """The month and the year to date of the lead indicator (raw coal), against the month's and year's plan."""
    rows = block["production"]["rows"]
    lead = _lead(rows)
    if lead is None:
        return {}
    unit, uom = block["unit"], lead["uom"]
    what_vi = _lower_first(lead["name_vi"])
    what_en = noun_en(lead)
    vi = f"{_period_vi(end)}, {_subject_vi(unit)} sản xuất {amount_vi(lead['month_actual'], uom)} {what_vi}"
    en = f"{_period_en(end)} {_subject_en(unit)} produced {amount_en(lead['month_actual'], uom)} of {what_en}"
    if lead["month_pct"] is not None:
        vi += f", đạt {pct_vi(lead['month_pct'])} kế hoạch tháng"
        en += f", {pct_en(lead['month_pct'])} of the month's plan"
    if lead["ytd_actual"] is not None:
        months_vi = f"{end.month} tháng" if _is_month_end(end) else "từ đầu năm"
        months_en = f" (January–{MONTHS_EN[end.month - 1]})" if _is_month_end(end) and end.month > 1 else ""
        vi += f"; lũy kế {months_vi} {_scaled_like(lead['ytd_actual'], uom, 'vi')}"
        en += f"; year to date{months_en} {_scaled_like(lead['ytd_actual'], uom, 'en')}"
        if lead["year_pct"] is not None:
            vi += f", đạt {pct_vi(lead['year_pct'])} kế hoạch năm"
            en += f", {pct_en(lead['year_pct'])} of the year's plan"
        vi += _change_vi(lead["ytd_change_pct"])
        en += _change_en(lead["ytd_change_pct"])
    return {"vi": vi + ".", "en": en + "."}


def _scaled_like(value, uom: str, language: str) -> str:
    return amount_vi(value, uom) if language == "vi" else amount_en(value, uom)


def others_sentence(block: dict) -> dict[str, str]:
    rows = block["production"]["rows"]
    lead = _lead(rows)
    others = [
        r for r in rows if r is not lead and r["additive"] and r["month_actual"] is not None and r["uom"]
    ]
    if not others:
        return {}
    parts_vi, parts_en = [], []
    for r in others:
        vi = f"{_lower_first(r['name_vi'])} {amount_vi(r['month_actual'], r['uom'])}"
        en = f"{_lower_first(r['name_en'])} {amount_en(r['month_actual'], r['uom'])}"
        if r["month_pct"] is not None:
            vi += f" ({pct_vi(r['month_pct'])})"
            en += f" ({pct_en(r['month_pct'])})"
        parts_vi.append(vi)
        parts_en.append(en)
    return {
        "vi": "Các chỉ tiêu khác trong tháng (so với kế hoạch tháng): " + "; ".join(parts_vi) + ".",
        "en": "Other figures for the month (against the month's plan): " + "; ".join(parts_en) + ".",
    }


def ranking_sentence(block: dict) -> dict[str, str]:
    from headframe.briefing.pack import LEAD_INDICATOR

    ranking = block["production"]["ranking"]
    entry = next((r for r in ranking if r["indicator"] == LEAD_INDICATOR), ranking[0] if ranking else None)
    if entry is None:
        return {}
    best, worst = entry["best"], entry["worst"]
    return {
        "vi": (
            f"Theo tiến độ kế hoạch tháng, dẫn đầu về {_lower_first(entry['name_vi'])} là {best['name_vi']} "
            f"({pct_vi(best['pct'])}), thấp nhất là {worst['name_vi']} ({pct_vi(worst['pct'])})."
        ),
        "en": (
            f"Against the month's plan to date, {best['name_en']} leads on {noun_en(entry)} "
            f"({pct_en(best['pct'])}) and {worst['name_en']} trails ({pct_en(worst['pct'])})."
        ),
    }


def warnings_sentence(block: dict) -> dict[str, str]:
    warnings = block["production"]["early_warnings"]
    if not block["production"]["children"]:
        return {}
    if not warnings:
        return {
            "vi": "Không có đơn vị nào có nguy cơ không hoàn thành kế hoạch năm.",
            "en": "No unit is at risk of missing the year's plan at its best recent pace.",
        }
    by_unit: dict[str, list[dict]] = {}
    for w in warnings:  # worst first: a unit is listed where its worst warning ranks
        by_unit.setdefault(w["unit"], []).append(w)
    listed = list(by_unit.values())[:EARLY_WARNINGS_LISTED]
    vi = ", ".join(
        f"{ws[0]['unit_name_vi']} ({', '.join(_lower_first(w['name_vi']) for w in ws)})" for ws in listed
    )
    en = ", ".join(f"{ws[0]['unit_name_en']} ({', '.join(noun_en(w) for w in ws)})" for ws in listed)
    rest = len(by_unit) - len(listed)
    if rest:
        vi += f" và {rest} đơn vị khác"
        en += f"; other units: {rest}"
    return {
        "vi": f"Cảnh báo sớm nguy cơ không hoàn thành kế hoạch năm: {vi}.",
        "en": f"Early warning, at risk of missing the year's plan: {en}.",
    }


def safety_sentence(block: dict) -> dict[str, str]:
    safety = block.get("safety") or {}
    parts_vi, parts_en = [], []
    if safety.get("sites") and not safety["alarms"]:
        parts_vi.append("hệ thống quan trắc khí không ghi nhận cảnh báo nào trong kỳ")
        parts_en.append("no gas-monitoring alarm in the period")
    elif safety.get("sites"):
        by = safety["by_priority"]
        parts_vi.append(
            f"hệ thống quan trắc khí ghi nhận {_vi(safety['alarms'], 0)} cảnh báo trong kỳ "
            f"(khẩn cấp: {_vi(by['urgent'], 0)}, cao: {_vi(by['high'], 0)})"
        )
        parts_en.append(
            f"gas-monitoring alarms in the period: {_en(safety['alarms'], 0)} "
            f"(urgent: {_en(by['urgent'], 0)}, high: {_en(by['high'], 0)})"
        )
        if safety["flood_periods"]:
            parts_vi.append(f"số lần cảnh báo dồn dập: {_vi(safety['flood_periods'], 0)}")
            parts_en.append(f"alarm floods: {_en(safety['flood_periods'], 0)}")
    if safety.get("out_of_service"):
        n = len(safety["out_of_service"])
        parts_vi.append(f"{_vi(n, 0)} cảm biến đang ngừng hoạt động (không được giám sát)")
        parts_en.append(f"sensors out of service (not monitored): {_en(n, 0)}")
    for key, vi, en in (
        ("incidents", "sự cố", "incidents"),
        ("open_critical", "tồn tại nghiêm trọng chưa khắc phục", "open critical findings"),
        ("overdue", "tồn tại quá hạn khắc phục", "overdue findings"),
    ):
        if key in safety:
            count = safety[key]["count"]
            parts_vi.append(f"{vi}: {_vi(count, 0)}")
            parts_en.append(f"{en}: {_en(count, 0)}")
    if not parts_vi:
        return {}
    return {"vi": "Về an toàn, " + "; ".join(parts_vi) + ".", "en": "Safety: " + "; ".join(parts_en) + "."}


def directives_sentence(pack: dict) -> dict[str, str]:
    directives = pack.get("directives") or {}
    if not directives.get("available"):
        return {}
    overdue, due, done = (len(directives.get(k, [])) for k in ("overdue", "due", "done"))
    if not (overdue or due or done):
        return {}
    since_vi = "hoàn thành từ kỳ giao ban trước" if directives.get("since") else "đã hoàn thành"
    since_en = "done since the last briefing" if directives.get("since") else "done"
    return {
        "vi": f"Kết luận, chỉ đạo: quá hạn {overdue}, đang đến hạn {due}, {since_vi} {done}.",
        "en": f"Directives: overdue {overdue}, due {due}, {since_en} {done}.",
    }


def narrative_draft(pack: dict) -> dict[str, str]:
    """{"vi": paragraph, "en": paragraph} from the pack's first block (its unit) and its directives."""
    if not pack.get("blocks"):
        return {"vi": "", "en": ""}
    block = pack["blocks"][0]
    end = dt.date.fromisoformat(pack["period"]["end"])
    sentences = [
        lead_sentence(block, end),
        others_sentence(block),
        ranking_sentence(block),
        warnings_sentence(block),
        safety_sentence(block),
        directives_sentence(pack),
    ]
    return {
        language: " ".join(s[language] for s in sentences if s.get(language)) for language in ("vi", "en")
    }


def narrative_of(pack: dict, language: str) -> str:
    """The text to show: the chair's edit when there is one, else the draft."""
    language = "en" if language.startswith("en") else "vi"
    edited = (pack.get("narrative_edited") or {}).get(language, "")
    if edited.strip():
        return edited
    return (pack.get("narrative") or {}).get(language, "")
