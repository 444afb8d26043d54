"""The indicator catalogue the group steers by (editable in the admin afterwards)."""

from django.db import migrations

# code, Vietnamese, English, unit, aggregation, site types, higher is better, decimals, key, order
BASE = [
    ("raw_coal_t", "Than nguyên khai", "Raw coal produced", "t", "sum", ["underground", "open_pit"], True, 0, True, 10),
    ("clean_coal_t", "Than sạch", "Clean coal", "t", "sum", ["underground", "open_pit", "plant"], True, 0, True, 20),
    ("coal_sold_t", "Than tiêu thụ", "Coal sold", "t", "sum", [], True, 0, True, 30),
    ("overburden_m3", "Đất đá bóc", "Overburden removed", "m³", "sum", ["open_pit"], True, 0, True, 40),
    ("roadway_m", "Mét lò đào", "Roadway development", "m", "sum", ["underground"], True, 0, True, 50),
    ("revenue_vnd", "Doanh thu", "Revenue", "đồng", "sum", [], True, 0, True, 60),
    ("man_shifts", "Công lao động", "Man-shifts worked", "công", "sum", [], True, 0, False, 70),
    ("coal_stock_t", "Tồn kho than", "Coal in stock", "t", "last", [], False, 0, False, 90),
]
WEIGHTED = [
    # ash content of clean coal, weighted by the clean coal tonnes it describes
    ("ash_pct", "Độ tro than sạch", "Ash content of clean coal", "%", "wavg", "clean_coal_t",
     ["underground", "open_pit", "plant"], False, 1, False, 95),
]
DERIVED = [
    ("productivity_t_per_man_shift", "Năng suất lao động", "Productivity", "t/công", "raw_coal_t", "man_shifts",
     ["underground", "open_pit"], True, 2, False, 80),
    ("stripping_ratio_m3_per_t", "Hệ số bóc đất", "Stripping ratio", "m³/t", "overburden_m3", "raw_coal_t",
     ["open_pit"], False, 2, False, 85),
]


def seed(apps, schema_editor):
    Indicator = apps.get_model("production", "Indicator")
    by_code = {}
    for code, vi, en, uom, agg, types, better, decimals, key, order in BASE:
        by_code[code] = Indicator.objects.create(
            code=code, name_vi=vi, name_en=en, unit_of_measure=uom, aggregation=agg, site_types=types,
            higher_is_better=better, decimals=decimals, is_key=key, sort_order=order,
        )
    for code, vi, en, uom, agg, weight, types, better, decimals, key, order in WEIGHTED:
        Indicator.objects.create(
            code=code, name_vi=vi, name_en=en, unit_of_measure=uom, aggregation=agg, weight=by_code[weight],
            site_types=types, higher_is_better=better, decimals=decimals, is_key=key, sort_order=order,
        )
    for code, vi, en, uom, num, den, types, better, decimals, key, order in DERIVED:
        Indicator.objects.create(
            code=code, name_vi=vi, name_en=en, unit_of_measure=uom, aggregation="ratio", numerator=by_code[num],
            denominator=by_code[den], site_types=types, higher_is_better=better, decimals=decimals, is_key=key,
            sort_order=order,
        )


def unseed(apps, schema_editor):
    apps.get_model("production", "Indicator").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("production", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
