from django.db import migrations


def load(apps, schema_editor):
    from headframe.telemetry.limits import load_limit_profiles

    load_limit_profiles(apps.get_model("telemetry", "LimitProfile"), apps.get_model("telemetry", "Limit"))


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
