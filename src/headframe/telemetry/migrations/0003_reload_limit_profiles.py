from django.db import migrations


def load(apps, schema_editor):
    from headframe.telemetry.limits import load_limit_profiles

    load_limit_profiles(apps.get_model("telemetry", "LimitProfile"), apps.get_model("telemetry", "Limit"))


class Migration(migrations.Migration):
    """limit_profiles.json gained an engineering sump-level row: load the file again (idempotent)."""

    dependencies = [("telemetry", "0002_limit_profiles")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
