"""Workforce error messages: the epidemic register: tests, cases, isolation, contact tracing. See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N  # noqa: F401

MESSAGES: dict[str, str] = {}
