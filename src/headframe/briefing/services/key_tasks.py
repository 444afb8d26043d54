"""Key tasks (nhiệm vụ trọng tâm) and their KPIs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from headframe.briefing.extensions import kpi_measure, kpi_measures
from headframe.briefing.messages import label
from headframe.briefing.models import (
    Comparator,
    KeyTask,
    KeyTaskKpi,
    KpiKind,
)
from headframe.briefing.services._common import (
    _clean_texts,
    _indicator,
    _person,
    _require,
)
from headframe.core.errors import ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.org.roles import Perm
from headframe.org.selectors import unit_named


def key_task_create(
    *,
    actor,
    year: int,
    title_vi: str,
    owner_unit_code: str,
    title_en: str = "",
    description: str = "",
    number: int | None = None,
    owner_person=None,
) -> KeyTask:
    owner = unit_named(actor, owner_unit_code, loc=("body", "owner_unit"))
    _require(
        actor,
        (Perm.PLAN, Perm.MANAGE),
        owner.path,
        key="permission_denied.set_key_tasks",
        params={"unit": owner.code},
        loc=("body", "owner_unit"),
    )
    _clean_texts({"title_vi": title_vi, "title_en": title_en, "description": description})
    if number is None:
        number = (
            KeyTask.objects.filter(owner_unit=owner, year=year).aggregate(m=Max("number"))["m"] or 0
        ) + 1
    task = KeyTask(
        year=year,
        number=number,
        title_vi=(title_vi or "").strip(),
        title_en=(title_en or "").strip(),
        description=description,
        owner_unit=owner,
        owner_person=_person(owner_person, under=owner, loc=("body", "owner_person")),
    )
    return audited_create(actor=actor, obj=task, unit_path=owner.path)


def _decimal(value, *, loc: tuple) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(loc=loc, type="decimal", params={}, key="decimal.expected")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            loc=loc, type="decimal", params={"value": repr(value)}, key="decimal.got"
        ) from None
    if not number.is_finite():
        raise ValidationFailed(loc=loc, type="decimal", params={"value": repr(value)}, key="decimal.got")
    return number


def _measured_unit(actor, owner, unit_code: str | None):
    """The unit a bound KPI measures: the owner by default; one the actor cannot see is unknown, one it sees
    must lie under the owner."""
    unit = unit_named(actor, unit_code, loc=("body", "unit")) if unit_code else owner
    if not unit.path.startswith(owner.path):
        raise ValidationFailed(
            loc=("body", "unit"),
            type="kpi_other_unit",
            params={"unit": unit.code, "owner": owner.code},
            key="kpi_other_unit.named",
        )
    return unit


def _measure_code(kind: str, measure_code: str | None) -> str:
    """The registered measure a KPI of kind "measure" reads; no other kind names one."""
    code = (measure_code or "").strip()
    if kind != KpiKind.MEASURE:
        if code:
            raise ValidationFailed(
                loc=("body", "measure"),
                type="measure_not_bound",
                params={"kind": label(KpiKind(kind))},
                key="measure_not_bound.kind",
            )
        return ""
    if not code:
        raise ValidationFailed(loc=("body", "measure"), type="missing", params={}, key="missing.kpi_measure")
    if kpi_measure(code) is None:
        raise ValidationFailed(
            loc=("body", "measure"),
            type="unknown_measure",
            params={"measure": code, "expected": [m.code for m in kpi_measures()]},
            key="unknown_measure.named",
        )
    return code


def _binding(actor, owner, kind: str, indicator_code, unit_code, target):
    """(indicator, unit, target) of a KPI of the kind: none for a manual milestone; an indicator of a unit
    under the owner (target 100 % of plan by default) or a measure's unit and target."""
    if kind == KpiKind.MANUAL:
        if indicator_code or unit_code:
            raise ValidationFailed(
                loc=("body", "indicator"), type="manual_bound", params={}, key="manual_bound.indicator"
            )
        return None, None, target
    if kind == KpiKind.MEASURE:
        if indicator_code:
            raise ValidationFailed(
                loc=("body", "indicator"), type="measure_bound", params={}, key="measure_bound.indicator"
            )
        indicator = None
    else:
        if not indicator_code:
            raise ValidationFailed(
                loc=("body", "indicator"),
                type="missing",
                params={"kind": label(KpiKind(kind))},
                key="missing.kpi_indicator",
            )
        indicator = _indicator(indicator_code, loc=("body", "indicator"))
    unit = _measured_unit(actor, owner, unit_code)
    if target is None and kind == KpiKind.INDICATOR_VS_PLAN:
        target = Decimal(100)
    if target is None:
        raise ValidationFailed(loc=("body", "target"), type="missing", params={}, key="missing.target")
    return indicator, unit, target


@transaction.atomic
def kpi_create(
    *,
    actor,
    key_task: KeyTask,
    name_vi: str,
    kind: str,
    name_en: str = "",
    indicator_code: str | None = None,
    unit_code: str | None = None,
    comparator: str = Comparator.GE,
    target=None,
    order: int | None = None,
    measure_code: str | None = None,
) -> KeyTaskKpi:
    """A KPI of a key task. Bound kinds measure an indicator of a unit in the task owner's subtree (default:
    the owner itself): `indicator_vs_plan` as % of the year-to-date plan (target 100 = on plan),
    `indicator_value` as the year-to-date value; `measure` reads a figure a module computes for the unit
    (`measure_code`, registered in briefing.extensions). `manual` is a milestone reported done with
    evidence."""
    key_task = KeyTask.objects.select_related("owner_unit").get(pk=key_task.pk)
    owner = key_task.owner_unit
    _require(
        actor,
        (Perm.PLAN, Perm.MANAGE),
        owner.path,
        key="permission_denied.set_kpis",
        params={"unit": owner.code},
        loc=("body",),
    )
    if kind not in KpiKind.values:
        raise ValidationFailed(
            loc=("body", "kind"),
            type="enum",
            params={"kind": repr(kind), "expected": list(KpiKind.values)},
            key="enum.kind",
        )
    if comparator not in Comparator.values:
        raise ValidationFailed(loc=("body", "comparator"), type="enum", params={}, key="enum.comparator")
    _clean_texts({"name_vi": name_vi, "name_en": name_en})
    target = _decimal(target, loc=("body", "target"))
    measure = _measure_code(kind, measure_code)
    indicator, unit, target = _binding(actor, owner, kind, indicator_code, unit_code, target)
    if order is None:
        order = (key_task.kpis.aggregate(m=Max("order"))["m"] or 0) + 1
    kpi = KeyTaskKpi(
        key_task=key_task,
        order=order,
        name_vi=(name_vi or "").strip(),
        name_en=(name_en or "").strip(),
        kind=kind,
        indicator=indicator,
        unit=unit,
        measure=measure,
        comparator=comparator,
        target=target,
    )
    return audited_create(actor=actor, obj=kpi, unit_path=owner.path)


@transaction.atomic
def kpi_update_manual(
    *, actor, kpi: KeyTaskKpi, done: bool, evidence: str = "", now: dt.datetime | None = None
) -> KeyTaskKpi:
    kpi = (
        KeyTaskKpi.objects.select_for_update(of=("self",))
        .select_related("key_task__owner_unit")
        .get(pk=kpi.pk)
    )
    owner = kpi.key_task.owner_unit
    _require(
        actor,
        (Perm.REPORT, Perm.PLAN, Perm.MANAGE),
        owner.path,
        key="permission_denied.report_key_tasks",
        params={"unit": owner.code},
        loc=("path", "kpi_id"),
    )
    if kpi.kind != KpiKind.MANUAL:
        raise ValidationFailed(loc=("body", "done"), type="not_manual", params={}, key="not_manual.kpi")
    _clean_texts({"evidence": evidence})
    evidence = (evidence or "").strip() or kpi.evidence
    if done and not evidence:
        raise ValidationFailed(
            loc=("body", "evidence"), type="evidence_required", params={}, key="evidence_required.milestone"
        )
    changes = {"done": done, "evidence": evidence}
    if done and not kpi.done:
        changes["done_at"] = now or timezone.now()
    if not done:
        changes["done_at"] = None
    audited_update(actor=actor, obj=kpi, changes=changes, unit_path=owner.path)
    return kpi
