"""Production pages: group dashboard, unit page with charts and drill-down, day entry form, exports."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from headframe.core.dates import day_in_range, out_of_range_message
from headframe.core.db_router import replica_reads_on_get
from headframe.core.downloads import XLSX_TYPE, attachment
from headframe.core.errors import HeadframeError, NotFound
from headframe.core.formatting import format_exact
from headframe.core.params import parse_day
from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import ancestors, picked_unit, scope_for, unit_get, units_visible
from headframe.production import excel, holidays, selectors, services
from headframe.production.figures import ACTUALS, BASES, PLANS
from headframe.production.forms import confirm_name, field_name, parse_day_entry
from headframe.production.models import LostTimeCategory
from headframe.production.selectors.dashboard import dashboard_figures


def _day(request) -> dt.date:
    """The production day asked for, else yesterday; a day outside the calendar headframe works in is a 400."""
    day = parse_day(request.GET.get("date") or request.POST.get("date"), "date") or selectors.default_day()
    if not day_in_range(day):
        raise BadRequest(f"date: {out_of_range_message(day)}")
    return day


def _unit(request, code: str, perm: str = Perm.VIEW):
    try:
        return unit_get(request.user, code, perm)
    except NotFound:
        raise Http404(code) from None


def _root_for(request):
    """The picked unit, else the user's top visible unit."""
    unit = picked_unit(request)
    if unit is not None:
        return unit
    unit = units_visible(request.user).order_by("depth", "code").first()
    if unit is None:
        raise Http404("no unit in your scope")
    return unit


@login_required
@replica_reads_on_get
def dashboard(request):
    return unit_page(request, _root_for(request).code)


@login_required
@replica_reads_on_get  # plan vs actual, charts, exports: read from the replica when there is one
def unit_page(request, code: str):
    unit = _unit(request, code)
    on = _day(request)
    indicators = selectors.indicators_for()
    key_indicators = [i for i in indicators if i.is_key]
    children = selectors.children_of(unit, units_visible(request.user))
    figures = dashboard_figures(unit, on, indicators, children)
    rows, split = figures["rows"], figures["split"]
    child_rows = [(child, split[child.code]) for child in children]
    export = request.GET.get("format")
    if export in ("xlsx", *CSV_FORMS):
        if request.GET.get("table") == "children":
            return _export_children(unit, on, key_indicators, child_rows, export)
        return _export(unit, on, rows, export)
    scope = scope_for(request.user)
    context = {
        "unit": unit,
        "on": on,
        "prev_day": on - dt.timedelta(days=1),
        "next_day": on + dt.timedelta(days=1),
        "rows": rows,
        "key_indicators": key_indicators,
        "child_rows": child_rows,
        "reasons": figures["reasons"],
        "warnings": figures["warnings"],
        "missing": figures["missing"],
        "ancestors": [a for a in ancestors(unit) if scope.allows(Perm.VIEW, a.path)],
        "chart": figures["chart"],
        "bases": BASES,
        "plans": PLANS,
        "actuals": ACTUALS,
        "any_adjusted": any(s.plan_adjusted for s in rows),
        "csv_forms": CSV_FORMS,
        "can_report": scope.allows(Perm.REPORT, unit.path),
        "can_plan": scope.allows(Perm.PLAN, unit.path),
        "locked": figures["locked"],
        "late": figures["late"],
        "active_nav": "production",
    }
    return render(request, "production/unit.html", context)


# CSV forms: "csv" is the plain form ("," between fields, "." decimals: for programs and English Excel);
# "csv-vi" is the form Excel opens directly under Vietnamese regional settings (";" between fields, ","
# decimals, dates dd/mm/yyyy). Both start with a UTF-8 BOM so Excel reads Vietnamese text.
CSV_FORMS = ("csv", "csv-vi")


def _download(unit, on, headers, table, formats, fmt: str, suffix: str = "") -> HttpResponse:
    name = f"headframe-{unit.code}-{on:%Y%m%d}{suffix}"
    if fmt == "csv":
        return attachment(excel.table_csv(headers, table), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "csv-vi":
        return attachment(
            excel.table_csv_vi(headers, table), "text/csv; charset=utf-8", f"{name}-excel-vn.csv"
        )
    content = excel.table_xlsx(f"{unit.code} {on:%d/%m/%Y}", headers, table, formats)
    return attachment(content, XLSX_TYPE, f"{name}.xlsx")


def _export_children(unit, on, key_indicators, child_rows, fmt: str) -> HttpResponse:
    """The drill-down table: units below × key indicators, month to date against the plan to date."""
    headers = ["Mã đơn vị", "Tên đơn vị"]
    formats: list = [None, None]
    for indicator in key_indicators:
        label = f"{indicator.name_vi} ({indicator.unit_of_measure})"
        headers += [
            f"{label} — TH lũy kế tháng",
            f"{label} — {PLANS['month_to_date'].vi}",
            f"{label} — {BASES['month_to_date'].vi}",
        ]
        formats += ["#,##0.0", "#,##0.0", "0.0"]
    table = [
        [child.code, child.name_vi]
        + [value for s in figures for value in (s.mtd.actual, s.mtd.plan, s.mtd.pct)]
        for child, figures in child_rows
    ]
    return _download(unit, on, headers, table, formats, fmt, suffix="-don-vi")


# The summary export: (header, value of an IndicatorSummary, number format). Every percentage of plan is
# headed by its basis from production/figures.py, next to the plan it is taken on.
SUMMARY_COLUMNS = [
    ("Mã chỉ tiêu", lambda s: s.indicator.code, None),
    ("Chỉ tiêu", lambda s: s.indicator.name_vi, None),
    ("ĐVT", lambda s: s.indicator.unit_of_measure, None),
    (ACTUALS["day"].vi, lambda s: s.day.actual, "#,##0.0"),
    (PLANS["day"].vi, lambda s: s.day.plan, "#,##0.0"),
    (BASES["day"].vi, lambda s: s.day.pct, "0.0"),
    (ACTUALS["month_to_date"].vi, lambda s: s.mtd.actual, "#,##0.0"),
    (PLANS["month_to_date"].vi, lambda s: s.mtd.plan, "#,##0.0"),
    (BASES["month_to_date"].vi, lambda s: s.mtd.pct, "0.0"),
    (PLANS["month"].vi, lambda s: s.month_plan, "#,##0.0"),
    (BASES["month"].vi, lambda s: s.month_pct, "0.0"),
    (ACTUALS["year_to_date"].vi, lambda s: s.ytd.actual, "#,##0.0"),
    (PLANS["year_to_date"].vi, lambda s: s.ytd.plan, "#,##0.0"),
    (BASES["year_to_date"].vi, lambda s: s.ytd.pct, "0.0"),
    (PLANS["year"].vi, lambda s: s.year_plan, "#,##0.0"),
    (BASES["year"].vi, lambda s: s.year_pct, "0.0"),
    (PLANS["year_original"].vi, lambda s: s.year_plan_original, "#,##0.0"),
    (BASES["year_original"].vi, lambda s: s.year_pct_original, "0.0"),
    ("KH năm đã điều chỉnh", lambda s: "có" if s.plan_adjusted else "không", None),
    ("Cùng kỳ năm trước", lambda s: s.last_year_ytd, "#,##0.0"),
    ("% so cùng kỳ", lambda s: s.ytd_change_pct, "0.0"),
    ("Dự báo cuối tháng", lambda s: s.forecast_month_end, "#,##0.0"),
    ("Dự báo cuối năm", lambda s: s.forecast_year_end, "#,##0.0"),
    ("Cần đạt mỗi ngày (năm)", lambda s: s.required_daily_year, "#,##0.0"),
]


def _export(unit, on, rows, fmt: str) -> HttpResponse:
    headers = [header for header, _value, _format in SUMMARY_COLUMNS]
    table = [[value(s) for _header, value, _format in SUMMARY_COLUMNS] for s in rows]
    formats = [number_format for _header, _value, number_format in SUMMARY_COLUMNS]
    return _download(unit, on, headers, table, formats, fmt)


@login_required
def entry(request):
    """One screen for one unit and day: every shift, every indicator the unit reports."""
    reportable = selectors.units_to_report(request.user)
    code = (
        request.GET.get("unit") or request.POST.get("unit") or (reportable.first().code if reportable else "")
    )
    if not code:
        return render(
            request, "web/forbidden.html", {"message": _("You have no unit to report for.")}, status=403
        )
    unit = _unit(request, code, Perm.REPORT)
    on = _day(request)
    indicators = selectors.reportable_indicators(unit)
    calendar = selectors.calendar_for(unit)
    shifts = range(0, calendar.shift_count + 1)  # 0: the whole day, entered as one figure
    gate = selectors.entry_gate(unit, on)  # a position not released by safety: said once, before typing
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}  # implausible values: stored once their checkbox confirms them
    stored = selectors.stored_values(unit, on)
    if request.method == "POST":
        parsed = parse_day_entry(
            request.POST,
            unit_code=unit.code,
            day=on,
            indicators=indicators,
            shifts=shifts,
            stored={key: value for key, (value, _late) in stored.items()},
        )
        errors = parsed.errors
        if not errors and parsed.rows:
            try:
                result = services.day_entry_save(
                    actor=request.user, unit=unit, day=on, rows=parsed.rows, remove=parsed.remove
                )
            except HeadframeError as exc:
                for item in exc.items:
                    if gate is not None and item.type == "not_released":
                        errors.setdefault("gate", item.text)  # the notice above the form says it already
                        continue
                    where = item.loc[1] if len(item.loc) > 1 else "form"
                    (warnings if item.type == "implausible" else errors)[where] = item.text
            else:
                messages.success(
                    request,
                    _("Saved: %(created)d new, %(updated)d corrected, %(unchanged)d unchanged.")
                    % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
                )
                return redirect(f"{reverse('production:entry')}?unit={unit.code}&date={on:%d/%m/%Y}")
        elif not errors:
            messages.info(request, _("Nothing to save: every cell is empty."))
    grid = []
    for shift in shifts:
        cells = []
        for indicator in indicators:
            name = field_name(shift, indicator.code)
            value, late = stored.get((indicator.code, shift), (None, False))
            shown = request.POST.get(name) if request.method == "POST" else format_exact(value)
            cells.append(
                {
                    "name": name,
                    "value": shown,
                    "late": late,
                    "error": errors.get(name),
                    "warning": warnings.get(name),
                    "confirm_name": confirm_name(name),
                    "indicator": indicator,
                }
            )
        grid.append({"shift": shift, "cells": cells})
    context = {
        "unit": unit,
        "on": on,
        "units": reportable[:500],
        "indicators": indicators,
        "grid": grid,
        "summary": selectors.unit_summary(unit, on, indicators),
        "form_error": errors.get("form"),
        "gate": gate,
        "warnings": warnings,
        "deadline": calendar.late_deadline(on),
        "locked": selectors.month_locked(unit, on),
        "categories": LostTimeCategory.choices,
        "active_nav": "production",
    }
    return render(request, "production/entry.html", context, status=422 if errors or warnings else 200)


@login_required
def deviation_add(request):
    if request.method != "POST":
        return redirect("production:entry")
    unit_code = request.POST.get("unit", "")
    on = _day(request)
    try:
        services.deviation_record(
            actor=request.user,
            unit_code=unit_code,
            indicator_code=request.POST.get("indicator", ""),
            day=on,
            category=request.POST.get("category", ""),
            lost_hours=request.POST.get("lost_hours", "").replace(",", "."),
            note=request.POST.get("note", ""),
        )
    except HeadframeError as exc:
        messages.error(request, "; ".join(item.text for item in exc.items))
    else:
        messages.success(request, _("Reason recorded."))
    return redirect(f"{reverse('production:entry')}?unit={unit_code}&date={on:%d/%m/%Y}")


@login_required
def import_page(request):
    """Upload a filled template: all or nothing, with every bad cell named by sheet, row and column."""
    context = {"active_nav": "entry", "errors": [], "result": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["errors"] = [_("Choose an .xlsx file to import.")]
        else:
            try:
                context["result"] = excel.import_actuals_workbook(
                    actor=request.user,
                    file=upload,
                    source="xlsx",
                    confirm_implausible=request.POST.get("confirm_implausible") == "on",
                )
            except HeadframeError as exc:
                context["errors"] = excel.error_lines(exc)  # "Số liệu!5 D: reason", as the CLI prints them
                context["implausible"] = any(item.type == "implausible" for item in exc.items)
    context["units"] = selectors.import_units(request.user)
    context["month"] = selectors.default_day().replace(day=1)
    return render(request, "production/import.html", context, status=422 if context["errors"] else 200)


@login_required
def template_download(request):
    """A blank workbook for a unit and month, with Vietnamese headers, ready to fill in."""
    unit = _unit(request, request.GET.get("unit", ""), Perm.REPORT)
    try:
        month = dt.datetime.strptime(request.GET.get("month", ""), "%m/%Y").date()
    except ValueError:
        raise BadRequest("month: expected mm/yyyy") from None
    indicators = selectors.reportable_indicators(unit)
    units = selectors.reporting_units(unit)
    content = excel.actuals_template(unit, month.year, month.month, indicators, units)
    return attachment(content, XLSX_TYPE, f"mau-so-lieu-{unit.code}-{month:%Y-%m}.xlsx")


@login_required
def lock_month(request, code: str):
    """A planner closes the month of the shown day for the unit's subtree."""
    if request.method != "POST":
        return redirect("production:unit", code=code)
    on = _day(request)
    try:
        services.period_lock(actor=request.user, unit_code=code, month=on)
    except HeadframeError as exc:
        messages.error(request, "; ".join(item.text for item in exc.items))
    else:
        messages.success(
            request, _("Month %(month)s closed for %(unit)s.") % {"month": f"{on:%m/%Y}", "unit": code}
        )
    return redirect(f"{reverse('production:unit', args=[code])}?date={on:%d/%m/%Y}")


@login_required
def holidays_page(request):
    """The year's holidays as they hold at a unit (the group's and the unit's own), with add/remove for
    the planners of the group or of the unit."""
    code = request.GET.get("unit") or request.POST.get("unit")
    unit = _unit(request, code) if code else _root_for(request)
    year = _year(request)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "remove":
                holiday = holidays.holiday_get(request.user, _int(request.POST.get("holiday")))
                holidays.holiday_remove(actor=request.user, holiday=holiday)
                messages.success(request, _("Holiday %(day)s removed.") % {"day": f"{holiday.day:%d/%m/%Y}"})
            else:
                day = parse_day(request.POST.get("day"), _("day"))
                if day is None:
                    raise BadRequest(_("Type the day as dd/mm/yyyy."))
                holiday = holidays.holiday_add(
                    actor=request.user,
                    day=day,
                    name=request.POST.get("name", ""),
                    unit_code=unit.code if request.POST.get("scope") == "unit" else None,
                )
                messages.success(request, _("Holiday %(day)s added.") % {"day": f"{day:%d/%m/%Y}"})
                year = day.year
        except HeadframeError as exc:
            messages.error(request, "; ".join(item.text for item in exc.items))
        except BadRequest as exc:
            messages.error(request, str(exc))
        return redirect(f"{reverse('production:holidays')}?unit={unit.code}&year={year}")
    is_group = unit.kind == UnitKind.GROUP
    context = {
        "unit": unit,
        "year": year,
        "rows": holidays.holiday_rows(request.user, year, None if is_group else unit),
        "can_add_group": holidays.can_plan_holidays(request.user, None),
        "can_add_unit": not is_group and holidays.can_plan_holidays(request.user, unit),
        "active_nav": "production",
    }
    return render(request, "production/holidays.html", context)


def _year(request) -> int:
    raw = request.GET.get("year") or request.POST.get("year")
    if not raw:
        return selectors.default_day().year
    year = _int(raw)
    if not 2000 <= year <= 2100:
        raise BadRequest("year: expected a year between 2000 and 2100")
    return year


def _int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"expected a whole number, got {raw!r}") from None
