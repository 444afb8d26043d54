"""Workforce error messages: medical examinations and occupational disease screening (individual rows: the medical
role only). See messages/people.py for the form.

Codes API clients branch on: unknown_worker (404), permission_denied (403: no medical role on the worker's unit),
duplicate_exam (409), and the fields' value errors (future_day, enum, range, period_order)."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "duplicate_exam": N("this examination is already recorded"),
    "permission_denied.medical": N(
        "only the medical role may read or record health records of {unit}'s workers"
    ),
    "permission_denied.worker_export": N("you may not export the data of {unit}'s workers"),
    "enum.exam_kind": N("unknown kind of examination {value}; expected one of {choices}"),
    "enum.pneumoconiosis": N("unknown pneumoconiosis screening result {value}; expected one of {choices}"),
    "period_order.next_due": N("the next examination ({next_due}) must come after this one ({examined_on})"),
    "duplicate_exam.day": N("{worker} already has an examination of this kind on {day}"),
    "unsupported_type.exams": N("send the examinations as a .csv or .xlsx file, not {filename}"),
    "bad_date.cell": N("{column}: not a date (dd/mm/yyyy): {value}"),
}
