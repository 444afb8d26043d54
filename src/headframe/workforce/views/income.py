"""Workforce pages: average income per worker of a unit in a month, against the plan, last year and the year to
date, with each child unit; the payroll's import and the income plan (plain form posts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from headframe.core.errors import HeadframeError
from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.selectors.income import income_summary
from headframe.workforce.services.income import income_plan_set, parse_month, payroll_import
from headframe.workforce.views._common import located
from headframe.workforce.views.training import chosen_unit

NAV = {"active_nav": "workforce"}


def _month(text: str) -> dt.date:
    """?month=yyyy-mm (or mm/yyyy): its first day; this month without a valid one."""
    return parse_month(text) or timezone.localdate().replace(day=1)


def _back(code: str, month: dt.date):
    return redirect(f"{reverse('workforce:income')}?unit={code}&month={month:%Y-%m}")


@login_required
def income(request):
    unit = chosen_unit(request)
    month = _month(request.GET.get("month", ""))
    summary = income_summary(request.user, unit.code, month)
    scope = scope_for(request.user)
    context = {
        "unit": unit,
        "summary": summary,
        "month": month,
        "last_year": month.replace(year=month.year - 1),
        "may_import": scope.allows(Perm.WORKFORCE, unit.path),
        "may_plan": scope.allows(Perm.PLAN, unit.path),
        **NAV,
    }
    return render(request, "workforce/income.html", context)


@login_required
@require_POST
def income_import(request):
    unit = chosen_unit(request)
    month = _month(request.GET.get("month", ""))
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a CSV or XLSX file."))
        return _back(unit.code, month)
    try:
        result = payroll_import(
            actor=request.user, content=upload.read(MAX_UPLOAD_BYTES + 1), filename=upload.name or ""
        )
        messages.success(
            request,
            _("Payroll recorded: %(created)d new, %(updated)d updated.")
            % {"created": result.created, "updated": result.updated},
        )
    except HeadframeError as exc:
        for item in exc.items[:50]:
            messages.error(request, located(item))
    return _back(unit.code, month)


@login_required
@require_POST
def income_plan(request):
    unit = chosen_unit(request)
    month = _month(request.GET.get("month", ""))
    text = request.POST.get("average_income", "").replace(".", "").replace(" ", "").strip()
    try:
        amount = Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        amount = Decimal(0)
    try:
        income_plan_set(actor=request.user, unit_code=unit.code, year=month.year, average_income=amount)
        messages.success(request, _("The income plan is recorded."))
    except HeadframeError as exc:
        for item in exc.items:
            messages.error(request, item.text)
    return _back(unit.code, month)


urlpatterns: list[URLPattern] = [
    path("income/", income, name="income"),
    path("income/import/", income_import, name="income-import"),
    path("income/plan/", income_plan, name="income-plan"),
]
