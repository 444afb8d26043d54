"""The workforce demo: NDA's underground mines with ~2 000 workers, today's rosters, ~150 underground (a couple
overdue), expiring and lapsed certificates, the lamp-room examples; loading it again adds nothing."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from headframe.workforce.demo import load_workforce_demo
from headframe.workforce.models import Certificate, Presence, RosterEntry, Worker
from headframe.workforce.selectors import certificates_expiring, underground_counts, underground_now
from headframe.workforce.services import CheckInRefused, check_in


def test_the_demo_has_the_promised_workforce(demo_org, db):
    assert 1900 <= Worker.objects.count() <= 2100
    assert Worker.objects.filter(tag_no__isnull=True).count() == 0
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        rows = underground_now(None)
    assert len(queries) <= 3  # presences, their rosters, the shift calendars: not one per person
    assert time.monotonic() - started < 0.5
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


def test_loading_it_again_adds_nothing_and_is_fast(demo_org, db):
    counts = (
        Worker.objects.count(),
        Certificate.objects.count(),
        RosterEntry.objects.count(),
        Presence.objects.count(),
    )
    started = time.monotonic()
    load_workforce_demo()
    assert time.monotonic() - started < 1
    assert counts == (
        Worker.objects.count(),
        Certificate.objects.count(),
        RosterEntry.objects.count(),
        Presence.objects.count(),
    )
