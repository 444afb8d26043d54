"""Workforce error messages: income (payroll aggregates, the income plan). See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "unsupported_type.payroll": N("send the payroll as a .csv or .xlsx file, not {filename}"),
    "personal_column": N("a per-person column"),
    "payroll_unit_kind": N("a payroll belongs to a company, a mine or an area"),
    "bad_month": N("not a month"),
    "personal_column.payroll": N(
        "column “{column}” is about one person: send the payroll as totals per unit and month only"
    ),
    "unknown_column.payroll": N("unknown column “{column}”; expected unit, month, headcount, total_income"),
    "payroll_unit_kind.named": N(
        "{unit} is a work position: a payroll belongs to a company, a mine or an area"
    ),
    "bad_month.value": N("not a month (mm/yyyy): {value}"),
    "range.headcount": N("the number of people paid must be a whole number above 0, not {value}"),
    "range.total_income": N("the total income must be a whole number of đồng, 0 or more, not {value}"),
    "duplicate.payroll": N("{unit} {month} is already in row {row}"),
    "range.year": N("the year must be from 2000 to 2100, not {value}"),
    "range.average_income": N(
        "the planned average income must be a whole number of đồng above 0, not {value}"
    ),
    "permission_denied.income_plan": N(
        "you may not set the income plan of {unit}: it needs the planning role"
    ),
    "unknown_month": N("not a month"),
    "unknown_month.query": N("not a month (yyyy-mm): {value}"),
}
