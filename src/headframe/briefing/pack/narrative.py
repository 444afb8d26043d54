"""The briefing's summary paragraph, drafted from the pack by templates, in Vietnamese and English.

"Quý I/2021, toàn Tập đoàn sản xuất 9,12 triệu tấn than nguyên khai, đạt 101,3% kế hoạch quý và 25,4% kế
hoạch năm…" — the paragraph names the meeting's own period (a quarter, an ISO week, a month, a year, a month
to date, or from one day to another: `period_name`) and reports the period against its plan, the month when
that helps, then the year to date against the YEAR plan. Every figure is read from the pack (which holds the
production selectors' figures); percentages are written with one decimal, as the group publishes them and as
the tables show them, so the text and the tables agree to 0,1. Amounts are scaled the way a Vietnamese
report writes them (nghìn / triệu / tỷ, comma decimals, dot thousands); counts read as a person writes them
("không có sự cố", "2 sự cố (1 nghiêm trọng)"). No external service. The chair edits the draft before
closing; the edited text is stored on the meeting, the draft never is.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from headframe.briefing.extensions import pack_sections
from headframe.briefing.pack.common import LEAD_INDICATOR
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
QUARTERS_VI = ("I", "II", "III", "IV")
UOM_VI = {"t": "tấn", "đồng": "đồng", "công": "công"}
UOM_EN = {"t": "tonnes", "công": "man-shifts"}
EARLY_WARNINGS_LISTED = 3  # units named; the rest are counted
# Indicator names as nouns in an English sentence ("produced … of raw coal"), where the catalogue's English
# name reads as a heading ("Raw coal produced"). Indicators not listed use their lower-cased name.
NOUN_EN = {"raw_coal_t": "raw coal", "coal_sold_t": "coal sold", "roadway_m": "roadway"}
# The plan of a period, by the period's kind (see period_kind).
PLAN_OF_VI = {
    "quarter": "kế hoạch quý",
    "week": "kế hoạch tuần",
    "month": "kế hoạch tháng",
    "month_to_date": "kế hoạch tháng",
    "year": "kế hoạch năm",
    "range": "kế hoạch kỳ",
}
PLAN_OF_EN = {
    "quarter": "the quarter's plan",
    "week": "the week's plan",
    "month": "the month's plan",
    "month_to_date": "the month's plan",
    "year": "the year's plan",
    "range": "the period's plan",
}
IN_VI = {"quarter": "quý", "week": "tuần", "month": "tháng", "month_to_date": "tháng", "year": "năm"}
IN_EN = {"quarter": "quarter", "week": "week", "month": "month", "month_to_date": "month", "year": "year"}


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


def pct_vi(pct) -> str:
    """One decimal, as the group publishes and the tables show: 25.4 → "25,4%", 100 → "100,0%"."""
    return f"{_vi(pct, 1)}%"


def pct_en(pct) -> str:
    return f"{_en(pct, 1)}%"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).month != day.month


# ---------------------------------------------------------------- the period


def period_kind(start: dt.date, end: dt.date) -> str:
    """What a period is: "year", "quarter", "month" (whole calendar ones), "week" (an ISO week, Monday to
    Sunday), "month_to_date" (from the first of end's month to a day before its end), or "range"."""
    if start.day == 1 and _is_month_end(end) and start.year == end.year:
        if start.month == 1 and end.month == 12:
            return "year"
        if start.month == end.month:
            return "month"
        if start.month in (1, 4, 7, 10) and end.month == start.month + 2:
            return "quarter"
    if start.weekday() == 0 and end - start == dt.timedelta(days=6):
        return "week"
    if start == end.replace(day=1):
        return "month_to_date"
    return "range"


def shows_period(start: dt.date, end: dt.date) -> bool:
    """Whether the pack shows its period apart from the month: not when the period simply is the month (or
    the month to date) of its last day, whose figures the month columns already hold."""
    return period_kind(start, end) not in ("month", "month_to_date")


def month_name(end: dt.date, language: str, *, with_year: bool = True) -> str:
    """The month of `end`, whole or to date: "Tháng 3/2021", "Tháng 3 (đến ngày 15/03)"; "March 2021"."""
    if language == "en":
        name = MONTHS_EN[end.month - 1]
        if _is_month_end(end):
            return f"{name} {end.year}" if with_year else name
        return f"{name} (to {end:%d/%m})"
    if _is_month_end(end):
        return f"Tháng {end.month}/{end.year}" if with_year else f"Tháng {end.month}"
    return f"Tháng {end.month} (đến ngày {end:%d/%m})"


def period_name(start: dt.date, end: dt.date, language: str = "vi") -> str:
    """The period as a report names it: "Quý I/2021" / "Q1 2021", "Tuần 49" / "Week 49" (with the year when
    the week spans two), "Tháng 3/2021" / "March 2021", "Năm 2021" / "2021", "Tháng 3 (đến ngày 15/03)" /
    "March (to 15/03)", else "Từ 01/01 đến 15/02/2021" / "From 01/01 to 15/02/2021"."""
    en = language.startswith("en")
    kind = period_kind(start, end)
    if kind == "year":
        return str(end.year) if en else f"Năm {end.year}"
    if kind == "quarter":
        q = (start.month - 1) // 3
        return f"Q{q + 1} {end.year}" if en else f"Quý {QUARTERS_VI[q]}/{end.year}"
    if kind in ("month", "month_to_date"):
        return month_name(end, "en" if en else "vi")
    if kind == "week":
        iso_year, week, _day = start.isocalendar()
        if start.year != end.year:
            return f"Week {week} of {iso_year}" if en else f"Tuần {week}/{iso_year}"
        return f"Week {week}" if en else f"Tuần {week}"
    first = f"{start:%d/%m}" if start.year == end.year else f"{start:%d/%m/%Y}"
    return f"From {first} to {end:%d/%m/%Y}" if en else f"Từ {first} đến {end:%d/%m/%Y}"


def _in_period_en(start: dt.date, end: dt.date) -> str:
    """ "In Q1 2021", "In week 49", "From 01/01 to 15/02/2021" — the head of an English sentence."""
    name = period_name(start, end, "en")
    if name.startswith("From"):
        return name
    return "In " + (_lower_first(name) if name.startswith("Week") else name)


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
    with_figures = [
        r
        for r in rows
        if r["additive"] and (r["month_actual"] is not None or r.get("period_actual") is not None)
    ]
    return next((r for r in with_figures if r["indicator"] == LEAD_INDICATOR), None) or (
        with_figures[0] if with_figures else None
    )


def _uses_period(rows: list[dict], start: dt.date, end: dt.date) -> bool:
    """Whether sentences speak of the period itself: when it is not just the month (to date) of its end, and
    the pack holds period figures (a version 1 pack has none: it speaks of the month)."""
    return shows_period(start, end) and any(r.get("period_actual") is not None for r in rows)


def _months_vi(end: dt.date) -> str:
    return f"{end.month} tháng" if _is_month_end(end) else "từ đầu năm"


def _months_en(end: dt.date) -> str:
    return f" (January–{MONTHS_EN[end.month - 1]})" if _is_month_end(end) else ""


def lead_sentence(block: dict, start: dt.date, end: dt.date) -> dict[str, str]:
    """The lead indicator (raw coal): the period against its plan ("đạt 101,3% kế hoạch quý"), the month when
    the period is not the month, then the year to date against the year's plan ("đạt 25,4% kế hoạch năm").
    A figure already said is not said again: a quarter from 1 January is also the year to date, so its
    sentence reads "… kế hoạch quý và 25,4% kế hoạch năm"; so does January in a January pack."""
    rows = block["production"]["rows"]
    lead = _lead(rows)
    if lead is None:
        return {}
    unit, uom = block["unit"], lead["uom"]
    month_first, jan_first = end.replace(day=1), dt.date(end.year, 1, 1)
    if _uses_period(rows, start, end):
        kind = period_kind(start, end)
        head_vi, head_en = period_name(start, end, "vi"), _in_period_en(start, end)
        amount, pct, since = lead.get("period_actual"), lead.get("period_pct"), start
    else:
        kind = "month" if _is_month_end(end) else "month_to_date"
        head_vi, head_en = month_name(end, "vi"), "In " + month_name(end, "en")
        amount, pct, since = lead["month_actual"], lead["month_pct"], month_first
    if amount is None:
        return {}
    main = {
        "vi": f"{head_vi}, {_subject_vi(unit)} sản xuất {amount_vi(amount, uom)} {_lower_first(lead['name_vi'])}",
        "en": f"{head_en} {_subject_en(unit)} produced {amount_en(amount, uom)} of {noun_en(lead)}",
        "since": since,
        "pct": pct is not None,
    }
    if pct is not None:
        main["vi"] += f", đạt {pct_vi(pct)} {PLAN_OF_VI[kind]}"
        main["en"] += f", {pct_en(pct)} of {PLAN_OF_EN[kind]}"
    clauses = [main]
    if kind != "year" and since != month_first and lead["month_actual"] is not None:
        month_vi = _lower_first(month_name(end, "vi", with_year=False))
        month_en = month_name(end, "en", with_year=False)
        if since > month_first:  # a week or a stretch inside the month: the month to date as well
            vi, en = f"; lũy kế {month_vi.split(' (')[0]} đạt", f"; {month_en.split(' (')[0]} to date:"
        else:  # a quarter or a stretch over several months: its last month
            vi, en = f"; riêng {month_vi} đạt", f"; {month_en} alone:"
        month = {
            "vi": f"{vi} {amount_vi(lead['month_actual'], uom)}",
            "en": f"{en} {amount_en(lead['month_actual'], uom)}",
            "since": month_first,
            "pct": lead["month_pct"] is not None,
        }
        if lead["month_pct"] is not None:
            month["vi"] += f", {pct_vi(lead['month_pct'])} kế hoạch tháng"
            month["en"] += f", {pct_en(lead['month_pct'])} of the month's plan"
        clauses.append(month)
    change_vi, change_en = _change_vi(lead.get("ytd_change_pct")), _change_en(lead.get("ytd_change_pct"))
    year_pct = lead.get("year_pct")
    said = next((c for c in clauses if c["since"] == jan_first), None)
    if kind == "year":
        main["vi"] += change_vi
        main["en"] += change_en
    elif said is not None:  # what was said is the year to date: its share of the year's plan goes with it
        if year_pct is not None:
            said["vi"] += (" và " if said["pct"] else ", đạt ") + f"{pct_vi(year_pct)} kế hoạch năm"
            said["en"] += (" and " if said["pct"] else ", ") + f"{pct_en(year_pct)} of the year's plan"
        said["vi"] += change_vi
        said["en"] += change_en
    elif lead.get("ytd_actual") is not None:
        ytd = {
            "vi": f"; lũy kế {_months_vi(end)} {amount_vi(lead['ytd_actual'], uom)}",
            "en": f"; year to date{_months_en(end)} {amount_en(lead['ytd_actual'], uom)}",
        }
        if year_pct is not None:
            ytd["vi"] += f", đạt {pct_vi(year_pct)} kế hoạch năm"
            ytd["en"] += f", {pct_en(year_pct)} of the year's plan"
        clauses.append({"vi": ytd["vi"] + change_vi, "en": ytd["en"] + change_en})
    return {language: "".join(c[language] for c in clauses) + "." for language in ("vi", "en")}


def others_sentence(block: dict, start: dt.date, end: dt.date) -> dict[str, str]:
    """The other additive indicators of the period (or the month) against its plan."""
    rows = block["production"]["rows"]
    lead = _lead(rows)
    by_period = _uses_period(rows, start, end)
    kind = period_kind(start, end) if by_period else "month"
    actual_key, pct_key = ("period_actual", "period_pct") if by_period else ("month_actual", "month_pct")
    others = [
        r for r in rows if r is not lead and r["additive"] and r.get(actual_key) is not None and r["uom"]
    ]
    if not others:
        return {}
    parts_vi, parts_en = [], []
    for r in others:
        vi = f"{_lower_first(r['name_vi'])} {amount_vi(r[actual_key], r['uom'])}"
        en = f"{_lower_first(r['name_en'])} {amount_en(r[actual_key], r['uom'])}"
        if r.get(pct_key) is not None:
            vi += f" ({pct_vi(r[pct_key])})"
            en += f" ({pct_en(r[pct_key])})"
        parts_vi.append(vi)
        parts_en.append(en)
    within_vi = f"trong {IN_VI[kind]}" if kind in IN_VI else "trong kỳ"
    within_en = f"for the {IN_EN[kind]}" if kind in IN_EN else "for the period"
    return {
        "vi": f"Các chỉ tiêu khác {within_vi} (so với {PLAN_OF_VI[kind]}): " + "; ".join(parts_vi) + ".",
        "en": f"Other figures {within_en} (against {PLAN_OF_EN[kind]}): " + "; ".join(parts_en) + ".",
    }


def ranking_sentence(block: dict, start: dt.date, end: dt.date) -> dict[str, str]:
    ranking = block["production"]["ranking"]
    entry = next((r for r in ranking if r["indicator"] == LEAD_INDICATOR), ranking[0] if ranking else None)
    if entry is None:
        return {}
    best, worst = entry["best"], entry["worst"]
    if entry.get("basis") == "period":
        kind = period_kind(start, end)
        against_vi, against_en = f"So với {PLAN_OF_VI[kind]}", f"Against {PLAN_OF_EN[kind]}"
    else:
        against_vi, against_en = "Theo tiến độ kế hoạch tháng", "Against the month's plan to date"
    return {
        "vi": (
            f"{against_vi}, dẫn đầu về {_lower_first(entry['name_vi'])} là {best['name_vi']} "
            f"({pct_vi(best['pct'])}), thấp nhất là {worst['name_vi']} ({pct_vi(worst['pct'])})."
        ),
        "en": (
            f"{against_en}, {best['name_en']} leads on {noun_en(entry)} "
            f"({pct_en(best['pct'])}) and {worst['name_en']} trails ({pct_en(worst['pct'])})."
        ),
    }


def warnings_sentence(block: dict) -> dict[str, str]:
    """Units that will miss the year at their best recent pace: the block's own unit (the group, the
    company) first and by its name, then the units below it."""
    unit = block["unit"]
    warnings = block["production"]["early_warnings"]
    if not block["production"]["children"]:  # nothing below it: only the unit itself is spoken of
        warnings = [w for w in warnings if w["unit"] == unit["code"]]
        if not warnings:
            return {}
    if not warnings:
        return {
            "vi": "Không có đơn vị nào có nguy cơ không hoàn thành kế hoạch năm.",
            "en": "No unit is at risk of missing the year's plan at its best recent pace.",
        }
    own = [w for w in warnings if w["unit"] == unit["code"]]
    by_unit: dict[str, list[dict]] = {}
    for w in warnings:  # worst first: a unit is listed where its worst warning ranks
        if w["unit"] != unit["code"]:
            by_unit.setdefault(w["unit"], []).append(w)
    listed = list(by_unit.values())[:EARLY_WARNINGS_LISTED]
    items_vi = [
        f"{ws[0]['unit_name_vi']} ({', '.join(_lower_first(w['name_vi']) for w in ws)})" for ws in listed
    ]
    items_en = [f"{ws[0]['unit_name_en']} ({', '.join(noun_en(w) for w in ws)})" for ws in listed]
    if own:
        items_vi.insert(0, f"{_subject_vi(unit)} ({', '.join(_lower_first(w['name_vi']) for w in own)})")
        items_en.insert(0, f"{_subject_en(unit)} itself ({', '.join(noun_en(w) for w in own)})")
    vi, en = ", ".join(items_vi), ", ".join(items_en)
    rest = len(by_unit) - len(listed)
    if rest:
        vi += f" và {rest} đơn vị khác"
        en += f"; other units: {rest}"
    return {
        "vi": f"Cảnh báo sớm nguy cơ không hoàn thành kế hoạch năm: {vi}.",
        "en": f"Early warning, at risk of missing the year's plan: {en}.",
    }


def _plural_en(n: int, singular: str, plural: str | None = None) -> str:
    return f"{_en(n, 0)} {singular if n == 1 else (plural or singular + 's')}"


def _serious(incidents: dict) -> int:
    """Serious incidents (high or fatal); a version 1 pack keeps them under by.details.by_severity."""
    if "serious" in incidents:
        return incidents["serious"]
    by_severity = ((incidents.get("by") or {}).get("details") or {}).get("by_severity") or {}
    return sum(by_severity.get(s, 0) for s in ("high", "fatal"))


def safety_sentence(block: dict) -> dict[str, str]:
    safety = block.get("safety") or {}
    parts_vi, parts_en = [], []
    if safety.get("sites") and not safety["alarms"]:
        parts_vi.append("hệ thống quan trắc khí không ghi nhận cảnh báo nào trong kỳ")
        parts_en.append("no gas-monitoring alarm in the period")
    elif safety.get("sites"):
        by = safety["by_priority"]
        high_vi = [
            f"{_vi(by[p], 0)} {w}" for p, w in (("urgent", "khẩn cấp"), ("high", "mức cao")) if by.get(p)
        ]
        high_en = [f"{_en(by[p], 0)} {p}" for p in ("urgent", "high") if by.get(p)]
        vi = f"hệ thống quan trắc khí ghi nhận {_vi(safety['alarms'], 0)} cảnh báo trong kỳ"
        en = _plural_en(safety["alarms"], "gas-monitoring alarm") + " in the period"
        parts_vi.append(vi + (f" ({', '.join(high_vi)})" if high_vi else ""))
        parts_en.append(en + (f" ({', '.join(high_en)})" if high_en else ""))
        if safety["flood_periods"]:
            parts_vi.append(f"{_vi(safety['flood_periods'], 0)} lần cảnh báo dồn dập")
            parts_en.append(_plural_en(safety["flood_periods"], "alarm flood"))
    if safety.get("out_of_service"):
        n = len(safety["out_of_service"])
        parts_vi.append(f"{_vi(n, 0)} cảm biến đang ngừng hoạt động (không được giám sát)")
        parts_en.append(_plural_en(n, "sensor") + " out of service (not monitored)")
    if "incidents" in safety:
        n, serious = safety["incidents"]["count"], _serious(safety["incidents"])
        if not n:
            parts_vi.append("không có sự cố")
            parts_en.append("no incidents")
        else:
            parts_vi.append(f"{_vi(n, 0)} sự cố" + (f" ({_vi(serious, 0)} nghiêm trọng)" if serious else ""))
            parts_en.append(_plural_en(n, "incident") + (f" ({_en(serious, 0)} serious)" if serious else ""))
    if "open_critical" in safety:
        n = safety["open_critical"]["count"]
        at_end = " đến cuối kỳ" if "as_of" in safety else ""
        at_end_en = " at the end of the period" if "as_of" in safety else ""
        if not n:
            parts_vi.append(f"không có tồn tại nghiêm trọng chưa khắc phục{at_end}")
            parts_en.append(f"no critical finding open{at_end_en}")
        else:
            parts_vi.append(f"{_vi(n, 0)} tồn tại nghiêm trọng chưa khắc phục{at_end}")
            parts_en.append(_plural_en(n, "critical finding") + f" open{at_end_en}")
    closed = (safety.get("critical_opened_and_closed") or {}).get("count", 0)
    if closed:
        parts_vi.append(f"{_vi(closed, 0)} tồn tại nghiêm trọng phát sinh và đã khắc phục trong kỳ")
        parts_en.append(_plural_en(closed, "critical finding") + " raised and closed within the period")
    if "overdue" in safety:
        n = safety["overdue"]["count"]
        if not n:
            parts_vi.append("không có tồn tại quá hạn khắc phục")
            parts_en.append("no overdue findings")
        else:
            parts_vi.append(f"{_vi(n, 0)} tồn tại quá hạn khắc phục")
            parts_en.append(_plural_en(n, "overdue finding"))
    if not parts_vi:
        return {}
    return {"vi": "Về an toàn, " + "; ".join(parts_vi) + ".", "en": "Safety: " + "; ".join(parts_en) + "."}


def directives_sentence(pack: dict) -> dict[str, str]:
    directives = pack.get("directives") or {}
    overdue, due, done = (len(directives.get(k, [])) for k in ("overdue", "due", "done"))
    if not (overdue or due or done):
        return {}
    since_vi = "hoàn thành từ kỳ giao ban trước" if directives.get("since") else "đã hoàn thành"
    since_en = "done since the last briefing" if directives.get("since") else "done"
    parts_vi = [f"{overdue} quá hạn" if overdue else "không có kết luận quá hạn"]
    parts_en = [f"{overdue} overdue" if overdue else "none overdue"]
    if due:
        parts_vi.append(f"{due} đang đến hạn")
        parts_en.append(f"{due} due")
    if done:
        parts_vi.append(f"{done} {since_vi}")
        parts_en.append(f"{done} {since_en}")
    return {
        "vi": "Kết luận, chỉ đạo: " + ", ".join(parts_vi) + ".",
        "en": "Directives: " + ", ".join(parts_en) + ".",
    }


def sections_sentence(block: dict) -> dict[str, str]:
    """What each registered section (briefing.extensions) says of the block, in its order."""
    out: dict[str, list[str]] = {"vi": [], "en": []}
    for section in pack_sections():
        if section.narrative is None or section.name not in block:
            continue
        for language in ("vi", "en"):
            text = section.narrative(block, language)
            if text:
                out[language].append(text)
    return {language: " ".join(texts) for language, texts in out.items() if texts}


def narrative_draft(pack: dict) -> dict[str, str]:
    """{"vi": paragraph, "en": paragraph} from the pack's first block (its unit) and its directives."""
    if not pack.get("blocks"):
        return {"vi": "", "en": ""}
    block = pack["blocks"][0]
    start = dt.date.fromisoformat(pack["period"]["start"])
    end = dt.date.fromisoformat(pack["period"]["end"])
    sentences = [
        lead_sentence(block, start, end),
        others_sentence(block, start, end),
        ranking_sentence(block, start, end),
        warnings_sentence(block),
        safety_sentence(block),
        sections_sentence(block),
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
