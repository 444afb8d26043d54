"""The page warmer builds the briefing's usual views into the page cache ahead of the first request: the
production page of the group and of each company for yesterday, their month-to-date packs, and the packs of the
meetings planned or in session — the very entries the pages then read."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from headframe.briefing import warm
from headframe.briefing.pack import pack_build, pack_for_cached
from headframe.briefing.warm import warm_pages
from headframe.org.models import Unit
from headframe.production.selectors import children_of, indicators_for
from headframe.production.selectors.dashboard import dashboard_figures
from tests.briefing import pack_fixtures
from tests.briefing.pack_fixtures import YEAR

pytestmark = pytest.mark.django_db
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures
TODAY = dt.datetime(YEAR, 10, 21, 5, 0, tzinfo=dt.UTC)  # yesterday is 20/10: the default day


def _queries(read) -> int:
    with CaptureQueriesContext(connection) as queries:
        read()
    return len(queries)


def test_after_a_round_the_usual_pages_come_from_the_cache(page_cache, group_meeting):
    day = dt.date(YEAR, 10, 20)
    with time_machine.travel(TODAY, tick=False):
        group, company = Unit.objects.get(code="G"), Unit.objects.get(code="A")
        indicators = indicators_for()
        with translation.override("vi"):
            cold = _queries(lambda: dashboard_figures(company, day, indicators, children_of(company)))
        cache.clear()
        visited = warm_pages()
        assert visited >= 2 * 3 + 1  # G, A, B: a page and a pack each; the planned meeting's pack
        with translation.override("vi"):
            for unit in (group, company):
                warm = _queries(lambda unit=unit: dashboard_figures(unit, day, indicators, children_of(unit)))
                assert warm < cold / 3, (unit.code, warm, cold)  # the version reads only
                assert _queries(lambda unit=unit: pack_for_cached(unit, day.replace(day=1), day)) <= 5
        assert _queries(lambda: pack_build(group_meeting.meeting)) <= 5


def test_without_the_page_cache_the_warmer_does_nothing(settings, group_meeting):
    settings.PAGE_CACHE = False
    assert _queries(warm_pages) == 0 and warm_pages() == 0


def test_a_page_that_fails_to_build_does_not_keep_the_others_cold(page_cache, group_meeting, monkeypatch):
    real = warm.dashboard_figures

    def broken_for_a(unit, *args):
        if unit.code == "A":
            raise ValueError("a bug in one unit's figures")
        return real(unit, *args)

    monkeypatch.setattr(warm, "dashboard_figures", broken_for_a)
    with time_machine.travel(TODAY, tick=False):
        visited = warm.warm_pages()
        everything = len(Unit.objects.filter(code__in=["G", "A", "B"])) * 2 + 1
        assert visited == everything - 1  # all but A's production page
        day = dt.date(YEAR, 10, 20)
        company_b = Unit.objects.get(code="B")
        assert _queries(lambda: pack_for_cached(company_b, day.replace(day=1), day)) <= 5
