from django.db import migrations


def load(apps, schema_editor):
    from headframe.telemetry.limits import load_limit_profiles

    load_limit_profiles(apps.get_model("telemetry", "LimitProfile"), apps.get_model("telemetry", "Limit"))


class Migration(migrations.Migration):
    """limit_profiles.json gained off-delays on pre-alarms, no_operator_override on methane trips, the CO
    rate-of-rise row and the profiles' escalation delay: load the file again (idempotent)."""

    dependencies = [("telemetry", "0004_fail_safe_alarms")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
