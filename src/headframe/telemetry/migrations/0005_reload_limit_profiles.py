from django.db import migrations

from headframe.telemetry.migrations._frozen_limits import load_frozen_limit_profiles


def load(apps, schema_editor):
    load_frozen_limit_profiles(apps, "limit_profiles_0005.json")


class Migration(migrations.Migration):
    """limit_profiles.json gained off-delays on pre-alarms, no_operator_override on methane trips, the CO
    rate-of-rise row and the profiles' escalation delay: load the file again (idempotent)."""

    dependencies = [("telemetry", "0004_fail_safe_alarms")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
