"""Checklist templates: publishing a new version (group reference data)."""

from __future__ import annotations

from django.db import transaction

from headframe.core.audit import audit_record, snapshot
from headframe.core.errors import ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.services import validate
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety.models import ChecklistTemplate, TemplateItem, TemplateSection
from headframe.safety.services._common import _clean_texts
from headframe.telemetry.selectors import gas_limit


@transaction.atomic
def template_publish(
    *,
    actor,
    code: str,
    position_kind: str,
    title_vi: str,
    title_en: str = "",
    sections: list[dict],
    source: str = "",
) -> ChecklistTemplate:
    """A new version of a checklist (version 1 if the code is new). Group reference data: needs the safety
    role on a group, or a superuser. sections: [{"title_vi", "title_en", "items": [{"code", "text_vi",
    "text_en", "answer_type", "unit_of_measure", "min_value", "max_value", "range_min", "range_max",
    "limit_code", "critical", "required"}]}]."""
    scope = scope_for(actor)
    groups = Unit.objects.filter(kind=UnitKind.GROUP)
    if not any(scope.allows(Perm.SAFETY, g.path) for g in groups):
        raise PermissionDenied(params={}, key="permission_denied.publish_template")
    if not sections or not any(s.get("items") for s in sections):
        raise ValidationFailed(
            loc=("body", "sections"), type="missing", params={}, key="missing.checklist_item"
        )
    _clean_texts({"code": code, "title_vi": title_vi, "title_en": title_en, "source": source})
    for s_no, spec in enumerate(sections):
        _clean_texts({k: spec.get(k, "") for k in ("title_vi", "title_en")}, loc=("body", "sections", s_no))
        for i_no, item_spec in enumerate(spec.get("items", [])):
            _clean_texts(
                {k: item_spec.get(k, "") for k in ("code", "text_vi", "text_en", "unit_of_measure")},
                loc=("body", "sections", s_no, "items", i_no),
            )
    previous = ChecklistTemplate.objects.filter(code=code).order_by("-version").first()
    template = ChecklistTemplate(
        code=code,
        version=(previous.version + 1) if previous else 1,
        position_kind=position_kind,
        title_vi=title_vi,
        title_en=title_en,
        source=source,
    )
    validate(template)
    template.save()
    errors: list[ErrorItem] = []
    seen = set()
    for s_no, spec in enumerate(sections):
        section = TemplateSection(
            template=template,
            order=s_no + 1,
            title_vi=spec.get("title_vi", ""),
            title_en=spec.get("title_en", ""),
        )
        validate(section, loc=("body", "sections", s_no))
        section.save()
        for i_no, item_spec in enumerate(spec.get("items", [])):
            loc = ("body", "sections", s_no, "items", i_no)
            item = TemplateItem(
                template=template,
                section=section,
                order=i_no + 1,
                **{
                    k: item_spec.get(k, d)
                    for k, d in (
                        ("code", ""),
                        ("text_vi", ""),
                        ("text_en", ""),
                        ("answer_type", ""),
                        ("unit_of_measure", ""),
                        ("min_value", None),
                        ("max_value", None),
                        ("range_min", None),
                        ("range_max", None),
                        ("limit_code", ""),
                        ("critical", False),
                        ("required", True),
                    )
                },
            )
            if item.code in seen:
                errors.append(
                    ErrorItem(
                        (*loc, "code"),
                        type="duplicate",
                        params={"code": repr(item.code)},
                        key="duplicate.item_code",
                    )
                )
                continue
            seen.add(item.code)
            try:
                validate(item, exclude=["template", "section"], loc=loc)
            except ValidationFailed as exc:
                errors.extend(exc.items)
                continue
            if item.limit_code and gas_limit(item.limit_code) is None:
                errors.append(
                    ErrorItem(
                        (*loc, "limit_code"),
                        type="unknown_limit",
                        params={"limit": repr(item.limit_code)},
                        key="unknown_limit.default_profile",
                    )
                )
                continue
            item.save()
    if errors:
        raise ValidationFailed(items=errors)
    audit_record(
        actor=actor,
        action="create",
        obj=template,
        unit_path="",
        after={**snapshot(template), "items": template.items.count()},
    )
    return template
