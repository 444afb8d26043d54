"""Workforce API: the epidemic register: tests, cases, isolation, contact tracing."""

from ninja import Router

router = Router(tags=["workforce"])
