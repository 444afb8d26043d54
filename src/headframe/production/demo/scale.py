"""The demo group's scale (public figures of a Vietnamese coal group, DESIGN.md §6), its seasons and
outages, and its holiday calendar (Tết and the other public holidays by year)."""

from __future__ import annotations

import datetime as dt

from headframe.production.models import LostTimeCategory

GROUP_CODE = "HFG"
BASE_YEAR = 2026  # the year the group-level figures below describe; other years grow or shrink from it
GROWTH = 1.025  # plans (and so output) grow ~2.5 % a year
# Years loaded besides the recent ones: the group's 2021 register (its key tasks and the Q1/2021 briefing in
# the briefing demo) needs 2021's plans and daily figures. 2021 is sized to the public figure: Q1/2021 raw coal
# 9,78 Mt = 25,4 % of a year plan of ~38,5 Mt (DESIGN.md §6).
REGISTER_YEARS = (2021,)
LEVEL = {2021: 0.985}  # plan level against BASE_YEAR where the public figures say so, instead of GROWTH
PACE = {(2021, 1): 1.083}  # (year, quarter) → output against the demo's usual pace: Q1/2021 ran well ahead

# Group-level annual figures for BASE_YEAR, split over the sites of each type by seeded weights.
UNDERGROUND_RAW_T = 23_800_000
OPEN_PIT_RAW_T = 15_300_000
PLANT_CLEAN_T = 12_700_000
GROUP_SOLD_T = 50_000_000
PLANT_MAN_SHIFTS_PER_DAY = 850
PORT_MAN_SHIFTS_PER_DAY = 600

# Vietnamese lunar new year (mùng 1 Tết, computed for UTC+7). Mines stop from two days before to the
# fifth day of Tet.
TET = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 2),  # a day before China's: the new moon falls before midnight at UTC+7
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}
TET_BEFORE, TET_AFTER = 2, 4  # 29/30 Tết … mùng 5: seven days off
RESTART_RAMP = (0.45, 0.7, 0.9)  # output on the first days back, while faces are inspected and restarted

# Open pits plan and produce less in the rainy season (Quang Ninh: June–September).
OPEN_PIT_SEASON = (1.08, 1.08, 1.08, 1.06, 1.0, 0.9, 0.85, 0.85, 0.88, 1.02, 1.06, 1.08)

# Company sale prices, đồng per tonne sold (BASE_YEAR; +2 % a year).
PRICE_VND_PER_T = {"NDA": 1_420_000, "VSO": 1_460_000, "BLU": 1_380_000, "SLA": 1_400_000}
DEFAULT_PRICE_VND_PER_T = 1_350_000
PLANT_PRICE_VND_PER_T = 1_500_000

SHIFT_SPLIT_INDICATORS = {"raw_coal_t", "roadway_m", "overburden_m3", "man_shifts"}

NOTES = {
    LostTimeCategory.GEOLOGY: ["Gặp phay phá hủy, vỉa than mỏng đột ngột", "Đá kẹp dày, phải chống xén"],
    LostTimeCategory.WATER: ["Nước chảy vào gương lò, phải bơm thoát", "Ngập moong sau mưa lớn"],
    LostTimeCategory.ROOF: ["Lở nóc lò chợ, phải chống xử lý", "Giàn chống thủy lực sự cố"],
    LostTimeCategory.VENTILATION_GAS: [
        "Khí CH4 vượt ngưỡng, cắt điện theo QCVN 01:2011/BCT",
        "Quạt cục bộ sự cố, dừng đào lò",
    ],
    LostTimeCategory.EQUIPMENT: ["Hỏng máy khấu, chờ thay linh kiện", "Sự cố máng cào", "Hỏng máy xúc"],
    LostTimeCategory.POWER: ["Mất điện lưới", "Sự cố trạm biến áp khu vực"],
    LostTimeCategory.TRANSPORT: ["Sự cố băng tải chính", "Thiếu toa xe, ùn than"],
    LostTimeCategory.WEATHER: ["Mưa lớn kéo dài, dừng khai thác tầng dưới", "Bão, dừng sản xuất"],
}
UNDERGROUND_EPISODES = [
    (LostTimeCategory.GEOLOGY, 4),
    (LostTimeCategory.WATER, 2),
    (LostTimeCategory.ROOF, 2),
    (LostTimeCategory.VENTILATION_GAS, 2),
]
UNDERGROUND_OUTAGES = [
    (LostTimeCategory.EQUIPMENT, 5),
    (LostTimeCategory.TRANSPORT, 2),
    (LostTimeCategory.POWER, 1),
    (LostTimeCategory.ROOF, 1),
    (LostTimeCategory.VENTILATION_GAS, 2),
]
OPEN_PIT_OUTAGES = [
    (LostTimeCategory.EQUIPMENT, 6),
    (LostTimeCategory.TRANSPORT, 2),
    (LostTimeCategory.POWER, 1),
]
OUTAGE_PROBABILITY = 0.0012  # per producing position and day


def tet_holidays(year: int) -> list[tuple[dt.date, str]]:
    if year not in TET:
        raise ValueError(f"no Tet date for {year} in the demo table ({min(TET)}–{max(TET)})")
    tet = TET[year]
    days = []
    for offset in range(-TET_BEFORE, TET_AFTER + 1):
        day = tet + dt.timedelta(days=offset)
        name = "Nghỉ Tết Nguyên đán" if offset < 0 else f"Tết Nguyên đán (mùng {offset + 1})"
        days.append((day, name))
    return days


# Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month (a public holiday since 2007).
HUNG_KINGS = {
    2021: dt.date(2021, 4, 21),
    2022: dt.date(2022, 4, 10),
    2023: dt.date(2023, 4, 29),
    2024: dt.date(2024, 4, 18),
    2025: dt.date(2025, 4, 7),
    2026: dt.date(2026, 4, 26),
    2027: dt.date(2027, 4, 16),
}
# National Day is two days since 2021 (Labour Code 2019, art. 112): 2 September and the day before or after
# it, as the government announces each year.
NATIONAL_DAY_SECOND = {
    2021: dt.date(2021, 9, 3),
    2022: dt.date(2022, 9, 1),
    2023: dt.date(2023, 9, 1),
    2024: dt.date(2024, 9, 3),
    2025: dt.date(2025, 9, 1),
    2026: dt.date(2026, 9, 1),
}


def demo_holidays(year: int) -> list[tuple[dt.date, str]]:
    """Tet plus the national days: New Year, the Hung Kings' day, Reunification Day, Labour Day, National
    Day (two days from 2021). The lunar and announced days are known for 2021–2027 (Hung Kings) and
    2021–2026 (the second National Day); other years go without them. By day."""
    days = [(dt.date(year, 1, 1), "Tết Dương lịch")]
    days += tet_holidays(year)
    if year in HUNG_KINGS:
        days.append((HUNG_KINGS[year], "Giỗ Tổ Hùng Vương (10/3 âm lịch)"))
    days += [
        (dt.date(year, 4, 30), "Ngày Giải phóng miền Nam"),
        (dt.date(year, 5, 1), "Ngày Quốc tế Lao động"),
        (dt.date(year, 9, 2), "Quốc khánh"),
    ]
    if year in NATIONAL_DAY_SECOND:
        days.append((NATIONAL_DAY_SECOND[year], "Nghỉ Quốc khánh (ngày thứ hai)"))
    return sorted(days)
