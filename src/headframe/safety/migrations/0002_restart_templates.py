"""Seed version 1 of the restart-after-holiday checklists (one per kind of work position)."""

from django.db import migrations


def seed(apps, schema_editor):
    from headframe.safety.checklists import load_restart_templates

    load_restart_templates(
        apps.get_model("safety", "ChecklistTemplate"),
        apps.get_model("safety", "TemplateSection"),
        apps.get_model("safety", "TemplateItem"),
    )


def unseed(apps, schema_editor):
    from headframe.safety.checklists import RESTART_TEMPLATES

    codes = [code for code, *_ in RESTART_TEMPLATES.values()]
    apps.get_model("safety", "ChecklistTemplate").objects.filter(code__in=codes, version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
