"""The live bus (core.live_bus): a notification sent inside a committed transaction wakes the streams waiting on
its topic; a rolled-back one wakes nobody; on SQLite nothing is sent and streams poll."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, transaction

from headframe.core import live_bus

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 5.0  # far below the safety poll: a stream woken within it was woken by the notification
POLL_TICK_S = 0.5  # a stream's tick while the bus is down: it polls
RECONNECT_S = 3.0  # the listener's first retry, in the test where it drops: far after a stream's poll tick


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


async def _told(subscription: live_bus.Subscription, within_s: float = WAIT_S) -> bool:
    """Whether the bus marks the subscription as notified within `within_s` (without waiting on it)."""
    deadline = time.monotonic() + within_s
    while not subscription._woken and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return subscription._woken


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
            assert await _told(stream)
            assert not stream._urgent
            # Values moved: the stream queries at its tick (60 s here), so the wait lasts until its deadline.
            deadline = time.monotonic() + 0.2
            await stream.wait(tick_s=60.0, deadline=deadline)
            assert time.monotonic() >= deadline
            stream.clear()
            await sync_to_async(_commit)("site:/G/A/A-M1/", urgent=True)
            assert await _woken(stream)
            assert stream._urgent
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_streams_poll_while_the_listening_connection_is_down_and_are_woken_when_it_is_back(
    postgresql, monkeypatch
):
    monkeypatch.setattr(live_bus, "RECONNECT_FIRST_S", RECONNECT_S)

    async def scenario():
        bus = live_bus.LiveBus()
        try:
            assert await bus.ready()
            stream = bus.subscribe("site:/G/A/A-M1/")
            stream.clear()
            # The server drops the listener's connection (a restart, a network cut): a stream waiting on the
            # bus is told at once and polls at its tick meanwhile, and is woken again when the listener is
            # back. Its wait started on the bus (until the safety poll); it ends at its poll tick after the
            # drop, while the listener is still down (it retries RECONNECT_S later): it was told of the drop.
            waiting = asyncio.ensure_future(stream.wait(tick_s=POLL_TICK_S, deadline=time.monotonic() + 60))
            await asyncio.sleep(0.05)
            assert bus.listening and not waiting.done()  # it waits on the bus, not polling
            await sync_to_async(_terminate_listener)()
            await asyncio.wait_for(waiting, live_bus.SAFETY_POLL_S + 5)
            assert not bus.listening
            assert await bus.ready(timeout=RECONNECT_S + WAIT_S)
            assert await _woken_by_a_commit(stream)
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_a_stream_that_began_waiting_before_the_listener_listened_is_woken_when_it_does(postgresql):
    """A stream opened while the bus connects (its first wait begins before the listener listens) polls, but not
    for a whole tick: the listener wakes it when it starts, and its next wait is on the bus."""

    async def scenario():
        bus = live_bus.LiveBus()
        try:
            stream = bus.subscribe("site:/G/A/A-M1/")  # starts the listener
            assert not bus.listening
            stream.clear()
            started = time.monotonic()
            await stream.wait(tick_s=30.0, deadline=started + 30)  # a long tick: polling would end it
            assert bus.listening and time.monotonic() - started < WAIT_S
            assert await _woken_by_a_commit(stream)
        finally:
            await bus.stop()

    async_to_sync(scenario)()


async def _woken_by_a_commit(stream: live_bus.Subscription) -> bool:
    """Whether a committed notification on A-M1 ends the stream's next wait (on the bus, not by polling)."""
    stream.clear()
    await sync_to_async(_commit)("site:/G/A/A-M1/")
    return await _woken(stream)


def _terminate_listener() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'headframe-live-bus' AND datname = current_database()"
        )


@pytest.fixture
def sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the polling path is SQLite's")


def test_on_sqlite_notify_sends_nothing_and_a_stream_polls_at_its_tick(sqlite, monkeypatch):
    monkeypatch.setattr(live_bus, "_watchers", [])  # nothing watched: no task, no connection

    async def scenario():
        bus = live_bus.LiveBus()
        stream = bus.subscribe("site:/G/A/A-M1/")
        await sync_to_async(_commit)("site:/G/A/A-M1/")
        started = time.monotonic()
        await stream.wait(tick_s=0.05, deadline=started + 3600)
        assert (
            time.monotonic() - started < 600
        )  # at its tick, not at the hour's deadline (however busy the machine)
        assert not bus.listening and bus._task is None  # no listener, no connection

    async_to_sync(scenario)()


def test_on_sqlite_a_watchers_topic_wakes_its_streams_and_their_ancestors_at_once_and_no_other(
    sqlite, monkeypatch
):
    """What a watcher answers (here: one alarm moved at A-M1, once asked after it was told) wakes the mine's
    stream and its company's at once; another company's stream waits for its tick."""
    moved = asyncio.Event()

    def watcher(cursor):
        if cursor is None:
            return 0, []
        if cursor == 0 and moved.is_set():
            return 1, ["site:/G/A/A-M1/"]
        return cursor, []

    monkeypatch.setattr(live_bus, "_watchers", [watcher])

    async def scenario():
        bus = live_bus.LiveBus()
        mine = bus.subscribe("site:/G/A/A-M1/")
        company = bus.subscribe("site:/G/A/")
        other = bus.subscribe("site:/G/B/")
        try:
            moved.set()
            await asyncio.wait_for(mine.wait(tick_s=3600), WAIT_S)  # not at its hour's tick
            await asyncio.wait_for(company.wait(tick_s=3600), WAIT_S)
            assert not other._urgent and not other._woken
            with pytest.raises(TimeoutError):  # the other company's stream is still waiting for its tick
                await asyncio.wait_for(other.wait(tick_s=3600), 5 * live_bus.WATCH_S)
            assert bus.notifications == 1
        finally:
            await bus.stop()

    async_to_sync(scenario)()


def test_on_sqlite_a_failing_watcher_leaves_the_streams_polling_at_their_tick(sqlite, monkeypatch):
    asked = []

    def broken(cursor):
        asked.append(cursor)
        raise RuntimeError("database is locked")

    monkeypatch.setattr(live_bus, "_watchers", [broken])

    async def scenario():
        bus = live_bus.LiveBus()
        stream = bus.subscribe("site:/G/A/A-M1/")
        try:
            for _ in range(3):  # tick after tick, as without a watcher
                await asyncio.wait_for(stream.wait(tick_s=0.05), WAIT_S)
            while len(asked) < 2:  # asked again at the next round, from scratch
                await asyncio.sleep(live_bus.WATCH_S)
        finally:
            await bus.stop()
        stream.close()
        assert bus._task is None and not bus._subscriptions

    async_to_sync(scenario)()
    assert asked[:2] == [None, None]
