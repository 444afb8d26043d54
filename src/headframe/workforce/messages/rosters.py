"""Workforce error messages: rosters and their import. See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "bad_date.roster_cell": N("not a date (dd/mm/yyyy): {value}"),
    "shift_range.cell": N("the shift must be a whole number (1, 2, 3…), not {value}"),
    "roster_conflict.rows": N(
        "{employee_no} is listed twice for the same day and shift (first on row {row})"
    ),
    "unknown_column.roster": N("unknown column {column}: expected day, shift, position, employee_no"),
    "unsupported_type.rosters": N("send the rosters as a .csv or .xlsx file, not {filename}"),
}
