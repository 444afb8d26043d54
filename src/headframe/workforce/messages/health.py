"""Workforce error messages: medical examinations and occupational disease screening (individual rows: the medical role only). See messages/people.py for the form."""

from django.utils.translation import gettext_noop as N  # noqa: F401

MESSAGES: dict[str, str] = {}
