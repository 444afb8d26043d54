"""Workforce pages: health. The overview (counts for the unit picked, for anyone who may view it; for the medical
role also the workers whose examination is due) and a worker's health record (the medical role only: the
examinations, each view audited, and the form to record one). Others get a 403 page in their language."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from headframe.core.downloads import attachment
from headframe.core.errors import HeadframeError, NotFound, PermissionDenied
from headframe.core.params import BadParameter, parse_day
from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit, scope_for, units_visible
from headframe.workforce.models import ExamKind, Pneumoconiosis
from headframe.workforce.selectors import health as selectors
from headframe.workforce.services import health as services

NAV = {"active_nav": "workforce"}
SHOWN_DUE = 200
MAX_SHOWN_ERRORS = 30
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def unit_for_page(request) -> Unit | None:
    """The unit a page is about: ?unit=CODE when visible, else the one picked in the shell, else the user's
    topmost visible unit."""
    code = request.GET.get("unit", "").strip()
    if code:
        unit = units_visible(request.user).filter(code=code).first()
        if unit is not None:
            return unit
    return picked_unit(request) or units_visible(request.user).order_by("depth", "code").first()


@login_required
def index(request):
    user = request.user
    unit = unit_for_page(request)
    if unit is None:
        return render(
            request, "web/forbidden.html", {"message": _("No unit in your scope."), **NAV}, status=403
        )
    counts = selectors.health_counts(user, unit.code)
    scope = scope_for(user)
    medical = bool(scope.paths(Perm.MEDICAL)) or user.is_superuser
    due = selectors.exams_due(user, unit) if medical else []
    wanted = request.GET.get("employee_no", "").strip()
    if wanted and medical:
        return redirect("workforce:health-worker", employee_no=wanted)
    context = {
        "unit": unit,
        "counts": counts,
        "classes": [(ROMAN[c], n, c >= 4) for c, n in sorted(counts.by_class.items())],
        "medical": medical,
        "may_export": medical or bool(scope.paths(Perm.WORKFORCE)),
        "due": due[:SHOWN_DUE],
        "due_total": len(due),
        **NAV,
    }
    return render(request, "workforce/health.html", context)


def _exam_form(post) -> tuple[dict, list[str]]:
    errors: list[str] = []
    values: dict = {
        "kind": post.get("kind", ExamKind.PERIODIC),
        "pneumoconiosis": post.get("pneumoconiosis", ""),
        "findings": post.get("findings", ""),
    }
    for name, label in (("examined_on", _("Examined on")), ("next_due", _("Next examination due"))):
        try:
            values[name] = parse_day(post.get(name, ""), name)
        except BadParameter:
            errors.append(_("%(field)s: enter a date as dd/mm/yyyy.") % {"field": label})
            values[name] = None
    if values["examined_on"] is None and not errors:
        errors.append(_("%(field)s: enter a date as dd/mm/yyyy.") % {"field": _("Examined on")})
    raw = post.get("health_class", "").strip()
    values["health_class"] = int(raw) if raw.isdigit() else 0
    return values, errors


@login_required
@require_http_methods(["GET", "POST"])
def worker(request, employee_no: str):
    user = request.user
    try:
        person = selectors.worker_for(user, employee_no, Perm.MEDICAL)
    except NotFound:
        raise Http404(employee_no) from None
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text, **NAV}, status=403)
    errors: list[str] = []
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        values, errors = _exam_form(request.POST)
        if not errors:
            try:
                services.exam_record(actor=user, employee_no=person.employee_no, **values)
            except HeadframeError as exc:
                errors = [item.text for item in exc.items]
            else:
                messages.success(request, _("The examination is recorded."))
                return redirect(reverse("workforce:health-worker", args=[person.employee_no]))
    exams = selectors.exams_of(user, person.employee_no)
    person.refresh_from_db(fields=["health_class"])
    context = {
        "person": person,
        "exams": [
            (e, ROMAN.get(e.health_class, ""), e.get_kind_display(), e.get_pneumoconiosis_display())
            for e in exams
        ],
        "health_class": ROMAN.get(person.health_class, ""),
        "errors": errors,
        "form": form,
        "kinds": ExamKind.choices,
        "screenings": Pneumoconiosis.choices,
        "classes": [(c, ROMAN[c]) for c in range(1, 7)],
        **NAV,
    }
    return render(request, "workforce/health_worker.html", context, status=422 if errors else 200)


@login_required
@require_http_methods(["POST"])
def exams_import(request):
    """The clinic's workbook of examinations (the medical role): all rows or none, the bad cells listed."""
    upload = request.FILES.get("file")
    unit = request.POST.get("unit", "")
    target = (
        f"{reverse('workforce:health')}?{urlencode({'unit': unit})}" if unit else reverse("workforce:health")
    )
    if upload is None:
        messages.error(request, _("Choose a file to import."))
        return redirect(target)
    try:
        result = services.exams_import(
            actor=request.user, content=upload.read(MAX_UPLOAD_BYTES + 1), filename=upload.name or ""
        )
    except HeadframeError as exc:
        for item in exc.items[:MAX_SHOWN_ERRORS]:
            where = (
                _("row %(row)s, %(column)s: ") % {"row": item.loc[1], "column": item.loc[2]}
                if len(item.loc) == 3 and item.loc[0] == "row"
                else ""
            )
            messages.error(request, where + item.text)
        if len(exc.items) > MAX_SHOWN_ERRORS:
            messages.error(request, _("… and %(n)s more.") % {"n": len(exc.items) - MAX_SHOWN_ERRORS})
        return redirect(target)
    messages.success(
        request,
        _("%(created)s examinations recorded; %(changed)s workers' health class changed.")
        % {"created": result.created, "changed": result.classes_changed},
    )
    return redirect(target)


@login_required
def worker_export(request, employee_no: str):
    """A worker's own data as a JSON file to hand over (the workforce or the medical role; health records only
    for the medical role, and that read is audited)."""
    try:
        data = selectors.worker_export(request.user, employee_no)
    except NotFound:
        raise Http404(employee_no) from None
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text, **NAV}, status=403)
    body = json.dumps(selectors.export_dict(data), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    stamp = timezone.localtime(data.generated_at).strftime("%Y%m%d")
    return attachment(body.encode("utf-8"), "application/json", f"{data.worker.employee_no}-{stamp}.json")


@login_required
def export_lookup(request):
    """The export form's target: the employee number typed → its export."""
    wanted = request.GET.get("employee_no", "").strip()
    if not wanted:
        return redirect("workforce:health")
    return redirect("workforce:worker-export", employee_no=wanted)


urlpatterns = [
    path("health/", index, name="health"),
    path("health/import/", exams_import, name="health-import"),
    path("workers/export/", export_lookup, name="worker-export-lookup"),
    path("workers/<str:employee_no>/export.json", worker_export, name="worker-export"),
    path("health/<str:employee_no>/", worker, name="health-worker"),
]
