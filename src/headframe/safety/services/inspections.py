"""Inspections: answers judged on the spot, the inspector's signature (failed items become findings), the
overman's countersignature, and a repeat inspection of a position."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.audit import audit_record
from headframe.core.errors import Conflict, ErrorItem, NotFound, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety import selectors
from headframe.safety.images import check_signature
from headframe.safety.models import (
    Answer,
    AnswerType,
    Campaign,
    CampaignPosition,
    Finding,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Photo,
    Severity,
    TemplateItem,
)
from headframe.safety.rules import CHOICES, MAX_TEXT, as_number, format_value, is_answered
from headframe.safety.services._common import _actor, _clean_texts, _editable, _store, _visible
from headframe.safety.services.readiness import _refresh_after
from headframe.telemetry.selectors import gas_limit

DEADLINE_DAYS = {Severity.CRITICAL: 1, Severity.MAJOR: 3, Severity.MINOR: 7}


@dataclass(frozen=True)
class AnswerIn:
    item: str
    choice: str = ""
    number: object = None
    text: str = ""
    note: str = ""


def judge(item: TemplateItem, answer: Answer, site: Unit | None) -> None:
    """Set answer.passed and answer.verdict from its value: fail/pass/na as chosen, a number against the
    item's limits or (for a gas reading) the site's limit profile. Photos are judged at signing."""
    answer.verdict = ""
    if item.answer_type == AnswerType.PASS_FAIL_NA:
        answer.passed = {"pass": True, "fail": False}.get(answer.choice)
        if answer.choice == "fail":
            answer.verdict = _("marked as failed")
    elif item.answer_type == AnswerType.NUMBER:
        value = answer.number
        if value is None:
            answer.passed = None
            return
        if item.limit_code:
            limit = gas_limit(item.limit_code, site=site)
            if limit is None:
                answer.passed = False
                answer.verdict = _("no limit %(code)s in the limit profile: cannot be judged") % {
                    "code": item.limit_code
                }
                return
            if limit.breached(value):
                sign = "≥" if limit.direction == "high" else "≤"
                answer.passed = False
                answer.verdict = _("%(value)s %(uom)s %(sign)s limit %(limit)s (%(profile)s %(code)s)") % {
                    "value": format_value(value),
                    "uom": item.unit_of_measure,
                    "sign": sign,
                    "limit": format_value(limit.threshold),
                    "profile": limit.profile,
                    "code": limit.code,
                }
            else:
                answer.passed = True
            return
        if item.min_value is not None and value < item.min_value:
            answer.passed = False
            answer.verdict = _("%(value)s %(uom)s is below the minimum %(limit)s") % {
                "value": format_value(value),
                "uom": item.unit_of_measure,
                "limit": format_value(item.min_value),
            }
        elif item.max_value is not None and value > item.max_value:
            answer.passed = False
            answer.verdict = _("%(value)s %(uom)s is above the maximum %(limit)s") % {
                "value": format_value(value),
                "uom": item.unit_of_measure,
                "limit": format_value(item.max_value),
            }
        else:
            answer.passed = True
    else:
        answer.passed = None


def _parse_answers(inspection: Inspection, answers: list[AnswerIn], actor, now) -> list[Answer]:
    """Validate every answer (all errors at once) and return them judged, unsaved."""
    items = {i.code: i for i in inspection.template.items.all()}
    existing = {a.item_id: a for a in inspection.answers.all()}
    site = selectors.site_of(inspection.position)
    errors: list[ErrorItem] = []
    out: list[Answer] = []
    seen = set()
    for n, given in enumerate(answers):
        loc = ("body", "answers", n)
        item = items.get(given.item)
        if item is None:
            errors.append(
                ErrorItem(
                    (*loc, "item"),
                    type="unknown_item",
                    params={"item": repr(given.item), "template": str(inspection.template)},
                    key="unknown_item.in_template",
                )
            )
            continue
        if item.code in seen:
            errors.append(
                ErrorItem(
                    (*loc, "item"), type="duplicate", params={"item": item.code}, key="duplicate.answered"
                )
            )
            continue
        seen.add(item.code)
        try:
            _clean_texts({"text": given.text, "note": given.note}, loc=loc, multiline=("text", "note"))
        except ValidationFailed as exc:
            errors.extend(exc.items)
            continue
        answer = existing.get(item.pk) or Answer(inspection=inspection, item=item)
        answer.choice, answer.number, answer.text = "", None, ""
        answer.note = (given.note or "")[:500]
        answer.answered_by, answer.answered_at = _actor(actor), now
        if item.answer_type == AnswerType.PASS_FAIL_NA:
            choice = (given.choice or "").strip().lower()
            if choice not in (*CHOICES, ""):
                errors.append(
                    ErrorItem(
                        (*loc, "choice"),
                        type="enum",
                        params={"choice": repr(given.choice)},
                        key="enum.answer",
                    )
                )
                continue
            answer.choice = choice
        elif item.answer_type == AnswerType.NUMBER:
            try:
                number = as_number(given.number)
            except ValueError:
                errors.append(
                    ErrorItem(
                        (*loc, "number"),
                        type="not_a_number",
                        params={"value": repr(given.number)},
                        key="not_a_number.value",
                    )
                )
                continue
            if number is not None and (
                (item.range_min is not None and number < item.range_min)
                or (item.range_max is not None and number > item.range_max)
            ):
                errors.append(
                    ErrorItem(
                        (*loc, "number"),
                        type="out_of_range",
                        params={
                            "value": number,
                            "uom": item.unit_of_measure,
                            "lo": item.range_min if item.range_min is not None else "-inf",
                            "hi": item.range_max if item.range_max is not None else "inf",
                        },
                        key="out_of_range.measurable",
                    )
                )
                continue
            answer.number = number
        elif item.answer_type == AnswerType.TEXT:
            if len(given.text or "") > MAX_TEXT:
                errors.append(
                    ErrorItem((*loc, "text"), type="too_long", params={"max": MAX_TEXT}, key="too_long.chars")
                )
                continue
            answer.text = given.text or ""
        judge(item, answer, site)
        out.append(answer)
    if errors:
        raise ValidationFailed(items=errors)
    return out


def _save_answers(inspection: Inspection, parsed: list[Answer], actor) -> None:
    for answer in parsed:
        answer.save()
    if parsed:
        audit_record(
            actor=actor,
            action="answer",
            obj=inspection,
            unit_path=inspection.position.path,
            after={
                a.item.code: {
                    "value": a.choice or (a.number if a.number is not None else a.text),
                    "passed": a.passed,
                }
                for a in parsed
            },
        )


@transaction.atomic
def answers_save(*, actor, inspection_id: int, answers: list[AnswerIn], now=None) -> Inspection:
    """Save (part of) the answers of an inspection not yet signed; each is judged on the spot."""
    now = now or timezone.now()
    inspection = selectors.inspection_get(actor, inspection_id, Perm.SAFETY)
    _editable(inspection)
    parsed = _parse_answers(inspection, answers, actor, now)
    if inspection.started_at is None:
        inspection.started_at = now
        inspection.save(update_fields=["started_at"])
    _save_answers(inspection, parsed, actor)
    return inspection


def _missing(inspection: Inspection) -> list[ErrorItem]:
    answers = {a.item_id: a for a in inspection.answers.all()}
    photos = {p.item_id for p in inspection.photos.all()}
    missing = []
    for item in inspection.template.items.all().select_related("section").order_by("section__order", "order"):
        if not item.required:
            continue
        if not is_answered(item, answers.get(item.pk), photos):
            missing.append(
                ErrorItem(
                    ("body", "answers", item.code),
                    type="missing",
                    params={"code": item.code, "text": {"vi": item.text_vi, "en": item.text_en}},
                    key="missing.answer",
                )
            )
    return missing


@transaction.atomic
def inspection_sign(
    *,
    actor,
    inspection_id: int,
    answers: list[AnswerIn] | None = None,
    signature: bytes | None = None,
    now: dt.datetime | None = None,
) -> Inspection:
    """The inspector signs: every required item must be answered; the result is fixed (failed if any item
    failed) and each failed item becomes a finding (critical items → critical findings). A signature drawn
    on the screen (PNG bytes) is kept with the inspection."""
    now = now or timezone.now()
    inspection = selectors.inspection_get(actor, inspection_id, Perm.SAFETY)
    _editable(inspection)
    if signature is not None:
        check_signature(signature)
    if answers:
        _save_answers(inspection, _parse_answers(inspection, answers, actor, now), actor)
    missing = _missing(inspection)
    if missing:
        raise ValidationFailed(items=missing)
    failed = [
        a
        for a in inspection.answers.select_related("item").order_by("item__section__order", "item__order")
        if a.passed is False
    ]
    result = InspectionResult.FAILED if failed else InspectionResult.PASSED
    signed = {}
    if signature is not None:
        image = Photo(
            original_name="signature.png",
            uploaded_by=_actor(actor),
            uploaded_at=now,
            inspection=inspection,
            unit=inspection.position,
            content_type="image/png",
            size=len(signature),
        )
        image.sha256, image.path = _store(signature, "png")
        audited_create(actor=actor, obj=image, unit_path=inspection.position.path)
        signed["signature"] = image
    audited_update(
        actor=actor,
        obj=inspection,
        changes={
            "status": InspectionStatus.SIGNED,
            "result": result,
            "signed_by": actor,
            "signed_at": now,
            "started_at": inspection.started_at or now,
            **signed,
        },
        unit_path=inspection.position.path,
        action="sign",
    )
    team = (
        CampaignPosition.objects.filter(campaign=inspection.campaign, position=inspection.position)
        .values_list("team", flat=True)
        .first()
        or inspection.team
    )
    today = timezone.localtime(now).date()
    for answer in failed:
        item = answer.item
        severity = item.severity_on_fail
        detail = "; ".join(x for x in (answer.verdict, answer.note) if x)
        finding = Finding(
            position=inspection.position,
            campaign=inspection.campaign,
            inspection=inspection,
            item=item,
            severity=severity,
            title=f"{item.code}: {item.text_vi}"[:400],
            detail=detail,
            responsible=team or "",
            deadline=today + dt.timedelta(days=DEADLINE_DAYS[severity]),
            created_at=now,
            created_by=_actor(actor),
        )
        audited_create(actor=actor, obj=finding, unit_path=inspection.position.path)
    _refresh_after(actor, inspection.position, inspection.campaign, now)
    return inspection


@transaction.atomic
def inspection_countersign(*, actor, inspection_id: int, now: dt.datetime | None = None) -> Inspection:
    """The shift overman countersigns a signed inspection: someone other than the inspector, with the
    reporting or safety role on the position."""
    now = now or timezone.now()
    inspection = selectors.inspection_get(actor, inspection_id, Perm.VIEW)
    path = inspection.position.path
    if not selectors.may_report_or_inspect(scope_for(actor), path):
        raise PermissionDenied(
            loc=("path", "id"), key="permission_denied.countersign", params={"unit": inspection.position.code}
        )
    if inspection.status == InspectionStatus.PENDING:
        raise Conflict(loc=("path", "id"), type="not_signed", params={}, key="not_signed.inspector")
    if inspection.status == InspectionStatus.COMPLETE:
        raise Conflict(loc=("path", "id"), type="countersigned", params={})
    if getattr(actor, "pk", None) is None or actor.pk == inspection.signed_by_id:
        raise ValidationFailed(
            loc=("body", "countersigned_by"),
            type="self_countersign",
            params={},
            key="self_countersign.inspector",
        )
    audited_update(
        actor=actor,
        obj=inspection,
        changes={"status": InspectionStatus.COMPLETE, "countersigned_by": actor, "countersigned_at": now},
        unit_path=path,
        action="countersign",
    )
    _refresh_after(actor, inspection.position, inspection.campaign, now)
    return inspection


@transaction.atomic
def inspection_repeat(*, actor, campaign: Campaign, position_code: str, now=None) -> Inspection:
    """A new inspection of a position in the campaign (after corrective work, or when conditions changed).
    Its latest inspection must be complete; the position is not ready until the new one passes."""
    now = now or timezone.now()
    cp = (
        CampaignPosition.objects.filter(campaign=campaign, position__code=position_code)
        .select_related("position")
        .first()
    )
    if cp is None or not scope_for(actor).allows(Perm.VIEW, cp.position.path):
        raise NotFound(
            loc=("body", "position"),
            key="not_found.in_campaign",
            params={"position": position_code, "campaign": campaign.code},
        )
    _visible(actor, cp.position, Perm.SAFETY, loc=("body", "position"))
    latest = selectors.latest_inspections(campaign, [cp.position_id]).get(cp.position_id)
    if latest is not None and latest.status != InspectionStatus.COMPLETE:
        raise Conflict(
            loc=("body", "position"),
            type="open_inspection",
            params={"id": str(latest.pk), "unit": cp.position.code},
            key="open_inspection.of",
        )
    template = selectors.template_for_kind(cp.position.position_kind)
    inspection = Inspection(
        campaign=campaign,
        position=cp.position,
        template=template,
        sequence=(latest.sequence + 1) if latest else 1,
        team=cp.team,
        due_on=max(campaign.due_on, timezone.localtime(now).date()),
        created_at=now,
    )
    audited_create(actor=actor, obj=inspection, unit_path=cp.position.path)
    _refresh_after(actor, cp.position, campaign, now)
    return inspection
