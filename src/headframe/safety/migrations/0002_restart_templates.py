"""Seed version 1 of the restart-after-holiday checklists (one per kind of work position).

The templates are frozen in frozen/restart_templates_v1.json as this migration first loaded them: a migration is
history, so a database built today reaches the same version 1 as one migrated then, whatever
headframe.safety.checklists holds later (a changed checklist is a new template version, not an edit of v1)."""

import json
from pathlib import Path

from django.db import migrations

TEMPLATES = Path(__file__).with_name("frozen") / "restart_templates_v1.json"


def seed(apps, schema_editor):
    template_model = apps.get_model("safety", "ChecklistTemplate")
    section_model = apps.get_model("safety", "TemplateSection")
    item_model = apps.get_model("safety", "TemplateItem")
    frozen = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    for position_kind, (code, title_vi, title_en, sections) in frozen["templates"].items():
        if template_model.objects.filter(code=code).exists():
            continue
        template = template_model.objects.create(
            code=code,
            version=1,
            position_kind=position_kind,
            title_vi=title_vi,
            title_en=title_en,
            source=frozen["source"],
        )
        for s_order, (_s_code, s_vi, s_en, items) in enumerate(sections, start=1):
            section = section_model.objects.create(template=template, order=s_order, title_vi=s_vi, title_en=s_en)
            for i_order, (i_code, t_vi, t_en, answer_type, opts) in enumerate(items, start=1):
                low, high = opts.get("range", (None, None))
                item_model.objects.create(
                    template=template,
                    section=section,
                    order=i_order,
                    code=i_code,
                    text_vi=t_vi,
                    text_en=t_en,
                    answer_type=answer_type,
                    unit_of_measure=opts.get("uom", ""),
                    min_value=opts.get("min"),
                    max_value=opts.get("max"),
                    range_min=low,
                    range_max=high,
                    limit_code=opts.get("limit", ""),
                    critical=opts.get("critical", False),
                    required=opts.get("required", True),
                )


def unseed(apps, schema_editor):
    frozen = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    codes = [code for code, *_ in frozen["templates"].values()]
    apps.get_model("safety", "ChecklistTemplate").objects.filter(code__in=codes, version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
