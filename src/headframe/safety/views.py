"""Safety pages: campaigns and their progress, the tablet inspection form, the readiness board, findings and
the incident register. Every write goes through safety.services; errors come back onto the page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from headframe.core.downloads import attachment
from headframe.core.errors import HeadframeError, NotFound, ValidationFailed
from headframe.core.redirects import safe_next
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit, scope_for, unit_get
from headframe.safety import exports, selectors, services
from headframe.safety.models import (
    FindingStatus,
    IncidentCategory,
    IncidentKind,
    IncidentSeverity,
    InspectionStatus,
    Severity,
)
from headframe.telemetry.selectors import gas_limit

NAV = {"active_nav": "safety"}


def _errors(exc: HeadframeError) -> list[str]:
    return [item.text for item in exc.items]


def _flash_error(request, exc: HeadframeError) -> None:
    for msg in _errors(exc):
        messages.error(request, msg)


def _root(request) -> Unit:
    code = request.GET.get("unit")
    if code:
        try:
            return unit_get(request.user, code)
        except NotFound:
            raise Http404(code) from None
    unit = picked_unit(request) or selectors.top_unit(request.user)
    if unit is None:
        raise Http404("no unit in your scope")
    return unit


def _get(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotFound:
        raise Http404 from None


@login_required
def index(request):
    campaigns = list(selectors.campaigns_listed(request.user))
    rows = [(c, selectors.campaign_progress(c, request.user).total) for c in campaigns]
    return render(request, "safety/index.html", {"rows": rows, **NAV})


@login_required
def campaign_detail(request, code: str):
    campaign = _get(selectors.campaign_get, request.user, code)
    export = request.GET.get("format")
    if export in ("xlsx", "pdf"):
        return attachment(*exports.campaign_export(campaign, request.user, export))
    progress = selectors.campaign_progress(campaign, request.user)
    positions = [cp.campaign_position.position for cp in progress.positions]
    states = selectors.readiness_many(positions, campaign=campaign)
    by_site = {}
    for p in progress.positions:
        key = p.site.code if p.site else ""
        by_site.setdefault(key, []).append((p, states.get(p.campaign_position.position_id)))
    context = {
        "campaign": campaign,
        "progress": progress,
        "sites": [
            (s, progress.areas.get(s.unit.code, []), by_site.get(s.unit.code, [])) for s in progress.sites
        ],
        "can_plan": all(
            scope_for(request.user).allows(Perm.PLAN, u.path) for u in selectors.campaign_units(campaign)
        ),
        **NAV,
    }
    return render(request, "safety/campaign.html", context)


@login_required
@require_POST
def campaign_gate(request, code: str):
    campaign = _get(selectors.campaign_get, request.user, code)
    try:
        services.campaign_update(
            actor=request.user, campaign=campaign, gate_mode=request.POST.get("gate_mode")
        )
        messages.success(request, _("Production gate updated."))
    except HeadframeError as exc:
        _flash_error(request, exc)
    return redirect("safety:campaign", code=campaign.code)


def _answers_from_post(request, inspection, *, answered: frozenset = frozenset()) -> list[services.AnswerIn]:
    """The answers in a posted form; an item already `answered` on the server is sent even when emptied, so
    that clearing a reading or a note is saved too."""
    out = []
    for item in selectors.template_items(inspection.template):
        prefix = f"a-{item.code}"
        choice = request.POST.get(f"{prefix}-choice", "")
        number = request.POST.get(f"{prefix}-number", "")
        text = request.POST.get(f"{prefix}-text", "")
        note = request.POST.get(f"{prefix}-note", "")
        present = any(f"{prefix}-{k}" in request.POST for k in ("choice", "number", "text", "note"))
        if choice or number.strip() or text.strip() or note.strip() or (present and item.code in answered):
            out.append(
                services.AnswerIn(item.code, choice=choice, number=number or None, text=text, note=note)
            )
    return out


def _json_error(exc: HeadframeError, answers_post: list | None = None) -> JsonResponse:
    """The API error shape, plus `fields`: item code → message, for the form to mark the items."""
    fields: dict[str, str] = {}
    for error in exc.items:
        loc = error.loc
        if len(loc) >= 3 and loc[1] == "answers":
            key = loc[2]
            if isinstance(key, int) and answers_post is not None and key < len(answers_post):
                key = answers_post[key].item
            fields[str(key)] = error.text
    # The page's script shows these messages as they are: in the page's language.
    return JsonResponse(
        {"detail": exc.as_detail(get_language() or "vi"), "fields": fields}, status=exc.status
    )


def _progress_json(inspection) -> dict:
    progress = selectors.inspection_progress(inspection)
    return {"answered": progress.answered, "total": progress.total}


@login_required
@require_POST
def inspection_autosave(request, inspection_id: int):
    """Answers sent by the tablet as they are typed (fetch, no navigation): JSON back, never a redirect."""
    inspection = _get(selectors.inspection_get, request.user, inspection_id)
    answered = selectors.answered_item_codes(inspection)
    answers_post = _answers_from_post(request, inspection, answered=answered)
    try:
        services.answers_save(actor=request.user, inspection_id=inspection.pk, answers=answers_post)
    except HeadframeError as exc:
        return _json_error(exc, answers_post)
    return JsonResponse({"saved": len(answers_post), **_progress_json(inspection)})


@login_required
@require_POST
def inspection_photo(request, inspection_id: int):
    """A photo on any item of the inspection, uploaded by fetch/XHR: JSON back with the photo's address."""
    inspection = _get(selectors.inspection_get, request.user, inspection_id)
    upload = request.FILES.get("photo")
    try:
        photo = services.photo_add(
            actor=request.user,
            content=upload.read() if upload else b"",
            filename=upload.name if upload else "",
            inspection_id=inspection.pk,
            item_code=request.POST.get("item", ""),
        )
    except HeadframeError as exc:
        return _json_error(exc)
    return JsonResponse(
        {
            "id": photo.pk,
            "item": photo.item.code if photo.item else "",
            "url": reverse("safety:photo", args=[photo.pk]),
            **_progress_json(inspection),
        },
        status=201,
    )


@login_required
def inspection_form(request, inspection_id: int):
    inspection = _get(selectors.inspection_get, request.user, inspection_id)
    scope = scope_for(request.user)
    path = inspection.position.path
    field_errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "photo":
                upload = request.FILES.get("photo")
                services.photo_add(
                    actor=request.user,
                    content=upload.read() if upload else b"",
                    filename=upload.name if upload else "",
                    inspection_id=inspection.pk,
                    item_code=request.POST.get("item", ""),
                )
                messages.success(request, _("Photo attached."))
                # Not "?saved=1": the answers typed but not sent are still only in the tablet's draft.
                return redirect("safety:inspection", inspection_id=inspection.pk)
            elif action == "countersign":
                services.inspection_countersign(actor=request.user, inspection_id=inspection.pk)
                messages.success(request, _("Inspection countersigned."))
            else:
                answers = _answers_from_post(request, inspection)
                if action == "sign":
                    services.inspection_sign(
                        actor=request.user,
                        inspection_id=inspection.pk,
                        answers=answers,
                        signature=services.signature_from_data_url(request.POST.get("signature", "")),
                    )
                    messages.success(request, _("Inspection signed."))
                else:
                    services.answers_save(actor=request.user, inspection_id=inspection.pk, answers=answers)
                    messages.success(request, _("Answers saved."))
            return redirect(reverse("safety:inspection", args=[inspection.pk]) + "?saved=1")
        except HeadframeError as exc:
            answers_post = (
                _answers_from_post(request, inspection) if request.POST.get("action") != "photo" else []
            )
            for error in exc.items:
                loc = error.loc
                if len(loc) >= 3 and loc[1] == "answers":
                    key = loc[2]
                    if isinstance(key, int) and key < len(answers_post):
                        key = answers_post[key].item
                    field_errors[str(key)] = error.text
                else:
                    messages.error(request, error.text)
            if field_errors:
                messages.error(request, _("Some answers need attention: see the marked items."))
            inspection = _get(selectors.inspection_get, request.user, inspection_id)
    if request.GET.get("format") == "pdf":
        return attachment(*exports.inspection_pdf(inspection))
    answers = selectors.answers_by_item(inspection)
    photos = selectors.item_photos(inspection)
    site = selectors.site_of(inspection.position)
    posted = request.POST if field_errors else None

    def values(item, answer) -> dict:
        if posted is not None:
            prefix = f"a-{item.code}"
            return {k: posted.get(f"{prefix}-{k}", "") for k in ("choice", "number", "text", "note")}
        if answer is None:
            return {"choice": "", "number": "", "text": "", "note": ""}
        number = "" if answer.number is None else f"{answer.number:g}"
        if (translation.get_language() or "vi").startswith("vi"):
            number = number.replace(".", ",")
        return {"choice": answer.choice, "number": number, "text": answer.text, "note": answer.note}

    sections = [
        {
            "section": s["section"],
            "items": [
                {
                    "item": item,
                    "answer": answers.get(item.pk),
                    "values": values(item, answers.get(item.pk)),
                    "photos": photos.get(item.pk, []),
                    "error": field_errors.get(item.code, ""),
                    "limit": _limit_text(item, site),
                }
                for item in s["items"]
            ],
        }
        for s in selectors.template_structure(inspection.template)
    ]
    context = {
        "inspection": inspection,
        "sections": sections,
        "editable": inspection.status == InspectionStatus.PENDING and scope.allows(Perm.SAFETY, path),
        "can_countersign": inspection.status == InspectionStatus.SIGNED
        and selectors.may_report_or_inspect(scope, path)
        and inspection.signed_by_id != request.user.pk,
        "findings": selectors.inspection_findings(inspection),
        "readiness": selectors.readiness(inspection.position, campaign=inspection.campaign),
        "draft_key": f"hf-inspection-{inspection.pk}",
        "progress": selectors.inspection_progress(inspection),
        "saved": request.GET.get("saved") == "1" or inspection.status != InspectionStatus.PENDING,
        "has_errors": bool(field_errors),
        **NAV,
    }
    return render(request, "safety/inspection.html", context)


def _limit_text(item, site) -> str:
    """What the answer is judged against, for the inspector: "≥ 1 % (QCVN-01-2011-BCT)", "0,25–4 m/s"."""
    if item.limit_code:
        limit = gas_limit(item.limit_code, site=site)
        if limit is None:
            return item.limit_code
        sign = "<" if limit.direction == "high" else ">"
        return _("must be %(sign)s %(limit)s %(uom)s (%(profile)s)") % {
            "sign": sign,
            "limit": f"{limit.threshold:g}",
            "uom": item.unit_of_measure,
            "profile": limit.profile,
        }
    if item.min_value is not None and item.max_value is not None:
        return f"{item.min_value:g} – {item.max_value:g} {item.unit_of_measure}"
    if item.min_value is not None:
        return f"≥ {item.min_value:g} {item.unit_of_measure}"
    if item.max_value is not None:
        return f"≤ {item.max_value:g} {item.unit_of_measure}"
    return item.unit_of_measure


@login_required
def readiness_board(request):
    unit = _root(request)
    campaign_code = request.GET.get("campaign")
    campaign = _get(selectors.campaign_get, request.user, campaign_code) if campaign_code else None
    now = timezone.now()
    scope = scope_for(request.user)
    # Looking at the board records what it sees: gas states change without a safety write.
    for c in {
        s.campaign
        for s in selectors.readiness_board(request.user, unit, campaign=campaign, now=now).positions
    }:
        if c is not None:
            services.readiness_refresh(actor=request.user, campaign=c, now=now)
    board = selectors.readiness_board(request.user, unit, campaign=campaign, now=now)
    rows = [
        (
            state,
            *board.sites_of.get(state.position.pk, (None, None)),
            scope.allows(Perm.SAFETY, state.position.path),
        )
        for state in board.positions
    ]
    context = {
        "unit": unit,
        "campaign": campaign,
        "board": board,
        "rows": rows,
        "ready": sum(s.ready for s in board.positions),
        "units": selectors.board_units(request.user),
        **NAV,
    }
    return render(request, "safety/readiness.html", context)


@login_required
@require_POST
def release(request):
    position = request.POST.get("position", "")
    try:
        services.position_release(
            actor=request.user,
            position_code=position,
            campaign_code=request.POST.get("campaign", ""),
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("%(unit)s released to production.") % {"unit": position})
    except HeadframeError as exc:
        _flash_error(request, exc)
    return redirect(safe_next(request, request.POST.get("next"), reverse("safety:readiness")))


@login_required
def findings(request):
    unit = _root(request)
    status = request.GET.get("status", FindingStatus.OPEN)
    severity = request.GET.get("severity", "")
    qs = selectors.findings_visible(
        request.user, unit=unit, status=status if status != "all" else "", severity=severity
    )
    today = timezone.localdate()
    context = {
        "unit": unit,
        "findings": list(qs[:500]),
        "overdue": selectors.overdue_findings(unit, today),
        "status": status,
        "severity": severity,
        "severities": Severity.choices,
        "today": today,
        **NAV,
    }
    return render(request, "safety/findings.html", context)


def _finding_changes(request, finding) -> dict:
    """Only what the form changed: an untouched past deadline of an overdue finding is not re-judged."""
    changes: dict = {}
    post = request.POST
    if "responsible" in post and post["responsible"].strip() != finding.responsible:
        changes["responsible"] = post["responsible"]
    current_user = finding.responsible_user.username if finding.responsible_user else ""
    if "responsible_user" in post and post["responsible_user"] != current_user:
        changes["responsible_user"] = post["responsible_user"]
    if "severity" in post and post["severity"] != finding.severity:
        changes["severity"] = post["severity"]
    if "deadline" in post:
        try:
            deadline = dt.date.fromisoformat(post["deadline"])
        except ValueError:
            raise ValidationFailed(
                loc=("body", "deadline"), type="date_parsing", params={}, key="date_parsing.deadline"
            ) from None
        if deadline != finding.deadline:
            changes["deadline"] = deadline
    return changes


@login_required
def finding_detail(request, finding_id: int):
    finding = _get(selectors.finding_get, request.user, finding_id)
    scope = scope_for(request.user)
    edit_errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "photo":
                upload = request.FILES.get("photo")
                services.photo_add(
                    actor=request.user,
                    content=upload.read() if upload else b"",
                    filename=upload.name if upload else "",
                    finding_id=finding.pk,
                )
                messages.success(request, _("Evidence photo attached."))
            elif action == "update":
                services.finding_update(
                    actor=request.user, finding_id=finding.pk, **_finding_changes(request, finding)
                )
                messages.success(request, _("Finding updated."))
            else:
                services.finding_close(
                    actor=request.user,
                    finding_id=finding.pk,
                    action_taken=request.POST.get("action_taken", ""),
                    evidence=request.POST.get("evidence", ""),
                )
                messages.success(request, _("Finding closed and verified."))
            return redirect("safety:finding", finding_id=finding.pk)
        except HeadframeError as exc:
            if action == "update":
                for error in exc.items:
                    edit_errors[str(error.loc[-1]) if error.loc else ""] = error.text
                messages.error(request, _("The finding was not changed: see the marked fields."))
            else:
                _flash_error(request, exc)
            finding = _get(selectors.finding_get, request.user, finding_id)
    context = {
        "finding": finding,
        "photos": selectors.finding_photos(finding),
        "can_close": finding.status == FindingStatus.OPEN
        and scope.allows(Perm.SAFETY, finding.position.path),
        "can_add_evidence": finding.status == FindingStatus.OPEN
        and selectors.may_report_or_inspect(scope, finding.position.path),
        "can_edit": finding.status == FindingStatus.OPEN and scope.allows(Perm.SAFETY, finding.position.path),
        "candidates": selectors.responsible_candidates(finding),
        "severities": Severity.choices,
        "edit_errors": edit_errors,
        "readiness": selectors.readiness(finding.position),
        "posted": request.POST,
        **NAV,
    }
    return render(request, "safety/finding.html", context)


@login_required
def incidents(request):
    unit = _root(request)
    today = timezone.localdate()
    start = today.replace(day=1)
    if request.method == "POST":
        try:
            occurred = dt.datetime.strptime(request.POST.get("occurred_at", ""), "%Y-%m-%dT%H:%M")
            occurred_at = timezone.make_aware(occurred)
        except ValueError:
            occurred_at = None
        try:
            services.incident_report(
                actor=request.user,
                unit_code=request.POST.get("unit", ""),
                kind=request.POST.get("kind", ""),
                category=request.POST.get("category", ""),
                severity=request.POST.get("severity", ""),
                occurred_at=occurred_at,
                title=request.POST.get("title", ""),
                description=request.POST.get("description", ""),
                people_involved=request.POST.get("people_involved", ""),
                injured=int(request.POST.get("injured") or 0),
                immediate_actions=request.POST.get("immediate_actions", ""),
            )
            messages.success(request, _("Incident recorded."))
            return redirect(f"{reverse('safety:incidents')}?unit={unit.code}")
        except HeadframeError as exc:
            _flash_error(request, exc)
    context = {
        "unit": unit,
        "incidents": list(selectors.incidents_visible(request.user, unit=unit)[:300]),
        "counts_month": selectors.incident_counts(unit, start, today),
        "counts_year": selectors.incident_counts(unit, today.replace(month=1, day=1), today),
        "kinds": IncidentKind.choices,
        "categories": IncidentCategory.choices,
        "severities": IncidentSeverity.choices,
        "positions": selectors.reporting_positions(request.user, unit),
        "posted": request.POST,
        **NAV,
    }
    return render(request, "safety/incidents.html", context)


@login_required
def photo(request, photo_id: int):
    item = _get(selectors.photo_get, request.user, photo_id)
    try:
        handle = services.photo_open(item)
    except NotFound:
        raise Http404("photo file missing") from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response
