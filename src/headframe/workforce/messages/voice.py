"""Workforce error messages: workers' voice (grievances). See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "unknown_grievance": N("unknown grievance"),
    "grievance_closed": N("the grievance is closed"),
    "not_answered": N("the grievance has no answer yet"),
    "missing.grievance_text": N("write what the grievance is about"),
    "missing.grievance_answer": N("write the answer"),
    "too_long.grievance": N("at most {max} characters"),
    "enum.grievance_category": N("unknown category {value}; expected one of {choices}"),
    "future.received_on": N("{day} is in the future: a grievance is recorded once received"),
    "unknown_grievance.id": N("grievance {id} not found"),
    "grievance_closed.id": N("the grievance is closed: it can no longer be answered"),
    "period_order.answered_on": N("the answer's day {day} must lie between {received} (received) and today"),
    "not_answered.close": N("answer the grievance before closing it"),
}
