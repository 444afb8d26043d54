"""Workforce API: workers' voice: suggestions and grievances (kiến nghị), answers, escalation."""

from ninja import Router

router = Router(tags=["workforce"])
