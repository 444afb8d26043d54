"""Fixtures the browser tests share."""

from __future__ import annotations

import pytest

from headframe.demo import DEMO_PASSWORD
from tests.factories import make_user

# The demo's users (headframe.demo.DEMO_USERS) on the small test tree (tests/conftest.py: G → A, B → sites …).
SMALL_DEMO_ROLES = {
    "admin": ("admin", "G"),
    "planner": ("planner", "G"),
    "viewer": ("viewer", "G"),
    "dispatcher": ("dispatcher", "A"),
    "safety": ("safety_officer", "A"),
    "reporter": ("reporter", "A-M1"),
}


@pytest.fixture
def small_demo(tree, indicator_catalogue, limit_profiles):
    """A small tree with the demo's users and a meeting with a directive: loading the whole demo takes a
    minute, and the pages, not the figures, are under test here."""
    import datetime as dt

    from django.utils import timezone

    from headframe.briefing import services as briefing
    from headframe.production import services as production

    users = {name: make_user(name, grant, password=DEMO_PASSWORD) for name, grant in SMALL_DEMO_ROLES.items()}
    today = timezone.localdate()
    production.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=today.year,
        effective_from=dt.date(today.year, 1, 1),
        values={"raw_coal_t": 365_000},
    )
    production.actuals_upsert(
        actor=None,
        rows=[
            production.ActualRow("A-M1-K1-F1", "raw_coal_t", today - dt.timedelta(days=n), 0, 950 + n)
            for n in range(1, 8)
        ],
        source="api",
    )
    meeting = briefing.meeting_create(
        actor=users["planner"],
        unit_code="G",
        title="Giao ban tuần",
        starts_at=timezone.now() + dt.timedelta(days=1),
        period_start=today - dt.timedelta(days=7),
        period_end=today - dt.timedelta(days=1),
        chair=users["planner"],
    )
    briefing.directive_create(
        actor=users["planner"],
        text="Gia cố lò chợ",
        owner_unit_code="A-M1",
        deadline=today + dt.timedelta(days=10),
        meeting=meeting,
    )
    return users
