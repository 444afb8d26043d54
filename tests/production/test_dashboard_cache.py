"""The production page's figures come from memory until something they show has changed (issue 16: fifty
managers at the morning briefing): the same page again reads only the version, a new figure shows at once,
each user gets the children they may see, each language its labels, and a report turns missing as soon as its
deadline passes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit
from headframe.production import services
from headframe.production.selectors import indicators_for
from headframe.production.selectors.dashboard import dashboard_figures
from tests.production.conftest import SEEDED_DAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]
DAY = SEEDED_DAY
PAGE = "/production/u/G/?date=10/03/2026"


def _get(client, url=PAGE) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_same_page_again_comes_from_the_cache(client, users, seeded):
    client.force_login(users.planner_g)
    first, cold = _get(client)
    second, warm = _get(client)
    masked = re.compile(r'"X-CSRFToken": *"[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"')
    assert masked.sub("", second) == masked.sub("", first)  # the very figures of the first
    assert 'data-testid="drill-A"' in second and "1.000" in second  # 700 + 300 t on the day, as computed
    assert warm < cold / 3, (warm, cold)  # the session, the user, the unit, the version: not the figures


def test_a_new_figure_shows_at_once(client, users, seeded):
    client.force_login(users.planner_g)
    before, _ = _get(client)
    assert "1.250" not in before
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("B-M1-K1-F1", "raw_coal_t", DAY, 2, 250)], source="api"
    )
    after, _ = _get(client)
    assert "1.250" in after  # 700 + 300 + 250 t: the cached figures were not served


def test_each_user_gets_the_children_they_may_see(seeded):
    group = Unit.objects.get(code="G")
    indicators = indicators_for()
    both = dashboard_figures(group, DAY, indicators, list(Unit.objects.filter(code__in=["A", "B"])))
    only_a = dashboard_figures(group, DAY, indicators, [Unit.objects.get(code="A")])
    assert set(both["split"]) == {"A", "B"}
    assert set(only_a["split"]) == {"A"}  # not the entry of a user who sees both


def test_each_language_gets_its_own_labels(seeded):
    group = Unit.objects.get(code="G")
    indicators = indicators_for()
    with translation.override("vi"):
        vi = dashboard_figures(group, DAY, indicators, [])
    with translation.override("en"):
        en = dashboard_figures(group, DAY, indicators, [])
    assert vi["chart"]["labels"]["plan"] != en["chart"]["labels"]["plan"] == "Plan"


def test_a_report_turns_missing_as_soon_as_its_deadline_passes(seeded):
    group = Unit.objects.get(code="G")
    indicators = indicators_for()

    def states_at(hour: int, minute: int, second: int) -> tuple[dict, int]:
        at = dt.datetime(2026, 3, 11, hour, minute, second, tzinfo=LOCAL_TZ)
        with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
            missing = dashboard_figures(group, DAY, indicators, [])["missing"]
        return {m.unit.code: m.state for m in missing}, len(queries)

    # B-OP (an open-pit site of `mines`) has no figure of DAY; its deadline is 08:00 the next morning.
    before, cold = states_at(7, 59, 0)
    still, warm = states_at(7, 59, 59)
    after, _ = states_at(8, 0, 1)
    assert before["B-OP"] == still["B-OP"] == "not_due" and after["B-OP"] == "missing"
    assert warm < cold / 3  # until the deadline the figures came from the cache
