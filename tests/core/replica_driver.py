"""A headframe process configured with a primary and a read replica, driven by tests/core/test_read_replica.py.

Run as `python -m tests.core.replica_driver` with HEADFRAME_DATABASE_URL and HEADFRAME_DATABASE_REPLICA_URL set.
It reads one JSON command per line on stdin and answers one JSON line on stdout, so the test pays Django's
start-up once and asks the real pages and endpoints (through Django's test client) what they show.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headframe.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from headframe.core import db_router  # noqa: E402

DAY = dt.date(2026, 3, 10)
CLOSED_DAY = dt.date(
    2026, 2, 10
)  # a month the tests close (DAY's month stays open for the figures they write)
POSITION = "A-M1-K1-F1"
INDICATOR = "raw_coal_t"


class Driver:
    def __init__(self) -> None:
        self.client = Client(HTTP_HOST="127.0.0.1")
        self.token = ""
        self.user = None
        self.planner = None

    def ping(self) -> dict:
        return {}

    def seed(self) -> dict:
        from headframe.org import services as org
        from headframe.production import services as production
        from tests import seeds
        from tests.factories import make_unit

        # The copied test database lacks what migrations seed if a test that flushes ran before it was copied.
        seeds.indicator_catalogue()
        make_unit("G", "group")
        make_unit("A", "company", "G")
        make_unit("A-M1", "site", "A")
        make_unit("A-M1-K1", "area", "A-M1")
        make_unit(POSITION, "position", "A-M1-K1")
        self.user = org.user_create(actor=None, username="viewer_a", grants=[("viewer", "A")], password=None)
        _, self.token = org.token_create(actor=None, user=self.user)
        self.planner = org.user_create(
            actor=None, username="planner_a", grants=[("planner", "A")], password=None
        )
        production.plan_version_create(
            actor=None,
            unit_code="A-M1",
            year=2026,
            effective_from=dt.date(2026, 1, 1),
            values={INDICATOR: 365000},
        )
        return self.write(1111)

    def login(self) -> dict:
        self.client.force_login(self.user)
        return {}

    def write(self, value: float) -> dict:
        from headframe.production import services as production

        production.actuals_upsert(
            actor=None, rows=[production.ActualRow(POSITION, INDICATOR, DAY, 0, value)], source="api"
        )
        return {}

    def _get(self, url: str, **params) -> dict:
        response = self.client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {self.token}")
        return {
            "status": response.status_code,
            "body": response.json() if response.status_code == 200 else None,
        }

    def summary(self) -> dict:
        """The plan-vs-actual dashboard's figures (API): the day's raw coal of company A."""
        answer = self._get("/api/v1/production/summary", unit="A", date=DAY.isoformat())
        body = answer.pop("body")
        if body:
            row = next(i for i in body["indicators"] if i["code"] == INDICATOR)
            answer["value"] = row["day"]["actual"]
        return answer

    def pack(self) -> dict:
        """The ad-hoc briefing pack of company A for the day: its day figure of raw coal."""
        answer = self._get(
            "/api/v1/briefing/pack", unit="A", **{"from": DAY.isoformat(), "to": DAY.isoformat()}
        )
        body = answer.pop("body")
        if body:
            rows = body["blocks"][0]["production"]["rows"]
            answer["value"] = next(r["day_actual"] for r in rows if r["indicator"] == INDICATOR)
        return answer

    def actuals(self) -> dict:
        """The stored figures as the reporting API lists them (a client reads back what it just wrote)."""
        answer = self._get(
            "/api/v1/production/actuals", unit="A", **{"from": DAY.isoformat(), "to": DAY.isoformat()}
        )
        body = answer.pop("body")
        if body is not None:
            answer["value"] = sum(float(a["value"]) for a in body if a["indicator"] == INDICATOR)
        return answer

    def page(self, values: tuple[int, ...] = ()) -> dict:
        """The unit's dashboard page (HTML): whether it answers, and which of these whole numbers it shows."""
        response = self.client.get(f"/production/u/A/?date={DAY:%d/%m/%Y}")
        html = response.content.decode()
        shown = [
            v for v in values if any(f"{v:,}".replace(",", sep) in html for sep in (".", ",", " ", "\u202f"))
        ]
        return {"status": response.status_code, "shows": shown}

    def close_month(self) -> dict:
        """A planner closes CLOSED_DAY's month on company A's page (a form post): whether the page the form
        redirects to shows the month closed."""
        planner = Client(HTTP_HOST="127.0.0.1")
        planner.force_login(self.planner)
        response = planner.post("/production/u/A/lock/", {"date": f"{CLOSED_DAY:%d/%m/%Y}"}, follow=True)
        return {
            "status": response.status_code,
            "closed": 'data-testid="month-locked"' in response.content.decode(),
        }

    def forget_replica_state(self) -> dict:
        db_router.health.reset()
        return {}

    def trust_replica(self) -> dict:
        """As if the replica had answered a moment ago: the next scope reads from it without asking first."""
        db_router.health._usable, db_router.health._recheck_at = True, float("inf")
        return {}

    def max_lag(self, seconds: int) -> dict:
        settings.DATABASE_REPLICA_MAX_LAG_S = seconds
        db_router.health.reset()
        return {}


def main() -> None:
    driver = Driver()
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = getattr(driver, command.pop("do"))(**command)
        except Exception as exc:  # the test shows what failed; the driver keeps answering
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
