"""Workforce endpoints under /api/v1/workforce/, one module per part of the module; this assembles them."""

from ninja import Router

from headframe.workforce.api import epidemic, health, income, people, rosters, training, voice

router = Router(tags=["workforce"])
for part in (people, rosters, training, health, epidemic, voice, income):
    router.add_router("", part.router)
