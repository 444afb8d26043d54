"""Workforce API: medical examinations and occupational disease screening (individual rows: the medical role only)."""

from ninja import Router

router = Router(tags=["workforce"])
