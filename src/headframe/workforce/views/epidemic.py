"""Workforce pages: the epidemic register. The overview (daily counts by unit for anyone who may view the unit; for
the medical role also the cases, and the forms to register a case and a test) and a case's contact trace (the
medical role: window and cage minutes as inputs, the contacts, XLSX and CSV to save)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
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
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import CaseStatus, TestResult
from headframe.workforce.selectors import epidemic as selectors
from headframe.workforce.services import epidemic as services
from headframe.workforce.views.health import unit_for_page

NAV = {"active_nav": "workforce"}
COUNT_DAYS = 14
SHOWN_CASES = 100


def _day(post, name: str, label: str, errors: list[str], *, required: bool = True) -> dt.date | None:
    try:
        day = parse_day(post.get(name, ""), name)
    except BadParameter:
        day = None
    if day is None and (required or post.get(name, "").strip()):
        errors.append(_("%(field)s: enter a date as dd/mm/yyyy.") % {"field": label})
    return day


def _post(request) -> list[str]:
    """Register a case (action=case), a test (action=test) or a case's new status (action=status)."""
    post, errors = request.POST, []
    action = post.get("action", "case")
    try:
        if action == "test":
            tested_on = _day(post, "tested_on", _("Tested on"), errors)
            if not errors:
                services.test_record(
                    actor=request.user,
                    employee_no=post.get("employee_no", ""),
                    tested_on=tested_on,
                    result=post.get("result", ""),
                    disease=post.get("disease", "COVID-19"),
                    method=post.get("method", "rapid"),
                )
        elif action == "status":
            isolation_to = _day(post, "isolation_to", _("Isolated until"), errors, required=False)
            if not errors:
                services.case_update(
                    actor=request.user,
                    case_id=int(raw_id) if (raw_id := post.get("case_id", "")).isdigit() else 0,
                    status=post.get("status") or None,
                    isolation_to=isolation_to,
                )
        else:
            confirmed_on = _day(post, "confirmed_on", _("Confirmed on"), errors)
            isolation_from = _day(post, "isolation_from", _("Isolated from"), errors)
            isolation_to = _day(post, "isolation_to", _("Isolated until"), errors, required=False)
            if not errors:
                services.case_record(
                    actor=request.user,
                    employee_no=post.get("employee_no", ""),
                    disease=post.get("disease", "COVID-19"),
                    confirmed_on=confirmed_on,
                    isolation_from=isolation_from,
                    isolation_to=isolation_to,
                    note=post.get("note", ""),
                )
    except HeadframeError as exc:
        errors = [item.text for item in exc.items]
    return errors


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    user = request.user
    unit = unit_for_page(request)
    if unit is None:
        return render(
            request, "web/forbidden.html", {"message": _("No unit in your scope."), **NAV}, status=403
        )
    medical = user.is_superuser or bool(scope_for(user).paths(Perm.MEDICAL))
    errors: list[str] = []
    if request.method == "POST" and medical:
        errors = _post(request)
        if not errors:
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('workforce:epidemic')}?{urlencode({'unit': unit.code})}")
    end = timezone.localdate()
    counts = selectors.epidemic_counts(user, unit.code, end - dt.timedelta(days=COUNT_DAYS - 1), end)
    empty = selectors.DayCount()
    table = [(u, [counts.cells.get((u.code, d), empty) for d in counts.days]) for u in counts.units]
    cases = selectors.cases_read(user, unit, SHOWN_CASES) if medical else []
    context = {
        "unit": unit,
        "counts": counts,
        "table": table,
        "totals": [counts.totals[d] for d in counts.days],
        "medical": medical,
        "cases": cases,
        "statuses": CaseStatus.choices,
        "results": TestResult.choices,
        "errors": errors,
        "form": request.POST if errors else {},
        "today": end,
        **NAV,
    }
    return render(request, "workforce/epidemic.html", context, status=422 if errors else 200)


def _window(request) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.GET.get(name, "").strip()
        return int(raw) if raw.lstrip("-").isdigit() else default

    return number("days", selectors.DEFAULT_DAYS), number("cage_minutes", selectors.DEFAULT_CAGE_MINUTES)


@login_required
def trace(request, case_id: int):
    days, cage = _window(request)
    try:
        result = selectors.contact_trace(request.user, case_id, days=days, cage_minutes=cage)
    except NotFound:
        raise Http404(str(case_id)) from None
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text, **NAV}, status=403)
    except HeadframeError as exc:  # a window out of range: the default one, with the reason
        messages.error(request, exc.text)
        return redirect("workforce:epidemic-trace", case_id=case_id)
    query = urlencode({"days": result.days, "cage_minutes": result.cage_minutes})
    rows = [(r, [selectors.reason_text(x) for x in r.reasons]) for r in result.rows]
    context = {
        "trace": result,
        "case": result.case,
        "rows": rows,
        "xlsx_url": reverse("workforce:epidemic-trace-export", args=[case_id, "xlsx"]) + "?" + query,
        "csv_url": reverse("workforce:epidemic-trace-export", args=[case_id, "csv"]) + "?" + query,
        "max_days": selectors.MAX_DAYS,
        "max_cage": selectors.MAX_CAGE_MINUTES,
        **NAV,
    }
    return render(request, "workforce/epidemic_trace.html", context)


@login_required
def trace_export(request, case_id: int, fmt: str):
    days, cage = _window(request)
    try:
        selectors.check_trace_format(fmt)
        result = selectors.contact_trace(request.user, case_id, days=days, cage_minutes=cage)
    except NotFound:
        raise Http404(str(case_id)) from None
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text, **NAV}, status=403)
    except (
        HeadframeError
    ) as exc:  # an unknown format or a window out of range: back to the trace, with the reason
        messages.error(request, exc.text)
        return redirect("workforce:epidemic-trace", case_id=case_id)
    return attachment(*selectors.trace_export(result, fmt))


urlpatterns = [
    path("epidemic/", index, name="epidemic"),
    path("epidemic/cases/<int:case_id>/trace/", trace, name="epidemic-trace"),
    path("epidemic/cases/<int:case_id>/trace.<str:fmt>", trace_export, name="epidemic-trace-export"),
]
