"""Pages built ahead: the views a morning briefing opens first — the production page of the group and of each
company for yesterday, their packs for the month to date, and the packs of the meetings planned or in session —
are put in the page cache by a thread of `headframe serve`, so the first of fifty managers does not wait for
them and the web threads do not build them while the others queue.

It calls the same functions as the pages (production.selectors.dashboard_figures, pack.pack_for_cached), so what
it stores is what a page would have built, under the same key: while nothing changed, a round costs only the
version reads; after a change it builds what the change touched. The production pages are built for the
default language and for users who see every child unit (the group's planners, a company's managers); anyone
else's page is built on their first request, as before.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError
from django.utils import translation

from headframe.briefing.models import Meeting, MeetingStatus
from headframe.briefing.pack.build import pack_for_cached
from headframe.core.background import repeat_in_thread
from headframe.org.models import Unit, UnitKind
from headframe.production.selectors import children_of, default_day, indicators_for
from headframe.production.selectors.dashboard import dashboard_figures

log = logging.getLogger(__name__)

WARM_EVERY_S = 20.0


def warm_pages() -> int:
    """One round: every usual view built into the page cache unless it is there; returns the views visited
    (0 with the page cache off)."""
    if not settings.PAGE_CACHE:
        return 0
    on = default_day()
    indicators = indicators_for()
    units = Unit.objects.filter(kind__in=[UnitKind.GROUP, UnitKind.COMPANY], is_active=True).order_by("path")
    views = []
    for unit in units:
        views.append(
            (unit.code, lambda unit=unit: dashboard_figures(unit, on, indicators, children_of(unit)))
        )
        views.append((unit.code, lambda unit=unit: pack_for_cached(unit, on.replace(day=1), on)))  # ad hoc
    meetings = Meeting.objects.filter(status__in=[MeetingStatus.PLANNED, MeetingStatus.IN_SESSION])
    for meeting in meetings.select_related("unit"):
        views.append(
            (f"meeting {meeting.pk}", lambda m=meeting: pack_for_cached(m.unit, m.period_start, m.period_end))
        )
    visited = 0
    with translation.override(settings.LANGUAGE_CODE):
        for name, build in views:
            try:
                build()
            except DatabaseError:
                raise  # the database is away: the round ends, the next one tries again
            except Exception:  # one page that fails to build does not keep the others cold
                log.exception("page warmer: the page of %s failed to build", name)
                continue
            visited += 1
    return visited


def start_page_warmer(every_s: float = WARM_EVERY_S) -> threading.Event:
    """Run warm_pages at once and then every `every_s` seconds in a daemon thread; set the event to stop it."""
    return repeat_in_thread("page warmer", every_s, warm_pages, log, thread_name="page-warmer", at_once=True)
