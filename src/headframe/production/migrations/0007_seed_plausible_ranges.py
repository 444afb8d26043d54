"""Seed the everywhere plausible ranges (planners edit them later, per unit too):
- ash content is a percentage: impossible below 0 and above 100;
- every additive tonnage, metre and m³ indicator is impossible below 0;
- raw coal and roadway metres are implausible above 3 × the unit's best shift (shift figures) or best day
  (day figures) of the last 90 days."""

from decimal import Decimal

from django.db import migrations

ADDITIVE_UNITS = ("t", "m", "m³")
BEST_MULTIPLE = {"raw_coal_t": Decimal(3), "roadway_m": Decimal(3)}


def seed(apps, schema_editor):
    Indicator = apps.get_model("production", "Indicator")
    PlausibleRange = apps.get_model("production", "PlausibleRange")
    wanted = {}
    for indicator in Indicator.objects.filter(aggregation="sum", unit_of_measure__in=ADDITIVE_UNITS):
        wanted[indicator.pk] = {
            "impossible_below": Decimal(0),
            "best_multiple": BEST_MULTIPLE.get(indicator.code),
        }
    for indicator in Indicator.objects.filter(code="ash_pct"):
        wanted[indicator.pk] = {"impossible_below": Decimal(0), "impossible_above": Decimal(100)}
    for indicator_id, values in wanted.items():
        if not PlausibleRange.objects.filter(indicator_id=indicator_id, unit__isnull=True).exists():
            PlausibleRange.objects.create(indicator_id=indicator_id, unit=None, **values)


def unseed(apps, schema_editor):
    apps.get_model("production", "PlausibleRange").objects.filter(unit__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("production", "0006_calendar_holidays_plausibility")]

    operations = [migrations.RunPython(seed, unseed)]
