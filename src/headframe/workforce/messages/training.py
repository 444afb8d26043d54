"""Workforce error messages: training matrix, certificate expiries, who may work where. See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N  # noqa: F401

MESSAGES: dict[str, str] = {}
