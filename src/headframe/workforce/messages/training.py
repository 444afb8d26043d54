"""Workforce error messages: who may work where (rosters), the certificates' import. See messages/people.py for
the form. The lamp room's training_lapsed.expired / .missing and health_class.underground are reused."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "trade_licence": N("a licence the trade needs has lapsed"),
    "trade_licence.expired": N("{worker}'s {course}, needed by the trade, expired on {expired}"),
    "trade_licence.missing": N("{worker} has no {course}, needed by the trade"),
    # a week's copy: the first day and shift each reason bites
    "health_class.underground_on": N(
        "{worker} is of health class {health_class}: classes IV–VI may not work underground ({day}, shift {shift})"
    ),
    "training_lapsed.expired_on": N("{worker}'s {course} expired on {expired} ({day}, shift {shift})"),
    "training_lapsed.missing_on": N("{worker} has no {course} ({day}, shift {shift})"),
    "trade_licence.expired_on": N(
        "{worker}'s {course}, needed by the trade, expired on {expired} ({day}, shift {shift})"
    ),
    "trade_licence.missing_on": N("{worker} has no {course}, needed by the trade ({day}, shift {shift})"),
    # the certificates' import
    "unknown_column.certificate": N("unknown column “{column}”"),
    "unknown_course.named": N("unknown course {course}"),
    "unknown_worker.row": N("unknown employee number {employee_no}"),
    "bad_date.cell": N("{column}: not a date (dd/mm/yyyy): {value}"),
    "period_order.certificate": N("the expiry {expires} is before the day passed {passed}"),
    "duplicate.certificate": N("{employee_no} passed {course} on {passed} is listed twice"),
    "unsupported_type.certificates": N("send the certificates as a .csv or .xlsx file, not {filename}"),
}
