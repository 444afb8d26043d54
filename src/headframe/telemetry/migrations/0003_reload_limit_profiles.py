from django.db import migrations

from headframe.telemetry.migrations._frozen_limits import load_frozen_limit_profiles


def load(apps, schema_editor):
    load_frozen_limit_profiles(apps, "limit_profiles_0003.json")


class Migration(migrations.Migration):
    """limit_profiles.json gained an engineering sump-level row: load the file again (idempotent)."""

    dependencies = [("telemetry", "0002_limit_profiles")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
