from django.db import migrations

from headframe.telemetry.migrations._frozen_limits import load_frozen_limit_profiles


def load(apps, schema_editor):
    load_frozen_limit_profiles(apps, "limit_profiles_0002.json")


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
