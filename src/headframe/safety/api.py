"""Safety endpoints under /api/v1/safety/: templates, campaigns, inspections, findings, incidents, readiness."""

from ninja import Router

router = Router(tags=["safety"])
