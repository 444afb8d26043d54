"""Workforce error messages: the epidemic register: tests, cases, isolation, contact tracing. See messages/people.py
for the form.

Codes API clients branch on: unknown_case (404), duplicate_case (409), permission_denied (403: no medical role)."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "unknown_case": N("unknown case"),
    "duplicate_case": N("this case is already registered"),
    "unknown_case.id": N("unknown case {case}"),
    "duplicate_case.day": N("{worker} already has a case of {disease} confirmed on {day}"),
    "enum.test_result": N("unknown test result {value}; expected one of {choices}"),
    "enum.test_method": N("unknown test method {value}; expected one of {choices}"),
    "enum.case_status": N("unknown case status {value}; expected one of {choices}"),
    "enum.trace_format": N("format must be xlsx or csv, not {value}"),
    "period_order.isolation": N("the isolation ends ({end}) before it starts ({start})"),
    "missing.isolation_to": N("a recovered case needs the day its isolation ended"),
    "range.trace": N("{field} must be a whole number from {min} to {max}, not {value}"),
    "period_too_long.days": N("choose a period of at most {max} days"),
}
