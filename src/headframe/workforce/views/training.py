"""Workforce pages: the training matrix of a unit (colour and text per certificate, totals, coverage), its XLSX
export, and the certificates' import."""

from __future__ import annotations

from io import BytesIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from headframe.core.downloads import attachment
from headframe.core.errors import HeadframeError, NotFound
from headframe.core.spreadsheets import MAX_UPLOAD_BYTES, append_row
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit, scope_for, unit_get, units_visible
from headframe.workforce.selectors.training import EXPIRY_STEPS, trade_label, training_matrix
from headframe.workforce.selectors.workers import certificates_expiring
from headframe.workforce.services.training import certificates_import
from headframe.workforce.views._common import day_asked, located

NAV = {"active_nav": "workforce"}
SHOWN = 300  # rows drawn on the page (the totals, the coverage and the export count every row)


def chosen_unit(request) -> Unit:
    """The unit of ?unit=, else the one picked in the shell, else the user's first visible company or group
    (404 when the user sees no unit, or names one outside the view)."""
    code = request.GET.get("unit", "").strip()
    if code:
        try:
            return unit_get(request.user, code)
        except NotFound:
            raise Http404(code) from None
    unit = picked_unit(request) or (
        units_visible(request.user)
        .filter(kind__in=[UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE], is_active=True)
        .order_by("depth", "path")
        .first()
    )
    if unit is None:
        raise Http404("no unit")
    return unit


def state_label(state: str) -> str:
    labels = {
        "valid": _("valid"),
        "expiring_30": _("expires within 30 days"),
        "expiring_60": _("expires within 60 days"),
        "expiring_90": _("expires within 90 days"),
        "expired": _("expired"),
        "missing": _("not held"),
    }
    return labels.get(state, state)


def _pill(state: str, needed: bool) -> str:
    if state == "valid":
        return "ok"
    if state.startswith("expiring"):
        return "warn"
    return "bad" if needed or state == "expired" else ""


@login_required
@require_http_methods(["GET", "POST"])
def training(request):
    unit = chosen_unit(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                messages.error(request, _("Choose a CSV or XLSX file."))
            else:
                result = certificates_import(
                    actor=request.user, content=upload.read(MAX_UPLOAD_BYTES + 1), filename=upload.name or ""
                )
                messages.success(
                    request,
                    _("Certificates recorded: %(created)d new, %(updated)d updated.")
                    % {"created": result.created, "updated": result.updated},
                )
        except HeadframeError as exc:
            for item in exc.items[:50]:
                messages.error(request, located(item))
        return redirect(f"{reverse('workforce:training')}?unit={unit.code}")
    on = day_asked(request, "on")
    matrix = training_matrix(request.user, unit.code, on=on)
    rows = [
        {
            "worker": r.worker,
            "trade": trade_label(r.worker.trade),
            "underground": r.underground,
            "covered": r.covered,
            "cells": [
                {"cell": c, "label": state_label(c.state), "pill": _pill(c.state, c.needed)} for c in r.cells
            ],
        }
        for r in matrix.rows[:SHOWN]
    ]
    expiring = [
        c
        for c in certificates_expiring(request.user, EXPIRY_STEPS[-1], today=on)
        if c.unit.path.startswith(unit.path)
    ]
    expiry = [(0, sum(1 for c in expiring if c.lapsed))] + [
        (step, sum(1 for c in expiring if not c.lapsed and c.days_left <= step)) for step in EXPIRY_STEPS
    ]
    context = {
        "unit": unit,
        "matrix": matrix,
        "rows": rows,
        "shown": len(rows),
        "expiry": expiry,
        "trades": {code: ", ".join(trade_label(t) for t in trades) for code, trades in matrix.trades.items()},
        "may_import": scope_for(request.user).allows(Perm.WORKFORCE, unit.path),
        "states": [
            (s, state_label(s), _pill(s, True))
            for s in ("valid", "expiring_30", "expiring_60", "expiring_90", "expired", "missing")
        ],
        **NAV,
    }
    return render(request, "workforce/training.html", context)


@login_required
def training_xlsx(request):
    unit = chosen_unit(request)
    on = day_asked(request, "on")
    matrix = training_matrix(request.user, unit.code, on=on)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Training matrix")[:31]
    append_row(sheet, [_("Training matrix"), f"{unit.code} — {unit.name}", on.strftime("%d/%m/%Y")])
    append_row(
        sheet,
        [_("Employee no."), _("Full name"), _("Unit"), _("Trade"), _("Underground"), _("Covered")]
        + [c.name for c in matrix.courses],
    )
    for r in matrix.rows:
        cells = []
        for cell in r.cells:
            text = state_label(cell.state)
            if cell.until:
                text += f" ({cell.until:%d/%m/%Y})"
            cells.append(text + (" *" if cell.needed else ""))
        append_row(
            sheet,
            [
                r.worker.employee_no,
                r.worker.full_name,
                r.worker.unit.code,
                trade_label(r.worker.trade),
                _("yes") if r.underground else _("no"),
                _("yes") if r.covered else _("no"),
                *cells,
            ],
        )
    append_row(sheet, [])
    append_row(sheet, [_("* needed by the worker (underground, or the trade's licence)")])
    for total in matrix.totals:
        append_row(
            sheet,
            [
                total.course.name,
                _("valid"),
                total.valid,
                _("expiring"),
                total.expiring,
                _("expired"),
                total.expired,
                _("not held"),
                total.missing,
            ],
        )
    if matrix.coverage is not None:
        append_row(sheet, [_("Coverage (%)"), float(matrix.coverage)])
    buffer = BytesIO()
    book.save(buffer)
    name = f"ma-tran-huan-luyen-{unit.code}-{on:%Y%m%d}.xlsx"
    return attachment(
        buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name
    )


urlpatterns: list[URLPattern] = [
    path("training/", training, name="training"),
    path("training.xlsx", training_xlsx, name="training-xlsx"),
]
