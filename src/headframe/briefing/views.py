"""Briefing pages: meetings (list, detail with the fast directive form), the directives register with
per-owner reminders, and the year's key tasks. Pack and live-room pages live in their own views."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from headframe.briefing import selectors, services
from headframe.briefing.models import (
    DirectiveStatus,
    EffectiveStatus,
    MeetingStatus,
    MeetingType,
    Priority,
    Section,
)
from headframe.core.errors import HeadframeError, NotFound
from headframe.core.params import parse_day
from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import bridge_points_visible, people_visible, scope_for, units_visible

DIRECTIVE_LIGHT = {
    EffectiveStatus.OVERDUE: "red",
    EffectiveStatus.IN_PROGRESS: "amber",
    EffectiveStatus.DONE: "green",
    EffectiveStatus.OPEN: "",
    EffectiveStatus.CANCELLED: "",
}
TASK_LIGHT = {
    selectors.TaskStatus.ON_TRACK: "green",
    selectors.TaskStatus.DONE: "green",
    selectors.TaskStatus.AT_RISK: "amber",
    selectors.TaskStatus.OFF_TRACK: "red",
}
KPI_LIGHT = {
    selectors.KpiState.MET: "green",
    selectors.KpiState.DONE: "green",
    selectors.KpiState.NEAR: "amber",
    selectors.KpiState.NO_DATA: "amber",
    selectors.KpiState.PENDING: "",
    selectors.KpiState.MISSED: "red",
    selectors.KpiState.ON_TRACK: "green",
}


task_status_labels, kpi_state_labels = selectors.task_status_labels, selectors.kpi_state_labels


def _error_text(exc: HeadframeError) -> str:
    return "; ".join(item.text for item in exc.items)


def _meeting(request, pk: int):
    try:
        return selectors.meeting_get(request.user, pk)
    except NotFound:
        raise Http404(str(pk)) from None


def _decorate(directives):
    labels = dict(EffectiveStatus.choices)
    out = []
    for d in directives:
        d.status_label = labels.get(d.effective_status, d.effective_status)
        d.light = DIRECTIVE_LIGHT.get(d.effective_status, "")
        out.append(d)
    return out


# --- meetings ------------------------------------------------------------------------------------------


@login_required
def index(request):
    """Meetings the user may see, next first; a planner calls a new one here."""
    meetings = list(selectors.meetings_visible(request.user)[:200])
    upcoming = sorted((m for m in meetings if m.status != MeetingStatus.CLOSED), key=lambda m: m.starts_at)
    past = [m for m in meetings if m.status == MeetingStatus.CLOSED]
    scope = scope_for(request.user)
    can_call = [
        u
        for u in units_visible(request.user, Perm.VIEW).filter(kind__in=[UnitKind.GROUP, UnitKind.COMPANY])
        if scope.allows(Perm.PLAN, u.path) or scope.allows(Perm.MANAGE, u.path)
    ]
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    context = {
        "active_nav": "briefing",
        "upcoming": upcoming,
        "past": past,
        "can_call": can_call,
        "types": MeetingType.choices,
        "statuses": dict(MeetingStatus.choices),
        "bridge_points": bridge_points_visible(request.user).filter(is_active=True),
        "default_start": last_month_end.replace(day=1),
        "default_end": last_month_end,
        "default_day": today,
        "counts": selectors.directive_counts(request.user),
    }
    return render(request, "briefing/meetings.html", context)


def _parse_time(value: str, field: str) -> dt.time:
    try:
        return dt.datetime.strptime((value or "08:00").strip(), "%H:%M").time()
    except ValueError:
        raise BadRequest(f"{field}: expected HH:MM, got {value!r}") from None


DEFAULT_AGENDA = [
    ("Tình hình thực hiện kế hoạch sản xuất", Section.PRODUCTION),
    ("Công tác an toàn", Section.SAFETY),
    ("Kiểm điểm thực hiện kết luận kỳ trước", Section.DIRECTIVES),
    ("Nhiệm vụ trọng tâm", Section.KEY_TASKS),
    ("Ý kiến các đơn vị, kết luận của Chủ trì", Section.OTHER),
]


@login_required
@require_POST
def meeting_create(request):
    p = request.POST
    day = parse_day(p.get("date"), "date")
    if day is None:
        messages.error(request, _("Give the meeting's date."))
        return redirect("briefing:index")
    starts_at = timezone.make_aware(dt.datetime.combine(day, _parse_time(p.get("time"), "time")))
    points = [
        services.BridgePointIn(code, p.get(f"attendees_{code}", "")) for code in p.getlist("bridge_points")
    ]
    try:
        m = services.meeting_create(
            actor=request.user,
            unit_code=p.get("unit", ""),
            type=p.get("type", MeetingType.MONTHLY),
            title=p.get("title", "").strip(),
            starts_at=starts_at,
            period_start=parse_day(p.get("period_start"), "period_start") or day,
            period_end=parse_day(p.get("period_end"), "period_end") or day,
            chair=request.user,
            bridge_points=points,
            agenda=[services.AgendaItemIn(title, section) for title, section in DEFAULT_AGENDA],
        )
    except HeadframeError as exc:
        messages.error(request, _error_text(exc))
        return redirect("briefing:index")
    messages.success(request, _("Meeting created."))
    return redirect("briefing:meeting", pk=m.pk)


@login_required
def meeting_detail(request, pk: int):
    return _meeting_page(request, _meeting(request, pk))


# The fast directive form's fields: an error's loc names one of them, else it is said above the form.
DIRECTIVE_FIELDS = ("text", "owner_unit", "owner_person", "deadline", "priority")


def _meeting_page(request, m, *, form=None, errors=None, status: int = 200):
    """The meeting page; `form` (what was typed) and `errors` (field → message) re-show a refused directive."""
    can_run = selectors.can_run(request.user, m)
    directives = _decorate(selectors.directives_list(request.user, meeting=m))
    owners = []
    if can_run and m.status != MeetingStatus.CLOSED:
        owners = list(
            units_visible(request.user).filter(
                path__startswith=m.unit.path, kind__in=["group", "company", "site"]
            )
        )
    # A closed meeting without an edited summary shows the draft frozen with its pack.
    drafted = (m.pack or {}).get("narrative") or {} if isinstance(m.pack, dict) else {}
    form = form or {}
    owner = next((u for u in owners if u.code == form.get("owner_unit")), owners[0] if owners else None)
    context = {
        "active_nav": "briefing",
        "meeting": m,
        "narrative_vi": m.narrative_vi or drafted.get("vi", ""),
        "narrative_en": m.narrative_en or drafted.get("en", ""),
        "agenda": selectors.agenda_of(m),
        "points": selectors.bridge_points_of(m),
        "directives": directives,
        "can_run": can_run,
        "can_see_pack": selectors.can_see_pack(request.user, m),
        "owners": owners,
        # Only the people of the chosen owner unit (its subtree): the form's script refills the list when the
        # owner changes.
        "people": people_visible(request.user, under=owner).order_by("unit__path", "full_name")[:500]
        if owner
        else [],
        "form": form,
        "owner": owner,
        "errors": errors or {},
        "priorities": Priority.choices,
        "sections": dict(Section.choices),
        "statuses": dict(MeetingStatus.choices),
        "types": dict(MeetingType.choices),
        "default_deadline": timezone.localdate() + dt.timedelta(days=30),
        "pack_url": reverse("briefing:pack", args=[m.pk]),
        "room_url": reverse("briefing:room", args=[m.pk]),
    }
    return render(request, "briefing/meeting.html", context, status=status)


@login_required
@require_POST
def meeting_action(request, pk: int, action: str):
    m = _meeting(request, pk)
    try:
        if action == "start":
            services.meeting_start(actor=request.user, meeting=m)
            messages.success(request, _("The meeting is in session."))
        elif action == "close":
            services.meeting_close(actor=request.user, meeting=m)
            messages.success(request, _("The meeting is closed; its pack is frozen."))
        elif action == "narrative":
            services.meeting_update(
                actor=request.user,
                meeting=m,
                changes={
                    "narrative_vi": request.POST.get("narrative_vi", ""),
                    "narrative_en": request.POST.get("narrative_en", ""),
                },
            )
            messages.success(request, _("Summary saved."))
        else:
            raise Http404(action)
    except HeadframeError as exc:
        messages.error(request, _error_text(exc))
    return redirect("briefing:meeting", pk=m.pk)


@login_required
@require_POST
def meeting_directive(request, pk: int):
    """The fast form: text, owner, deadline, priority — raised in this meeting. Refused, the page comes back with
    everything typed and each message once, next to its field."""
    m = _meeting(request, pk)
    p = request.POST
    errors: dict[str, str] = {}
    try:
        deadline = parse_day(p.get("deadline"), "deadline")
    except BadRequest:
        deadline = None
        errors["deadline"] = _("Type the day as dd/mm/yyyy.")
    else:
        if deadline is None:
            errors["deadline"] = _("Give the deadline.")
    if not errors:
        try:
            d = services.directive_create(
                actor=request.user,
                text=p.get("text", ""),
                owner_unit_code=p.get("owner_unit", ""),
                owner_person=p.get("owner_person") or None,
                deadline=deadline,
                priority=p.get("priority", Priority.NORMAL),
                meeting=m,
            )
        except HeadframeError as exc:
            for item in exc.items:
                where = item.loc[1] if len(item.loc) > 1 and item.loc[1] in DIRECTIVE_FIELDS else "form"
                errors.setdefault(where, item.text)
    if errors:
        form = {name: p.get(name, "") for name in DIRECTIVE_FIELDS}
        return _meeting_page(request, m, form=form, errors=errors, status=422)
    messages.success(request, _("Directive %(number)s recorded.") % {"number": d.number})
    return redirect(reverse("briefing:meeting", args=[m.pk]) + "#directives")


@login_required
def meeting_people(request, pk: int):
    """The people an owner unit of this meeting may name as the person in charge (the form's list), as JSON."""
    m = _meeting(request, pk)
    code = request.GET.get("unit", "")
    owner = units_visible(request.user).filter(code=code, path__startswith=m.unit.path).first()
    if owner is None:
        return JsonResponse(
            {"detail": [{"loc": ["query", "unit"], "msg": _("Unknown unit."), "type": "unknown_unit"}]},
            status=404,
        )
    people = people_visible(request.user, under=owner).order_by("unit__path", "full_name")[:500]
    return JsonResponse(
        {
            "people": [
                {
                    "employee_no": p.employee_no,
                    "label": f"{p.unit.code} · {p.full_name}" + (f" ({p.job_title})" if p.job_title else ""),
                }
                for p in people
            ]
        }
    )


# --- directives ----------------------------------------------------------------------------------------


@login_required
def directives(request):
    owner = request.GET.get("owner") or None
    status = request.GET.get("status") or None
    try:
        rows = _decorate(selectors.directives_list(request.user, owner=owner, status=status)[:500])
        reminders = selectors.directives_by_owner(request.user, owner=owner)
    except HeadframeError as exc:
        raise BadRequest(_error_text(exc)) from None
    context = {
        "active_nav": "briefing",
        "rows": rows,
        "reminders": reminders,
        "owner": owner or "",
        "status": status or "",
        "statuses": EffectiveStatus.choices,
        "owners": units_visible(request.user).filter(kind__in=["group", "company", "site"]),
        "counts": selectors.directive_counts(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "briefing/directives.html", context)


PROGRESS_FIELDS = ("status", "comment", "evidence")


@login_required
def directive_detail(request, pk: int):
    try:
        d = selectors.directive_get(request.user, pk)
    except NotFound:
        raise Http404(str(pk)) from None
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.directive_update_status(
                actor=request.user,
                directive=d,
                status=request.POST.get("status", ""),
                comment=request.POST.get("comment", ""),
                evidence=request.POST.get("evidence", ""),
            )
        except HeadframeError as exc:
            # Said once, next to its field; what was typed stays in the form.
            for item in exc.items:
                where = item.loc[1] if len(item.loc) > 1 and item.loc[1] in PROGRESS_FIELDS else "form"
                errors.setdefault(where, item.text)
        else:
            messages.success(request, _("Progress recorded."))
            return redirect("briefing:directive", pk=d.pk)
    (d,) = _decorate([d])
    context = {
        "active_nav": "briefing",
        "d": d,
        "comments": selectors.directive_comments(d),
        "form": {name: request.POST.get(name, "") for name in PROGRESS_FIELDS} if errors else {},
        "errors": errors,
        # Only the statuses this user may set: an owner is not offered "cancelled" or a reopening.
        "statuses": [
            (value, label)
            for value, label in DirectiveStatus.choices
            if value in services.directive_settable_statuses(request.user, d)
        ],
        "status_labels": dict(DirectiveStatus.choices),
    }
    return render(request, "briefing/directive.html", context, status=422 if errors else 200)


# --- key tasks -----------------------------------------------------------------------------------------


@login_required
def key_tasks(request):
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        raise BadRequest("year: expected a number") from None
    tasks = list(selectors.key_tasks_visible(request.user, year=year))
    statuses = selectors.key_task_statuses(tasks)
    task_labels, kpi_labels = task_status_labels(), kpi_state_labels()
    for s in statuses:
        s.light, s.label = TASK_LIGHT.get(s.status, ""), task_labels.get(s.status, s.status)
        for v in s.kpis:
            v.light, v.label = KPI_LIGHT.get(v.state, ""), kpi_labels.get(v.state, v.state)
    summary = {key: sum(1 for s in statuses if s.status == key) for key in TASK_LIGHT}
    context = {
        "active_nav": "priorities",
        "year": year,
        "year_label": str(year),
        "statuses": statuses,
        "summary": [(task_labels[k], TASK_LIGHT[k], n) for k, n in summary.items()],
        "prev_year": str(year - 1),
        "next_year": str(year + 1),
    }
    return render(request, "briefing/key_tasks.html", context)


@login_required
@require_POST
def kpi_report(request, pk: int):
    try:
        kpi = selectors.kpi_get(request.user, pk)
        services.kpi_update_manual(
            actor=request.user,
            kpi=kpi,
            done=request.POST.get("done") == "1",
            evidence=request.POST.get("evidence", ""),
        )
    except NotFound:
        raise Http404(str(pk)) from None
    except HeadframeError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Milestone updated."))
    return redirect(reverse("briefing:key-tasks") + f"?year={kpi.key_task.year}")
