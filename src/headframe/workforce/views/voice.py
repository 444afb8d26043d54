"""Workforce pages: workers' voice — the grievances of a unit (filters, counts), the form to record one ("Ẩn
danh": anonymous) and the answer and close forms. Plain form posts, redirect after post."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from headframe.core.errors import HeadframeError
from headframe.core.params import BadParameter, parse_day
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import GrievanceCategory, GrievanceStatus
from headframe.workforce.selectors.voice import grievance_counts, grievances_visible, may_read_author
from headframe.workforce.services.voice import grievance_answer, grievance_close, grievance_create
from headframe.workforce.views.training import chosen_unit

NAV = {"active_nav": "workforce"}
SHOWN = 200


def _flash(request, exc: HeadframeError) -> None:
    for item in exc.items:
        messages.error(request, item.text)


def _back(request, unit_code: str):
    return redirect(f"{reverse('workforce:voice')}?unit={unit_code}")


@login_required
def voice(request):
    unit = chosen_unit(request)
    status = request.GET.get("status", "")
    status = status if status in GrievanceStatus.values else ""
    overdue = request.GET.get("overdue") == "1"
    today = timezone.localdate()
    qs = grievances_visible(request.user, unit.code, status=status or None, overdue=True if overdue else None)
    categories = dict(GrievanceCategory.choices)
    statuses = dict(GrievanceStatus.choices)
    rows = [
        {
            "g": g,
            "category": categories.get(g.category, g.category),
            "status": statuses.get(g.status, g.status),
            "overdue": g.status == GrievanceStatus.OPEN and g.due_on < today,
            "author": g.worker if may_read_author(request.user, g) and not g.anonymous else None,
            "may_answer": scope_for(request.user).allows(Perm.WORKFORCE, g.unit.path),
        }
        for g in qs[:SHOWN]
    ]
    counts = grievance_counts(request.user, unit.code, on=today)
    context = {
        "unit": unit,
        "rows": rows,
        "counts": counts,
        "by_category": [(categories.get(k, k), n) for k, n in counts.by_category.items()],
        "categories": GrievanceCategory.choices,
        "statuses": GrievanceStatus.choices,
        "status": status,
        "overdue": overdue,
        "today": today,
        "may_create": scope_for(request.user).allows(Perm.WORKFORCE, unit.path),
        **NAV,
    }
    return render(request, "workforce/voice.html", context)


@login_required
@require_POST
def voice_create(request):
    unit_code = request.POST.get("unit", "")
    try:
        received_on = parse_day(request.POST.get("received_on", ""), "received_on")
    except BadParameter:
        messages.error(
            request, _("Not a date (dd/mm/yyyy): %(value)s") % {"value": request.POST.get("received_on")}
        )
        return _back(request, unit_code)
    try:
        grievance_create(
            actor=request.user,
            unit_code=unit_code,
            text=request.POST.get("text", ""),
            category=request.POST.get("category", "other"),
            received_on=received_on,
            employee_no=request.POST.get("employee_no", ""),
            anonymous=request.POST.get("anonymous") == "1",
        )
        messages.success(request, _("The grievance is recorded."))
    except HeadframeError as exc:
        _flash(request, exc)
    return _back(request, unit_code)


@login_required
@require_POST
def voice_answer(request, grievance_id: int):
    try:
        grievance = grievance_answer(
            actor=request.user, grievance_id=grievance_id, answer=request.POST.get("answer", "")
        )
        messages.success(request, _("The answer is recorded."))
        return _back(request, request.GET.get("unit") or grievance.unit.code)
    except HeadframeError as exc:
        _flash(request, exc)
    return _back(request, request.GET.get("unit", ""))


@login_required
@require_POST
def voice_close(request, grievance_id: int):
    try:
        grievance_close(actor=request.user, grievance_id=grievance_id)
        messages.success(request, _("The grievance is closed."))
    except HeadframeError as exc:
        _flash(request, exc)
    return _back(request, request.GET.get("unit", ""))


urlpatterns: list[URLPattern] = [
    path("voice/", voice, name="voice"),
    path("voice/new/", voice_create, name="voice-create"),
    path("voice/<int:grievance_id>/answer/", voice_answer, name="voice-answer"),
    path("voice/<int:grievance_id>/close/", voice_close, name="voice-close"),
]
