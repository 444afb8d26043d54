"""The live bus (core.live_bus): a notification sent inside a committed transaction wakes the streams waiting on
its topic; a rolled-back one wakes nobody; on SQLite nothing is sent and streams poll."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, transaction

from headframe.core import live_bus

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 5.0  # far below the safety poll: a stream woken within it was woken by the notification


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the streams poll")


class Boom(Exception):
    pass


def _commit(*topics: str, urgent: bool = True) -> None:
    with transaction.atomic():
        live_bus.notify(*topics, urgent=urgent)


def _roll_back(*topics: str) -> None:
    try:
        with transaction.atomic():
            live_bus.notify(*topics, urgent=True)
            raise Boom
    except Boom:
        pass


async def _woken(subscription: live_bus.Subscription, within_s: float = WAIT_S) -> bool:
    """Whether the subscription's wait ended before `within_s` (the safety poll is pushed far beyond)."""
    started = time.monotonic()
    await subscription.wait(tick_s=0.0, deadline=started + within_s)
    return time.monotonic() - started < within_s


def test_a_committed_notify_wakes_the_stream_waiting_on_its_topic(postgresql):
    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            mine, other = bus.subscribe("site:/G/A/A-M1/"), bus.subscribe("site:/G/B/B-M1/")
            mine.clear()
            other.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/")
            assert await _woken(mine)
            assert not other._woken  # another mine's page is not woken
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_a_rolled_back_notify_wakes_nobody(postgresql):
    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            rolled_back, committed = bus.subscribe("meeting:7"), bus.subscribe("meeting:8")
            rolled_back.clear()
            committed.clear()
            await sync_to_async(_roll_back)("meeting:7")
            await sync_to_async(_commit)("meeting:8")
            # Notifications arrive in commit order: once the later one is here, the first would have been too.
            assert await _woken(committed)
            assert not rolled_back._woken
            assert bus.notifications == 1
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_a_notify_on_a_mine_wakes_the_page_of_its_company_too(postgresql):
    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            company, meeting_1 = bus.subscribe("site:/G/A/"), bus.subscribe("meeting:1")
            company.clear()
            meeting_1.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/", "meeting:12")
            assert await _woken(company)
            assert not meeting_1._woken  # "meeting:1" is not an ancestor of "meeting:12"
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_a_plain_notify_waits_for_the_streams_tick_an_urgent_one_does_not(postgresql):
    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            stream = bus.subscribe("site:/G/A/A-M1/")
            stream.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/", urgent=False)
            await stream.wait(tick_s=60.0, deadline=time.monotonic() + 0.5)  # values: not before the tick
            assert stream._woken and not stream._urgent
            stream.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/", urgent=True)
            assert await _woken(stream)
            assert stream._urgent
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_streams_poll_while_the_listening_connection_is_down_and_are_woken_when_it_is_back(postgresql):
    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            stream = bus.subscribe("site:/G/A/A-M1/")
            stream.clear()
            # The server drops the listener's connection (a restart, a network cut): the stream is told at
            # once, polls at its tick meanwhile, and is woken again when the listener is back.
            await sync_to_async(_terminate_listener)()
            assert await _woken(stream)
            assert await bus.ready(timeout=WAIT_S)
            stream.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/")
            assert await _woken(stream)
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def _terminate_listener() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'headframe-live-bus' AND datname = current_database()"
        )


def test_on_sqlite_notify_sends_nothing_and_a_stream_polls_at_its_tick():
    if connection.vendor != "sqlite":
        pytest.skip("the polling path is SQLite's")

    async def scenario():
        bus = live_bus.LiveBus()
        stream = bus.subscribe("site:/G/A/A-M1/")
        await sync_to_async(_commit)("site:/G/A/A-M1/")
        started = time.monotonic()
        await stream.wait(tick_s=0.05, deadline=started + 60)
        assert time.monotonic() - started < 5
        assert not bus.listening and bus._task is None  # no listener, no connection

    async_to_sync(scenario)()
