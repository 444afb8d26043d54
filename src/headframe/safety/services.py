"""Safety writes: templates, campaigns, answers, signatures, photos, findings, releases, incidents, and the
flags the production gate leaves. Each service checks scope first, validates everything, then writes in one
transaction with its audit rows: a refused request leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from headframe.core.audit import audit_entry, audit_record, audit_record_many, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, NotFound, PermissionDenied, TooLarge, ValidationFailed
from headframe.core.services import audited_create, audited_update, validate
from headframe.core.text import check_clean_text, hidden_character
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import ancestor_paths, scope_for, unit_named
from headframe.safety import selectors
from headframe.safety.models import (
    SEVERITY_RANK,
    Answer,
    AnswerType,
    Campaign,
    CampaignPosition,
    CampaignStatus,
    ChecklistTemplate,
    Finding,
    FindingStatus,
    FlaggedActual,
    GateMode,
    Incident,
    IncidentCategory,
    IncidentKind,
    IncidentSeverity,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Photo,
    ReadinessEvent,
    Severity,
    TemplateItem,
    TemplateSection,
)

DEADLINE_DAYS = {Severity.CRITICAL: 1, Severity.MAJOR: 3, Severity.MINOR: 7}
CHOICES = ("pass", "fail", "na")
MAX_TEXT = 2000
DEFAULT_PHOTO_MAX_BYTES = 8 * 1024 * 1024
# A phone photo is at most ~50 megapixels (8160 × 6120); a bigger image is a decompression bomb that would
# take gigabytes to draw in a browser or a PDF. Read from the file's header, never by decoding it.
MAX_PHOTO_SIDE = 10_000
MAX_PHOTO_PIXELS = 50_000_000


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _visible(actor, unit: Unit, perm: str, *, loc: tuple, what: str = "") -> None:
    """404 when the unit is outside the actor's view, 403 when visible without perm."""
    scope = scope_for(actor)
    if not scope.allows(Perm.VIEW, unit.path):
        raise NotFound(f"unit {unit.code!r} not found", loc=loc)
    if not scope.allows(perm, unit.path):
        raise PermissionDenied(what or f"you may not {Perm(perm).label} for {unit.code}", loc=loc)


def _clean_texts(texts: dict, *, loc: tuple = ("body",), multiline: Iterable[str] = ()) -> None:
    """Refuse NUL, control, bidi-override and zero-width characters in names and free text ({field: text});
    fields named in `multiline` may hold line breaks and tabs."""
    multiline = set(multiline)
    for name, text in texts.items():
        check_clean_text(text, loc=(*loc, name), multiline=name in multiline, label=name)


def _audit_also(actor, *, obj, primary: str, paths: Iterable[str], action: str, after: dict) -> None:
    """A write that touches other places as well (a campaign over several units, an incident linked to
    findings elsewhere): each place's auditors get the row, unless they already see the primary one (an
    auditor of a place sees the rows filed under it and below)."""
    for path in sorted(set(paths)):
        if path and not primary.startswith(path):
            audit_record(actor=actor, action=action, obj=obj, unit_path=path, after=after)


def _common_path(paths: list[str]) -> str:
    if not paths:
        return ""
    parts = [p.strip("/").split("/") for p in paths]
    common = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        common.append(segment[0])
    return "/" + "/".join(common) + "/" if common else ""


# --- templates ----------------------------------------------------------------------------------------------


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
        raise PermissionDenied("only a group safety officer may publish checklist templates")
    if not sections or not any(s.get("items") for s in sections):
        raise ValidationFailed(
            "a checklist needs at least one item", loc=("body", "sections"), type="missing"
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
                errors.append(ErrorItem((*loc, "code"), f"item code {item.code!r} used twice", "duplicate"))
                continue
            seen.add(item.code)
            try:
                validate(item, exclude=["template", "section"], loc=loc)
            except ValidationFailed as exc:
                errors.extend(exc.items)
                continue
            if item.limit_code:
                from headframe.telemetry.selectors import gas_limit

                if gas_limit(item.limit_code) is None:
                    errors.append(
                        ErrorItem(
                            (*loc, "limit_code"),
                            f"no limit {item.limit_code!r} in the default profile",
                            "unknown_limit",
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


# --- campaigns ----------------------------------------------------------------------------------------------


@dataclass
class CampaignResult:
    campaign: Campaign
    inspections: int = 0
    skipped: list[str] = field(default_factory=list)  # positions whose kind has no checklist


@transaction.atomic
def campaign_create(
    *,
    actor,
    code: str,
    title_vi: str,
    unit_codes: list[str],
    starts_on: dt.date,
    due_on: dt.date,
    title_en: str = "",
    gate_mode: str = GateMode.REJECT,
    teams: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> CampaignResult:
    """Open a campaign over some units: one inspection per active work position in scope, with the newest
    checklist for its kind, assigned to the team named for its area (or mine, or the position itself)."""
    now = now or timezone.now()
    scope = scope_for(actor)
    errors: list[ErrorItem] = []
    denied: list[ErrorItem] = []
    if not unit_codes:
        errors.append(ErrorItem(("body", "units"), "name at least one unit", "missing"))
    units = {u.code: u for u in Unit.objects.filter(code__in=unit_codes)}
    chosen: list[Unit] = []
    for n, unit_code in enumerate(unit_codes):
        unit = units.get(unit_code)
        if unit is None or not scope.allows(Perm.VIEW, unit.path):
            errors.append(ErrorItem(("body", "units", n), f"unknown unit {unit_code!r}", "unknown_unit"))
        elif not scope.allows(Perm.SAFETY, unit.path):
            denied.append(
                ErrorItem(("body", "units", n), f"you may not inspect {unit.code}", "permission_denied")
            )
        else:
            chosen.append(unit)
    if gate_mode not in GateMode.values:
        errors.append(ErrorItem(("body", "gate_mode"), f"gate_mode must be one of {GateMode.values}", "enum"))
    # A team is named for a unit on the line of a chosen unit (the mine above an area, an area or position
    # below it); a unit the caller cannot see answers as an unknown one.
    team_units = {u.code: u for u in Unit.objects.filter(code__in=[str(c) for c in (teams or {})])}
    for team_code in teams or {}:
        unit = team_units.get(team_code)
        where = ("body", "teams", team_code)
        if unit is None or not scope.allows(Perm.VIEW, unit.path):
            errors.append(ErrorItem(where, f"unknown unit {team_code!r}", "unknown_unit"))
        elif chosen and not any(unit.path.startswith(c.path) or c.path.startswith(unit.path) for c in chosen):
            errors.append(
                ErrorItem(where, f"{unit.code} is not on the line of this campaign's units", "team_outside")
            )
    try:
        check_day(starts_on, loc=("body", "starts_on"))
        check_day(due_on, loc=("body", "due_on"))
        _clean_texts({"code": code, "title_vi": title_vi, "title_en": title_en})
        _clean_texts(dict(teams or {}), loc=("body", "teams"))
    except ValidationFailed as exc:
        errors.extend(exc.items)
    if errors:
        raise ValidationFailed(items=errors)
    if denied:
        raise PermissionDenied(items=denied)
    campaign = Campaign(
        code=code,
        title_vi=title_vi,
        title_en=title_en,
        starts_on=starts_on,
        due_on=due_on,
        gate_mode=gate_mode,
        created_by=_actor(actor),
        created_at=now,
    )
    validate(campaign)
    positions: dict[int, Unit] = {}
    for unit in chosen:
        for position in Unit.objects.filter(
            path__startswith=unit.path, kind=UnitKind.POSITION, is_active=True
        ).order_by("path"):
            positions[position.pk] = position
    templates = {}
    result_skipped = []
    inspectable = []
    for position in sorted(positions.values(), key=lambda p: p.path):
        if position.position_kind not in templates:
            templates[position.position_kind] = selectors.template_for_kind(position.position_kind)
        if templates[position.position_kind] is None:
            result_skipped.append(position.code)
        else:
            inspectable.append(position)
    if not inspectable:
        raise ValidationFailed(
            "no active work position with a checklist in these units", loc=("body", "units"), type="empty"
        )
    busy = list(
        CampaignPosition.objects.filter(
            position__in=inspectable, campaign__status=CampaignStatus.ACTIVE
        ).select_related("position", "campaign")[:5]
    )
    if busy:
        raise ValidationFailed(
            items=[
                ErrorItem(
                    ("body", "units"),
                    f"{cp.position.code} is already in active campaign {cp.campaign.code}",
                    "already_in_campaign",
                )
                for cp in busy
            ]
        )
    unit_path = _common_path([u.path for u in chosen])
    audited_create(actor=actor, obj=campaign, unit_path=unit_path)
    campaign.units.set(chosen)
    # A campaign over several units is filed where they meet; each unit's own auditors get the row as well.
    _audit_also(
        actor,
        obj=campaign,
        primary=unit_path,
        paths=[u.path for u in chosen],
        action="create",
        after={"code": campaign.code, "units": sorted(u.code for u in chosen)},
    )
    team_paths = sorted(
        ((u.path, team) for c, team in (teams or {}).items() for u in Unit.objects.filter(code=c)),
        key=lambda pt: -len(pt[0]),
    )

    def team_for(position: Unit) -> str:
        return next((team for path, team in team_paths if position.path.startswith(path)), "")

    reasons = [{"code": "no_inspection", "msg": "inspection not done yet"}]
    CampaignPosition.objects.bulk_create(
        CampaignPosition(
            campaign=campaign,
            position=p,
            team=team_for(p),
            ready=False,
            reasons=reasons,
            state_changed_at=now,
        )
        for p in inspectable
    )
    Inspection.objects.bulk_create(
        Inspection(
            campaign=campaign,
            position=p,
            template=templates[p.position_kind],
            sequence=1,
            team=team_for(p),
            due_on=due_on,
            created_at=now,
        )
        for p in inspectable
    )
    ReadinessEvent.objects.bulk_create(
        ReadinessEvent(
            campaign=campaign, position=p, at=now, kind=ReadinessEvent.Kind.NOT_READY, reasons=reasons
        )
        for p in inspectable
    )
    audit_record(
        actor=actor,
        action="generate",
        obj=campaign,
        unit_path=unit_path,
        after={"inspections": len(inspectable), "skipped": result_skipped[:50]},
    )
    return CampaignResult(campaign, len(inspectable), result_skipped)


def _campaign_units_allow(actor, campaign: Campaign, perm: str) -> None:
    scope = scope_for(actor)
    units = list(campaign.units.all())
    if not units or not all(scope.allows(perm, u.path) for u in units):
        raise PermissionDenied(
            f"you may not {Perm(perm).label} for every unit of campaign {campaign.code}", loc=("path", "code")
        )


@transaction.atomic
def campaign_update(
    *, actor, campaign: Campaign, gate_mode: str | None = None, status: str | None = None, now=None
):
    """A planner chooses whether shift figures of positions not yet released are rejected or flagged; a safety
    officer (or planner) closes the campaign, which lifts its gate."""
    changes = {}
    if gate_mode is not None:
        _campaign_units_allow(actor, campaign, Perm.PLAN)
        if gate_mode not in GateMode.values:
            raise ValidationFailed(f"gate_mode must be one of {GateMode.values}", loc=("body", "gate_mode"))
        changes["gate_mode"] = gate_mode
    if status is not None:
        scope = scope_for(actor)
        if not all(
            scope.allows(Perm.SAFETY, u.path) or scope.allows(Perm.PLAN, u.path) for u in campaign.units.all()
        ):
            raise PermissionDenied(f"you may not close campaign {campaign.code}", loc=("body", "status"))
        if status not in CampaignStatus.values:
            raise ValidationFailed(f"status must be one of {CampaignStatus.values}", loc=("body", "status"))
        changes["status"] = status
        changes["closed_at"] = (now or timezone.now()) if status == CampaignStatus.CLOSED else None
    units = list(campaign.units.all())
    unit_path = _common_path([u.path for u in units])
    if audited_update(actor=actor, obj=campaign, changes=changes, unit_path=unit_path):
        _audit_also(
            actor,
            obj=campaign,
            primary=unit_path,
            paths=[u.path for u in units],
            action="update",
            after=snapshot(campaign, changes),
        )
    return campaign


# --- answers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerIn:
    item: str
    choice: str = ""
    number: object = None
    text: str = ""
    note: str = ""


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def _as_number(value) -> float | None:
    """A reading as typed: a number, or ASCII digits with a decimal point or a Vietnamese decimal comma.
    True/false, Unicode digits ("١٢٣"), digit separators ("1_000"), exponents and words are not readings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        value = value.strip().replace(" ", "")
        if "," in value:  # Vietnamese decimal comma: 0,45 (a dot before it groups thousands)
            value = value.replace(".", "").replace(",", ".")
        if not _NUMBER.fullmatch(value):
            raise ValueError(value)
    elif not isinstance(value, int | float):
        raise ValueError(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(value) from None
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _fmt(value: float) -> str:
    """A measured value in a verdict, the way the active language writes it: 0,2 (vi), 0.2 (en)."""
    shown = f"{value:g}"
    if (translation.get_language() or "vi").startswith("en") or not math.isfinite(value) or "e" in shown:
        return shown
    from headframe.core.formatting import format_exact

    return format_exact(shown)


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
            from headframe.telemetry.selectors import gas_limit

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
                    "value": _fmt(value),
                    "uom": item.unit_of_measure,
                    "sign": sign,
                    "limit": _fmt(limit.threshold),
                    "profile": limit.profile,
                    "code": limit.code,
                }
            else:
                answer.passed = True
            return
        if item.min_value is not None and value < item.min_value:
            answer.passed = False
            answer.verdict = _("%(value)s %(uom)s is below the minimum %(limit)s") % {
                "value": _fmt(value),
                "uom": item.unit_of_measure,
                "limit": _fmt(item.min_value),
            }
        elif item.max_value is not None and value > item.max_value:
            answer.passed = False
            answer.verdict = _("%(value)s %(uom)s is above the maximum %(limit)s") % {
                "value": _fmt(value),
                "uom": item.unit_of_measure,
                "limit": _fmt(item.max_value),
            }
        else:
            answer.passed = True
    else:
        answer.passed = None


def _site_of(position: Unit) -> Unit | None:
    codes = position.path.strip("/").split("/")
    return Unit.objects.filter(code__in=codes, kind=UnitKind.SITE).first()


def _editable(inspection: Inspection) -> None:
    """Lock the inspection row for the rest of the transaction and check, on its current state, that it is
    still open: the tablet saves in the background while the inspector may press "Sign", and two writers
    must not both insert the same answer (nor write answers into an inspection just signed)."""
    inspection.status = (
        Inspection.objects.select_for_update().values_list("status", flat=True).get(pk=inspection.pk)
    )
    if inspection.status != InspectionStatus.PENDING:
        raise Conflict(
            _("inspection #%(id)d is already signed: its answers cannot change") % {"id": inspection.pk},
            loc=("path", "id"),
            type="signed",
        )


def _parse_answers(inspection: Inspection, answers: list[AnswerIn], actor, now) -> list[Answer]:
    """Validate every answer (all errors at once) and return them judged, unsaved."""
    items = {i.code: i for i in inspection.template.items.all()}
    existing = {a.item_id: a for a in inspection.answers.all()}
    site = _site_of(inspection.position)
    errors: list[ErrorItem] = []
    out: list[Answer] = []
    seen = set()
    for n, given in enumerate(answers):
        loc = ("body", "answers", n)
        item = items.get(given.item)
        if item is None:
            errors.append(
                ErrorItem((*loc, "item"), f"no item {given.item!r} in {inspection.template}", "unknown_item")
            )
            continue
        if item.code in seen:
            errors.append(ErrorItem((*loc, "item"), f"item {item.code} answered twice", "duplicate"))
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
                    ErrorItem((*loc, "choice"), f"answer pass, fail or na, not {given.choice!r}", "enum")
                )
                continue
            answer.choice = choice
        elif item.answer_type == AnswerType.NUMBER:
            try:
                number = _as_number(given.number)
            except ValueError:
                errors.append(ErrorItem((*loc, "number"), f"not a number: {given.number!r}", "not_a_number"))
                continue
            if number is not None and (
                (item.range_min is not None and number < item.range_min)
                or (item.range_max is not None and number > item.range_max)
            ):
                errors.append(
                    ErrorItem(
                        (*loc, "number"),
                        _(
                            "%(value)s %(uom)s is outside what can be measured (%(lo)s–%(hi)s): check the reading"
                        )
                        % {
                            "value": _fmt(number),
                            "uom": item.unit_of_measure,
                            "lo": _fmt(item.range_min if item.range_min is not None else -math.inf),
                            "hi": _fmt(item.range_max if item.range_max is not None else math.inf),
                        },
                        "out_of_range",
                    )
                )
                continue
            answer.number = number
        elif item.answer_type == AnswerType.TEXT:
            if len(given.text or "") > MAX_TEXT:
                errors.append(ErrorItem((*loc, "text"), f"at most {MAX_TEXT} characters", "too_long"))
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


@dataclass(frozen=True)
class InspectionProgress:
    answered: int
    total: int


def _is_answered(item: TemplateItem, answer: Answer | None, photo_items: set) -> bool:
    return {
        AnswerType.PASS_FAIL_NA: answer is not None and answer.choice != "",
        AnswerType.NUMBER: answer is not None and answer.number is not None,
        AnswerType.TEXT: answer is not None and answer.text.strip() != "",
        AnswerType.PHOTO: item.pk in photo_items,
    }[item.answer_type]


def inspection_progress(inspection: Inspection) -> InspectionProgress:
    """Items answered out of all items (a photo item counts once it has a photo), for the form's counter."""
    answers = {a.item_id: a for a in inspection.answers.all()}
    photo_items = set(inspection.photos.exclude(item=None).values_list("item_id", flat=True))
    items = list(inspection.template.items.all())
    answered = sum(_is_answered(i, answers.get(i.pk), photo_items) for i in items)
    return InspectionProgress(answered=answered, total=len(items))


def item_photos(inspection: Inspection) -> dict[int, list[Photo]]:
    """Photos by item id (None: on the inspection as a whole), the drawn signature left out."""
    out: dict = {}
    for photo in inspection.photos.exclude(pk=inspection.signature_id or 0).order_by("id"):
        out.setdefault(photo.item_id, []).append(photo)
    return out


# --- photos -------------------------------------------------------------------------------------------------

MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def photo_max_bytes() -> int:
    configured = getattr(settings, "SAFETY_PHOTO_MAX_BYTES", None)
    if configured:
        return int(configured)
    return int(os.environ.get("HEADFRAME_SAFETY_PHOTO_MAX_BYTES", DEFAULT_PHOTO_MAX_BYTES))


def media_root() -> Path:
    return Path(getattr(settings, "MEDIA_ROOT", "") or (Path(settings.VAR_DIR) / "media"))


def sniff_image(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes — JPEG, PNG or WebP — never from its name."""
    for magic, content_type, ext in MAGIC:
        if content.startswith(magic):
            return content_type, ext
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def _check_photo(content: bytes) -> tuple[str, str]:
    limit = photo_max_bytes()
    if not content:
        raise ValidationFailed(_("the photo is empty"), loc=("body", "file"), type="empty")
    if len(content) > limit:
        raise ValidationFailed(
            _("the photo is %(size)s MB; at most %(limit)s MB")
            % {"size": f"{len(content) / 1048576:.1f}", "limit": f"{limit / 1048576:.1f}"},
            loc=("body", "file"),
            type="too_large",
        )
    kind = sniff_image(content)
    if kind is None:
        raise ValidationFailed(
            _("only JPEG, PNG or WebP photos are accepted"), loc=("body", "file"), type="unsupported_type"
        )
    _check_dimensions(content)
    return kind


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) from the image's header, without decoding its pixels; None if it cannot be read."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:  # reads the header only (no load())
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (MAX_PHOTO_SIDE + 1, MAX_PHOTO_SIDE + 1)  # past Pillow's own bomb limit: past ours too
    except Exception:  # Pillow raises UnidentifiedImageError, SyntaxError, struct.error… for a broken header
        return None


def _check_dimensions(content: bytes) -> None:
    size = image_size(content)
    if size is None:
        raise ValidationFailed(
            _("the photo cannot be read: the file is damaged or not really an image"),
            loc=("body", "file"),
            type="unreadable_image",
        )
    width, height = size
    if max(width, height) > MAX_PHOTO_SIDE or width * height > MAX_PHOTO_PIXELS:
        raise TooLarge(
            _("the photo is %(w)d × %(h)d pixels; at most %(side)d pixels a side and %(mp)d megapixels")
            % {"w": width, "h": height, "side": MAX_PHOTO_SIDE, "mp": MAX_PHOTO_PIXELS // 1_000_000},
            loc=("body", "file"),
            type="image_too_large",
        )


def _store(content: bytes, ext: str) -> tuple[str, str]:
    digest = hashlib.sha256(content).hexdigest()
    relative = f"safety/{digest[:2]}/{digest}.{ext}"
    target = media_root() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(content)
        os.replace(tmp, target)
    return digest, relative


@transaction.atomic
def photo_add(
    *,
    actor,
    content: bytes,
    filename: str = "",
    inspection_id: int | None = None,
    item_code: str = "",
    finding_id: int | None = None,
    incident_id: int | None = None,
    now=None,
) -> Photo:
    """Attach a photo to an inspection item, a finding (evidence) or an incident. Type is read from the
    bytes (JPEG/PNG/WebP), size is capped (SAFETY_PHOTO_MAX_BYTES, default 8 MB)."""
    now = now or timezone.now()
    # The name is only shown: hidden characters (a right-to-left override turning "gpj.exe" around) are dropped.
    name = "".join(c for c in (filename or "") if hidden_character(c) is None)[:200]
    photo = Photo(original_name=name, uploaded_by=_actor(actor), uploaded_at=now)
    if inspection_id is not None:
        inspection = selectors.inspection_get(actor, inspection_id, Perm.SAFETY)
        _editable(inspection)
        item = None
        if item_code:
            item = inspection.template.items.filter(code=item_code).first()
            if item is None:
                raise ValidationFailed(
                    f"no item {item_code!r} in {inspection.template}", loc=("body", "item")
                )
        photo.inspection, photo.item, photo.unit = inspection, item, inspection.position
    elif finding_id is not None:
        finding = selectors.finding_get(actor, finding_id, Perm.VIEW)
        if not selectors.may_report_or_inspect(scope_for(actor), finding.position.path):
            raise PermissionDenied(
                f"you may not add evidence for {finding.position.code}", loc=("path", "id")
            )
        if finding.status == FindingStatus.CLOSED:
            raise Conflict(_("the finding is closed"), loc=("path", "id"), type="closed")
        photo.finding, photo.unit = finding, finding.position
    elif incident_id is not None:
        incident = selectors.incident_get(actor, incident_id, Perm.VIEW)
        if not selectors.may_report_or_inspect(scope_for(actor), incident.unit.path):
            raise PermissionDenied(f"you may not add photos for {incident.unit.code}", loc=("path", "id"))
        photo.incident, photo.unit = incident, incident.unit
    else:
        raise ValidationFailed("attach the photo to an inspection, a finding or an incident", loc=("body",))
    content_type, ext = _check_photo(content)
    photo.sha256, photo.path = _store(content, ext)
    photo.content_type, photo.size = content_type, len(content)
    audited_create(actor=actor, obj=photo, unit_path=photo.unit.path)
    return photo


def photo_path(photo: Photo) -> Path:
    return media_root() / photo.path


def photo_open(photo: Photo):
    """The photo's file, open for reading; NotFound (404) if it is gone from the media folder (restored from
    an older backup, removed by hand) — the record stays, the page and the API say so instead of failing."""
    try:
        return open(photo_path(photo), "rb")  # the response closes it
    except OSError:
        raise NotFound(
            _("the file of photo %(id)d is missing") % {"id": photo.pk},
            loc=("path", "photo_id"),
            type="photo_file_missing",
        ) from None


# --- signing ------------------------------------------------------------------------------------------------

SIGNATURE_MAX_BYTES = 300 * 1024
SIGNATURE_MAX_SIDE = 2000
_DATA_URL = "data:image/png;base64,"


def signature_from_data_url(value: str) -> bytes | None:
    """The PNG a canvas gives as a data: URL (toDataURL), decoded; None when nothing was drawn. Anything
    but a PNG data URL of reasonable size is refused at `signature`."""
    import base64
    import binascii

    value = (value or "").strip()
    if not value:
        return None
    loc = ("body", "signature")
    if not value.startswith(_DATA_URL):
        raise ValidationFailed(_("the signature must be a PNG image"), loc=loc, type="unsupported_type")
    if len(value) > SIGNATURE_MAX_BYTES * 4 // 3 + len(_DATA_URL) + 4:
        raise TooLarge(
            _("the signature image is too large: at most %(kb)d KB") % {"kb": SIGNATURE_MAX_BYTES // 1024},
            loc=loc,
            type="too_large",
        )
    try:
        return base64.b64decode(value[len(_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            _("the signature must be a PNG image"), loc=loc, type="unsupported_type"
        ) from None


def _check_signature(content: bytes) -> None:
    loc = ("body", "signature")
    if len(content) > SIGNATURE_MAX_BYTES:
        raise TooLarge(
            _("the signature image is too large: at most %(kb)d KB") % {"kb": SIGNATURE_MAX_BYTES // 1024},
            loc=loc,
            type="too_large",
        )
    if not content.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValidationFailed(_("the signature must be a PNG image"), loc=loc, type="unsupported_type")
    size = image_size(content)
    if size is None:
        raise ValidationFailed(_("the signature must be a PNG image"), loc=loc, type="unreadable_image")
    if max(size) > SIGNATURE_MAX_SIDE:
        raise TooLarge(
            _("the signature image is %(w)d × %(h)d pixels; at most %(side)d pixels a side")
            % {"w": size[0], "h": size[1], "side": SIGNATURE_MAX_SIDE},
            loc=loc,
            type="image_too_large",
        )


def _missing(inspection: Inspection) -> list[ErrorItem]:
    answers = {a.item_id: a for a in inspection.answers.all()}
    photos = {p.item_id for p in inspection.photos.all()}
    missing = []
    for item in inspection.template.items.all().select_related("section").order_by("section__order", "order"):
        if not item.required:
            continue
        answer = answers.get(item.pk)
        answered = {
            AnswerType.PASS_FAIL_NA: answer is not None and answer.choice != "",
            AnswerType.NUMBER: answer is not None and answer.number is not None,
            AnswerType.TEXT: answer is not None and answer.text.strip() != "",
            AnswerType.PHOTO: item.pk in photos,
        }[item.answer_type]
        if not answered:
            missing.append(
                ErrorItem(
                    ("body", "answers", item.code),
                    _("%(code)s not answered: %(text)s") % {"code": item.code, "text": item.text},
                    "missing",
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
        _check_signature(signature)
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
        raise PermissionDenied(f"you may not countersign for {inspection.position.code}", loc=("path", "id"))
    if inspection.status == InspectionStatus.PENDING:
        raise Conflict(_("the inspector has not signed yet"), loc=("path", "id"), type="not_signed")
    if inspection.status == InspectionStatus.COMPLETE:
        raise Conflict(_("already countersigned"), loc=("path", "id"), type="countersigned")
    if getattr(actor, "pk", None) is None or actor.pk == inspection.signed_by_id:
        raise ValidationFailed(
            _("the inspector cannot countersign their own inspection: the shift overman must"),
            loc=("body", "countersigned_by"),
            type="self_countersign",
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
        raise NotFound(f"{position_code} is not in campaign {campaign.code}", loc=("body", "position"))
    _visible(actor, cp.position, Perm.SAFETY, loc=("body", "position"))
    latest = selectors.latest_inspections(campaign, [cp.position_id]).get(cp.position_id)
    if latest is not None and latest.status != InspectionStatus.COMPLETE:
        raise Conflict(
            _("inspection #%(id)d of %(unit)s is still open") % {"id": latest.pk, "unit": cp.position.code},
            loc=("body", "position"),
            type="open_inspection",
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


# --- findings -----------------------------------------------------------------------------------------------


@transaction.atomic
def finding_create(
    *,
    actor,
    position_code: str,
    severity: str,
    title: str,
    deadline: dt.date,
    detail: str = "",
    responsible: str = "",
    now=None,
) -> Finding:
    """A finding from a walk-round or an incident, at a work position (or any unit)."""
    now = now or timezone.now()
    unit = unit_named(actor, position_code, loc=("body", "position"))
    _visible(actor, unit, Perm.SAFETY, loc=("body", "position"))
    check_day(deadline, loc=("body", "deadline"))
    _clean_texts({"title": title, "detail": detail, "responsible": responsible}, multiline=("detail",))
    campaign = selectors.active_campaign_for(unit)
    finding = Finding(
        position=unit,
        campaign=campaign,
        severity=severity,
        title=title,
        detail=detail,
        responsible=responsible,
        deadline=deadline,
        created_at=now,
        created_by=_actor(actor),
    )
    audited_create(actor=actor, obj=finding, unit_path=unit.path)
    _refresh_after(actor, unit, campaign, now)
    return finding


@transaction.atomic
def finding_update(
    *,
    actor,
    finding_id: int,
    responsible: str | None = None,
    responsible_user: str | None = None,
    deadline: dt.date | None = None,
    severity: str | None = None,
    now=None,
) -> Finding:
    """Change who is responsible (a name, and/or a login whose role covers the finding's position), the
    deadline (not in the past) or the severity (the priority) of an open finding: safety role only, audited."""
    now = now or timezone.now()
    finding = selectors.finding_get(actor, finding_id, Perm.SAFETY)
    if finding.status == FindingStatus.CLOSED:
        raise Conflict(_("the finding is closed"), loc=("path", "id"), type="closed")
    changes = {}
    errors: list[ErrorItem] = []
    if responsible is not None:
        _clean_texts({"responsible": responsible})
        if len(responsible) > 200:
            errors.append(ErrorItem(("body", "responsible"), _("at most 200 characters"), "too_long"))
        changes["responsible"] = responsible.strip()
    if responsible_user is not None:
        if responsible_user.strip() == "":
            changes["responsible_user"] = None
        else:
            person = responsible_candidates(finding).filter(username=responsible_user.strip()).first()
            if person is None:
                errors.append(
                    ErrorItem(
                        ("body", "responsible_user"),
                        _("%(user)s has no role at %(unit)s: choose someone of that unit")
                        % {"user": responsible_user.strip()[:60], "unit": finding.position.code},
                        "outside_unit",
                    )
                )
            else:
                changes["responsible_user"] = person
                if responsible is None and not finding.responsible:
                    changes["responsible"] = person.get_full_name() or person.username
    if deadline is not None:
        check_day(deadline, loc=("body", "deadline"))
        today = timezone.localtime(now).date()
        if deadline < today and deadline != finding.deadline:
            errors.append(
                ErrorItem(
                    ("body", "deadline"),
                    _("the deadline %(day)s is in the past") % {"day": deadline.strftime("%d/%m/%Y")},
                    "deadline_in_past",
                )
            )
        changes["deadline"] = deadline
    if severity is not None and severity not in Severity.values:
        errors.append(
            ErrorItem(
                ("body", "severity"),
                _("choose a severity: %(choices)s") % {"choices": ", ".join(Severity.values)},
                "enum",
            )
        )
        severity = None
    if errors:
        raise ValidationFailed(items=errors)
    if severity is not None:
        if finding.item is not None and finding.item.critical and severity != Severity.CRITICAL:
            raise ValidationFailed(
                _("a failed critical item stays a critical finding"),
                loc=("body", "severity"),
                type="critical_item",
            )
        changes["severity"] = severity
    audited_update(actor=actor, obj=finding, changes=changes, unit_path=finding.position.path)
    _refresh_after(actor, finding.position, finding.campaign, now)
    return finding


def responsible_candidates(finding: Finding):
    """Logins that may be made responsible for a finding: those holding a role on its position or above."""
    from django.contrib.auth import get_user_model

    path = finding.position.path
    prefixes = [p for p in ancestor_paths(path) if p] + [path]
    return (
        get_user_model()
        .objects.filter(is_active=True, role_assignments__unit__path__in=prefixes)
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def finding_close(
    *, actor, finding_id: int, action_taken: str, evidence: str = "", now: dt.datetime | None = None
) -> Finding:
    """A safety officer verifies the corrective action and closes the finding. Closure needs the action taken
    and evidence (a note of what was checked, or a photo attached to the finding)."""
    now = now or timezone.now()
    finding = selectors.finding_get(actor, finding_id, Perm.SAFETY)
    if finding.status == FindingStatus.CLOSED:
        raise Conflict(_("the finding is already closed"), loc=("path", "id"), type="closed")
    _clean_texts({"action_taken": action_taken, "evidence": evidence}, multiline=("action_taken", "evidence"))
    errors = []
    if not (action_taken or "").strip():
        errors.append(
            ErrorItem(("body", "action_taken"), _("say what corrective action was taken"), "missing")
        )
    if not (evidence or "").strip() and not finding.photos.exists():
        errors.append(
            ErrorItem(
                ("body", "evidence"),
                _("closing a %(severity)s finding needs evidence: a note of what was verified or a photo")
                % {"severity": Severity(finding.severity).label.lower()},
                "evidence_required",
            )
        )
    if errors:
        raise ValidationFailed(items=errors)
    audited_update(
        actor=actor,
        obj=finding,
        changes={
            "status": FindingStatus.CLOSED,
            "action_taken": action_taken.strip(),
            "evidence": (evidence or "").strip(),
            "closed_at": now,
            "verified_by": actor,
        },
        unit_path=finding.position.path,
        action="close",
    )
    _refresh_after(actor, finding.position, finding.campaign, now)
    return finding


# --- readiness and release ----------------------------------------------------------------------------------


def _refresh_after(actor, position: Unit, campaign: Campaign | None, now) -> None:
    campaign = campaign if campaign is not None and campaign.status == CampaignStatus.ACTIVE else None
    campaign = campaign or selectors.active_campaign_for(position)
    if campaign is not None:
        readiness_refresh(actor=actor, campaign=campaign, positions=[position], now=now)


@transaction.atomic
def readiness_refresh(*, actor, campaign: Campaign, positions: list[Unit] | None = None, now=None) -> dict:
    """Recompute the readiness of a campaign's positions (all of them, or those given) and log every change of
    state. A released position that stops being ready because of its inspection or a critical finding loses
    its release (a gas alarm alone does not: the gas system trips the power itself)."""
    now = now or timezone.now()
    # Locked (in a fixed order) so that a release and a refresh never interleave: whichever comes second sees
    # what the first committed — a release re-checks readiness, a refresh sees the release and revokes it.
    cps = (
        CampaignPosition.objects.filter(campaign=campaign)
        .select_related("position")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if positions is not None:
        cps = cps.filter(position__in=positions)
    cps = list(cps)
    states = selectors.readiness_many([cp.position for cp in cps], campaign=campaign, now=now)
    events, audits = [], []
    for cp in cps:
        state = states[cp.position_id]
        blocking = [r for r in state.reasons if r["code"] != "gas"]
        must_revoke = cp.released and bool(blocking)  # even when the stored state already says so
        if cp.ready == state.ready and cp.reasons == state.reasons and not must_revoke:
            continue
        became = cp.ready != state.ready
        cp.ready, cp.reasons = state.ready, state.reasons
        fields = ["ready", "reasons"]
        if became:
            cp.state_changed_at = now
            fields.append("state_changed_at")
            kind = ReadinessEvent.Kind.READY if state.ready else ReadinessEvent.Kind.NOT_READY
            events.append(
                ReadinessEvent(
                    campaign=campaign,
                    position=cp.position,
                    at=now,
                    kind=kind,
                    reasons=state.reasons,
                    actor=_actor(actor),
                )
            )
            audits.append(
                audit_entry(
                    actor=actor,
                    action="readiness",
                    obj=cp,
                    unit_path=cp.position.path,
                    object_repr=f"{campaign.code} {cp.position.code}",
                    before={"ready": not state.ready},
                    after={"ready": state.ready, "reasons": state.reasons},
                )
            )
        if must_revoke:
            cp.revoked_at = now
            cp.revoke_reason = "; ".join(r["msg"] for r in blocking)[:300]
            fields += ["revoked_at", "revoke_reason"]
            events.append(
                ReadinessEvent(
                    campaign=campaign,
                    position=cp.position,
                    at=now,
                    kind=ReadinessEvent.Kind.REVOKED,
                    reasons=blocking,
                    actor=_actor(actor),
                )
            )
            audits.append(
                audit_entry(
                    actor=actor,
                    action="revoke",
                    obj=cp,
                    unit_path=cp.position.path,
                    object_repr=f"{campaign.code} {cp.position.code}",
                    after={"revoked_at": now.isoformat(), "reasons": blocking},
                )
            )
        cp.save(update_fields=fields)
    ReadinessEvent.objects.bulk_create(events)
    audit_record_many(audits)
    return states


def position_release(
    *, actor, position_code: str, campaign_code: str = "", note: str = "", now: dt.datetime | None = None
) -> CampaignPosition:
    """Release a work position to production: safety role, and only when it is ready now (its reasons are
    the 422's items otherwise). Re-releasing a released position changes nothing."""
    now = now or timezone.now()
    unit = Unit.objects.filter(code=position_code).first()
    if unit is None or not scope_for(actor).allows(Perm.VIEW, unit.path):
        raise NotFound(f"unit {position_code!r} not found", loc=("body", "position"))
    _clean_texts({"note": note}, multiline=("note",))
    _visible(
        actor,
        unit,
        Perm.SAFETY,
        loc=("body", "position"),
        what=f"only a safety officer may release {unit.code}",
    )
    if campaign_code:
        campaign = Campaign.objects.filter(code=campaign_code, status=CampaignStatus.ACTIVE).first()
    else:
        campaign = selectors.active_campaign_for(unit)
    cp = CampaignPosition.objects.filter(campaign=campaign, position=unit).first() if campaign else None
    if cp is None:
        raise ValidationFailed(
            _("%(unit)s is not in an active inspection campaign") % {"unit": unit.code},
            loc=("body", "position"),
            type="not_in_campaign",
        )

    def refused(state) -> ValidationFailed:
        return ValidationFailed(
            items=[
                ErrorItem(("body", "position"), f"{unit.code}: {r['msg']}", r["code"]) for r in state.reasons
            ]
        )

    states = readiness_refresh(actor=actor, campaign=campaign, positions=[unit], now=now)  # logs what it saw
    state = states[unit.pk]
    if not state.ready:
        raise refused(state)
    with transaction.atomic():
        cp = CampaignPosition.objects.select_for_update().get(pk=cp.pk)
        if cp.released:
            return cp
        # Re-checked under the lock: a critical finding (or a failed inspection) committed since the check above
        # must not be released over. The refresh is kept (it logs what it saw) and the release refused after.
        state = readiness_refresh(actor=actor, campaign=campaign, positions=[unit], now=now)[unit.pk]
        if state.ready:
            cp.refresh_from_db()
            audited_update(
                actor=actor,
                obj=cp,
                changes={
                    "released_at": now,
                    "released_by": actor,
                    "release_note": note[:300],
                    "revoked_at": None,
                    "revoke_reason": "",
                },
                unit_path=unit.path,
                action="release",
            )
            ReadinessEvent.objects.create(
                campaign=campaign,
                position=unit,
                at=now,
                kind=ReadinessEvent.Kind.RELEASED,
                actor=_actor(actor),
                reasons=[{"code": "released", "msg": note[:300]}] if note else [],
            )
    if not state.ready:
        raise refused(state)
    return cp


# --- incidents ----------------------------------------------------------------------------------------------


def _findings_for(actor, ids, loc) -> list[Finding]:
    """The findings an incident is linked to: each visible to the actor (else unknown, like a missing one) and
    at a place where the actor may report or inspect — linking writes to the finding's place as well as the
    incident's, so seeing it is not enough."""
    ids = list(ids or [])
    found = {f.pk: f for f in selectors.findings_visible(actor).filter(pk__in=ids).select_related("position")}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(f"unknown finding(s) {missing}", loc=loc, type="unknown_finding")
    scope = scope_for(actor)
    denied = [
        ErrorItem(
            (*loc, n),
            f"you may not link findings of {found[i].position.code}: outside your scope",
            "permission_denied",
        )
        for n, i in enumerate(ids)
        if not selectors.may_report_or_inspect(scope, found[i].position.path)
    ]
    if denied:
        raise PermissionDenied(items=denied)
    return list(found.values())


def _audit_links(actor, incident: Incident, findings: list[Finding]) -> None:
    """The findings' own places learn that they were linked to this incident."""
    _audit_also(
        actor,
        obj=incident,
        primary=incident.unit.path,
        paths=[f.position.path for f in findings],
        action="link",
        after={"incident": incident.pk, "findings": sorted(f.pk for f in findings)},
    )


@transaction.atomic
def incident_report(
    *,
    actor,
    unit_code: str,
    kind: str,
    category: str,
    severity: str,
    occurred_at: dt.datetime,
    title: str,
    description: str = "",
    people_involved: str = "",
    injured: int = 0,
    immediate_actions: str = "",
    finding_ids: list[int] | None = None,
    now=None,
) -> Incident:
    now = now or timezone.now()
    unit = unit_named(actor, unit_code, loc=("body", "unit"))
    if not selectors.may_report_or_inspect(scope_for(actor), unit.path):
        raise PermissionDenied(f"you may not report incidents for {unit.code}", loc=("body", "unit"))
    errors = []
    for name, value, choices in (
        ("kind", kind, IncidentKind),
        ("category", category, IncidentCategory),
        ("severity", severity, IncidentSeverity),
    ):
        if value not in choices.values:
            errors.append(
                ErrorItem(("body", name), f"{name} must be one of {', '.join(choices.values)}", "enum")
            )
    try:
        _clean_texts(
            {
                "title": title,
                "description": description,
                "people_involved": people_involved,
                "immediate_actions": immediate_actions,
            },
            multiline=("description", "people_involved", "immediate_actions"),
        )
        check_day(occurred_at, loc=("body", "occurred_at"))
    except ValidationFailed as exc:
        errors.extend(exc.items)
    if occurred_at is None or timezone.is_naive(occurred_at):
        errors.append(ErrorItem(("body", "occurred_at"), "give the time with its offset", "naive_time"))
    elif occurred_at > now + dt.timedelta(minutes=5):
        errors.append(ErrorItem(("body", "occurred_at"), _("the time is in the future"), "future"))
    if kind == IncidentKind.NEAR_MISS and injured:
        errors.append(ErrorItem(("body", "injured"), _("a near miss injures nobody"), "near_miss_injury"))
    if errors:
        raise ValidationFailed(items=errors)
    findings = _findings_for(actor, finding_ids, ("body", "findings"))
    incident = Incident(
        unit=unit,
        kind=kind,
        category=category,
        severity=severity,
        occurred_at=occurred_at,
        title=title,
        description=description,
        people_involved=people_involved,
        injured=injured,
        immediate_actions=immediate_actions,
        reported_by=_actor(actor),
        reported_at=now,
    )
    audited_create(actor=actor, obj=incident, unit_path=unit.path)
    if findings:
        incident.findings.set(findings)
        _audit_links(actor, incident, findings)
    return incident


@transaction.atomic
def incident_update(
    *,
    actor,
    incident_id: int,
    investigation: str | None = None,
    root_cause: str | None = None,
    immediate_actions: str | None = None,
    severity: str | None = None,
    finding_ids: list[int] | None = None,
) -> Incident:
    incident = selectors.incident_get(actor, incident_id, Perm.SAFETY)
    changes = {
        k: v
        for k, v in (
            ("investigation", investigation),
            ("root_cause", root_cause),
            ("immediate_actions", immediate_actions),
            ("severity", severity),
        )
        if v is not None
    }
    if severity is not None and severity not in IncidentSeverity.values:
        raise ValidationFailed(f"severity must be one of {IncidentSeverity.values}", loc=("body", "severity"))
    _clean_texts(
        {k: v for k, v in changes.items() if k != "severity"},
        multiline=("investigation", "root_cause", "immediate_actions"),
    )
    findings = _findings_for(actor, finding_ids, ("body", "findings")) if finding_ids is not None else None
    audited_update(actor=actor, obj=incident, changes=changes, unit_path=incident.unit.path)
    if findings is not None:
        incident.findings.set(findings)
        audit_record(
            actor=actor,
            action="link",
            obj=incident,
            unit_path=incident.unit.path,
            after={"findings": sorted(f.pk for f in findings)},
        )
        _audit_links(actor, incident, findings)
    return incident


# --- the production gate ------------------------------------------------------------------------------------


def production_flags_record(*, actor, rows: list[tuple]) -> int:
    """Called by production.services.actuals_upsert inside its transaction: remember shift figures accepted
    for positions not released under a campaign in flag mode. rows: (unit, indicator code, day, shift,
    GateBlock). Re-sending the same figures adds nothing."""
    if not rows:
        return 0
    keys = {(b.campaign_id, u.pk, code, day, shift) for u, code, day, shift, b in rows}
    existing = set(
        FlaggedActual.objects.filter(
            campaign_id__in={k[0] for k in keys}, unit_id__in={k[1] for k in keys}
        ).values_list("campaign_id", "unit_id", "indicator_code", "day", "shift")
    )
    new = []
    audits = []
    for unit, code, day, shift, block in rows:
        key = (block.campaign_id, unit.pk, code, day, shift)
        if key in existing:
            continue
        existing.add(key)
        flag = FlaggedActual(
            campaign_id=block.campaign_id,
            unit=unit,
            indicator_code=code,
            day=day,
            shift=shift,
            reason=block.reason[:400],
            entered_by=_actor(actor),
        )
        new.append(flag)
    FlaggedActual.objects.bulk_create(new)
    for flag in new:
        audits.append(
            audit_entry(
                actor=actor,
                action="flag",
                obj=flag,
                unit_path=flag.unit.path,
                object_repr=f"{flag.unit.code} {flag.indicator_code} {flag.day:%d/%m/%Y} ca {flag.shift}",
                after={"reason": flag.reason},
            )
        )
    audit_record_many(audits)
    return len(new)


__all__ = [
    "SEVERITY_RANK",
    "AnswerIn",
    "CampaignResult",
    "answers_save",
    "campaign_create",
    "campaign_update",
    "finding_close",
    "finding_create",
    "finding_update",
    "incident_report",
    "incident_update",
    "inspection_countersign",
    "inspection_repeat",
    "inspection_sign",
    "photo_add",
    "position_release",
    "production_flags_record",
    "readiness_refresh",
    "template_publish",
]
