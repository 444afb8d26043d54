"""Workforce error messages: average income per worker from payroll aggregates, against plan and last year. See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N  # noqa: F401

MESSAGES: dict[str, str] = {}
