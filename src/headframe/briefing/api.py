"""Briefing endpoints: /api/v1/briefing/... (meetings, packs), /api/v1/directives, /api/v1/key-tasks."""

from ninja import Router

router = Router(tags=["briefing"])
directives_router = Router(tags=["directives"])
key_tasks_router = Router(tags=["key tasks"])
