"""Workforce API: average income per worker from payroll aggregates, against plan and last year."""

from ninja import Router

router = Router(tags=["workforce"])
