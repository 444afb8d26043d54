"""Workforce error messages: workers' voice: suggestions and grievances (kiến nghị), answers, escalation. See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N  # noqa: F401

MESSAGES: dict[str, str] = {}
