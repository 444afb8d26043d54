"""Checklist templates: the newest versions, one by code, its sections and items."""

from __future__ import annotations

from collections import defaultdict

from headframe.core.errors import NotFound
from headframe.safety.models import ChecklistTemplate


def templates_latest() -> list[ChecklistTemplate]:
    """The newest active version of every template code."""
    newest = {}
    for template in ChecklistTemplate.objects.filter(is_active=True).order_by("code", "-version"):
        newest.setdefault(template.code, template)
    return sorted(newest.values(), key=lambda t: (t.position_kind, t.code))


def template_for_kind(position_kind: str) -> ChecklistTemplate | None:
    return (
        ChecklistTemplate.objects.filter(position_kind=position_kind, is_active=True)
        .order_by("-version", "-id")
        .first()
    )


def template_get(code: str, version: int | None = None) -> ChecklistTemplate:
    qs = ChecklistTemplate.objects.filter(code=code)
    template = qs.filter(version=version).first() if version else qs.order_by("-version").first()
    if template is None:
        raise NotFound(loc=("path", "code"), key="not_found.template", params={"code": repr(code)})
    return template


def template_structure(template: ChecklistTemplate) -> list[dict]:
    sections = []
    items_by_section = defaultdict(list)
    for item in template.items.all().order_by("order"):
        items_by_section[item.section_id].append(item)
    for section in template.sections.all().order_by("order"):
        sections.append({"section": section, "items": items_by_section[section.pk]})
    return sections
