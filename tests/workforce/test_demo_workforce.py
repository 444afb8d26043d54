"""The workforce demo: NDA's underground mines with ~2 000 workers, today's rosters, ~150 underground (a couple
overdue), expiring and lapsed certificates, the lamp-room examples; loading it again adds nothing."""

from __future__ import annotations

import datetime as dt
import random

from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit
from headframe.workforce.demo import load_workforce_demo, people
from headframe.workforce.models import Certificate, Presence, RosterEntry, Worker
from headframe.workforce.selectors import certificates_expiring, underground_counts, underground_now
from headframe.workforce.services import CheckInRefused, check_in


def test_the_demo_has_the_promised_workforce(demo_org, db):
    assert 1900 <= Worker.objects.count() <= 2100
    assert Worker.objects.filter(tag_no__isnull=True).count() == 0
    with CaptureQueriesContext(connection) as queries:
        rows = underground_now(None)
    # presences, people, rosters, units, areas, calendars: not one per person (speed: bench/bench_workforce.py)
    assert len(queries) <= 6
    assert 140 <= len(rows) <= 160
    assert 1 <= sum(r.overdue for r in rows) <= 4
    assert set(underground_counts(None)) == {"NDA-M1", "NDA-M2"}
    assert all(r.position is not None for r in rows)
    expiring = certificates_expiring(None, 90)
    assert any(r.lapsed for r in expiring) and any(0 <= r.days_left <= 30 for r in expiring)
    assert any(60 < r.days_left <= 90 for r in expiring)


def test_the_lamp_room_examples(demo_org, db):
    presence = check_in(actor=None, tag_no="NDA-00001", site_code="NDA-M1")
    assert presence.override_by is None
    for tag, code in (
        ("NDA-00002", "training_lapsed"),
        ("NDA-00003", "health_class"),
        ("NDA-00004", "not_rostered"),
    ):
        try:
            check_in(actor=None, tag_no=tag, site_code="NDA-M1")
        except CheckInRefused as exc:
            assert [item.type for item in exc.items] == [code]
        else:
            raise AssertionError(f"{tag} went underground")


def test_loading_it_again_adds_nothing(demo_org, db):
    counts = (
        Worker.objects.count(),
        Certificate.objects.count(),
        RosterEntry.objects.count(),
        Presence.objects.count(),
    )
    load_workforce_demo()
    assert counts == (
        Worker.objects.count(),
        Certificate.objects.count(),
        RosterEntry.objects.count(),
        Presence.objects.count(),
    )


def test_the_full_demo_month_of_rosters_and_presence(demo_org, db):
    """`make demo`'s history, over three days at NDA's mines (the whole month is 13 s of loading: bench/)."""
    now = timezone.now()
    sites = list(Unit.objects.filter(code__in=people.SITES).order_by("code"))
    before = Presence.objects.filter(checked_out_at__isnull=False).count()
    people._history(random.Random(1), sites, timezone.localdate(), now, 3)
    stays = Presence.objects.filter(checked_out_at__isnull=False)
    assert stays.count() > before + 2 * 3 * 500  # two mines × three days × most of the ~850 rostered
    assert not stays.filter(checked_out_at__gt=now).exists()
    assert not stays.filter(checked_out_at__lt=F("checked_in_at")).exists()
    # one shift a day for each person over the history; nobody still in a stay when checked in now
    history = RosterEntry.objects.filter(day__lt=timezone.localdate() - dt.timedelta(days=1))
    assert history.values("day").distinct().count() >= 2
    assert not history.values("worker", "day").annotate(n=Count("pk")).filter(n__gt=1).exists()
    open_now = set(Presence.objects.filter(checked_out_at__isnull=True).values_list("worker", flat=True))
    assert not stays.filter(worker__in=open_now, checked_out_at__gt=now - dt.timedelta(minutes=1)).exists()
    counts = (RosterEntry.objects.count(), Presence.objects.count())
    people._history(random.Random(1), sites, timezone.localdate(), now, 3)
    assert (RosterEntry.objects.count(), Presence.objects.count()) == counts  # again: nothing added


def test_the_demo_lamp_room_sends_down_tomorrows_first_shift_without_a_week_of_rosters(demo_org, db):
    # The morning after a demo loaded with less than a week of history (the test's): tomorrow has no roster, nor
    # has a week before it — the crews of the latest rostered day go down, whatever the hour the test runs at.
    started = timezone.now()
    tomorrow = started.astimezone(LOCAL_TZ).date() + dt.timedelta(days=1)
    assert not RosterEntry.objects.filter(day__in=[tomorrow, tomorrow - dt.timedelta(days=7)]).exists()
    at_dawn = dt.datetime.combine(tomorrow, dt.time(5, 55), tzinfo=LOCAL_TZ)  # shift 1 starts at 06:00
    people.demo_lamp_room(now=at_dawn, since=started)
    went_down = Presence.objects.filter(checked_in_at__gt=started, checked_out_at__isnull=True)
    assert went_down.count() > 20
    assert RosterEntry.objects.filter(day=tomorrow, shift=1).exists()


def test_the_demo_lamp_room_brings_crews_up_and_the_next_shift_down(demo_org, db):
    """`headframe demo` runs this every minute: nobody is left overdue by the demo itself, except the examples
    that were overdue when it started."""
    started = timezone.now()
    examples = {r.presence_id for r in underground_now(None, now=started) if r.overdue}
    later = started + dt.timedelta(hours=9)  # past the end of the current shift, into the next
    people.demo_lamp_room(now=later, since=started)
    rows = underground_now(None, now=later)
    overdue = {r.presence_id for r in rows if r.overdue}
    assert examples and overdue == examples  # the examples stay for the lamp room; the crews came up
    came_up = Presence.objects.filter(checked_out_at__gt=started)
    assert came_up.exists() and not came_up.filter(checked_out_at__gt=later).exists()
    went_down = Presence.objects.filter(checked_in_at__gt=started, checked_out_at__isnull=True)
    assert went_down.count() > 20 and not went_down.filter(checked_in_at__gt=later).exists()
    assert all(r.position is not None for r in rows if r.presence_id not in examples)  # they were rostered
    before = Presence.objects.count()
    people.demo_lamp_room(now=later, since=started)
    assert Presence.objects.count() == before  # the same minute again: nobody moves twice
