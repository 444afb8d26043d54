"""Workforce API: training matrix, certificate expiries, who may work where."""

from ninja import Router

router = Router(tags=["workforce"])
