"""The live page's tiles at mine scale: built in a fixed number of queries, and shared by the streams of one
site in one process (one build per tick, each stream still sends only what changed for it; a new alarm
event never waits for the shared tiles)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from headframe.core import live_bus
from headframe.telemetry import tiles
from headframe.telemetry.models import Sensor, SensorState
from headframe.telemetry.views import live
from tests.factories import make_user
from tests.telemetry.streams import in_a_thread_of_its_own

WAIT_S = 5.0


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def dispatcher(mine):
    return make_user("dieu_do_a", ("dispatcher", "A-M1"))


@pytest.fixture
def builds(monkeypatch):
    """Counts the tile builds of the streams, starting with no shared snapshot."""
    calls: list[str] = []
    real = live.sensor_tiles

    def counted(user, site, *args, **kwargs):
        calls.append(site.code)
        return real(user, site, *args, **kwargs)

    monkeypatch.setattr(live, "sensor_tiles", counted)
    monkeypatch.setattr(live, "_snapshots", {})
    return calls


def stream_ticks(monkeypatch, seconds: float) -> None:
    """Streams read every `seconds` (their tick), and so do they on PostgreSQL with the live bus listening (its
    safety poll): the bus wakes them only for committed writes, which most of these tests' writes are not."""
    monkeypatch.setattr(live, "STREAM_TICK_S", seconds)
    monkeypatch.setattr(live_bus, "SAFETY_POLL_S", seconds)


def add_sensors(mine, count: int) -> None:
    Sensor.objects.bulk_create(
        [
            Sensor(
                code=f"MANY-{n:03d}",
                kind="co_ppm",
                location="face_return",
                range_min=0,
                range_max=1000,
                position=mine.face,
                gateway=mine.gateway,
                period_s=10,
            )
            for n in range(count)
        ]
    )
    SensorState.objects.bulk_create(
        [SensorState(sensor=s) for s in Sensor.objects.filter(code__startswith="MANY-")]
    )


def test_the_tiles_of_a_mine_take_the_same_queries_for_4_or_64_sensors(mine, dispatcher, send):
    t = now_ms()
    send([("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t)  # open alarms
    tiles.sensor_tiles(dispatcher, mine.site)  # the user's scope is read once, then kept on the user
    with CaptureQueriesContext(connection) as few:
        assert len(tiles.sensor_tiles(dispatcher, mine.site)) == 4
    add_sensors(mine, 60)
    with CaptureQueriesContext(connection) as many:
        assert len(tiles.sensor_tiles(dispatcher, mine.site)) == 64
    assert len(many.captured_queries) == len(few.captured_queries)


async def _sensors_event(events) -> str:
    while True:
        chunk = await asyncio.wait_for(anext(events), WAIT_S)
        if "event: sensors" in chunk:
            return chunk


def test_two_streams_of_a_mine_share_one_tile_build_per_tick_and_get_the_same_tiles(
    mine, dispatcher, send, builds, monkeypatch
):
    monkeypatch.setattr(live, "STREAM_TICK_S", 30.0)  # one tick spans the whole test
    send([("A1-CH4-01", now_ms() - 1000, 0.3)], now_ms=now_ms())
    viewer = make_user("viewer_a1", ("viewer", "A-M1"))

    async def scenario():
        first = live._events(dispatcher, mine.site, -1, "vi")
        second = live._events(viewer, mine.site, -1, "vi")
        try:
            return await _sensors_event(first), await _sensors_event(second)
        finally:
            await first.aclose()
            await second.aclose()
            await live_bus.bus.stop()

    one, two = async_to_sync(scenario)()
    assert builds == ["A-M1"]
    assert one == two and '"code":"A1-CH4-01"' in one and '"text":"0,30"' in one


def test_a_changed_reading_shows_up_on_the_stream_at_the_next_tick(
    mine, dispatcher, send, builds, monkeypatch
):
    stream_ticks(monkeypatch, 0.05)
    send([("A1-CO-01", now_ms() - 1000, 4.0)], now_ms=now_ms())

    async def scenario():
        events = live._events(dispatcher, mine.site, -1, "vi")
        try:
            assert '"text":"4"' in await _sensors_event(events)
            await asyncio.sleep(live.STREAM_TICK_S)  # the next tick
            await sync_to_async(send)([("A1-CO-01", now_ms(), 7.0)], now_ms=now_ms())
            return await _sensors_event(events)
        finally:
            await events.aclose()
            await live_bus.bus.stop()

    changed = async_to_sync(scenario)()
    assert '"code":"A1-CO-01"' in changed and '"text":"7"' in changed
    assert '"code":"A1-O2-01"' not in changed  # only what changed since the last tick
    assert len(builds) >= 2


def test_a_client_that_reads_slowly_gets_the_newest_tiles_not_a_backlog_of_old_ones(
    mine, dispatcher, send, builds, monkeypatch
):
    """While the client takes nothing (a tablet on a weak link), the values move three times: the stream does
    not hoard a tile event per tick for it; the next event it gets is the newest value."""
    stream_ticks(monkeypatch, 0.02)
    send([("A1-CO-01", now_ms() - 1000, 4.0)], now_ms=now_ms())

    async def scenario():
        events = live._events(dispatcher, mine.site, -1, "vi")
        try:
            assert '"text":"4"' in await _sensors_event(events)
            for value in (5.0, 6.0, 7.0):  # the client takes nothing meanwhile
                await sync_to_async(send)([("A1-CO-01", now_ms(), value)], now_ms=now_ms())
                await asyncio.sleep(10 * live.STREAM_TICK_S)
            return await _sensors_event(events)
        finally:
            await events.aclose()
            await live_bus.bus.stop()

    after = async_to_sync(scenario)()
    assert '"code":"A1-CO-01"' in after and '"text":"7"' in after


def test_a_journal_read_that_fails_ends_the_stream_with_its_error(mine, dispatcher, send, monkeypatch):
    """Fail safe: a live page whose alarm journal cannot be read must not go on showing tiles as if all were
    well; the stream ends with the error, and the browser reconnects (and resumes after its last event)."""
    stream_ticks(monkeypatch, 0.02)
    send([("A1-CO-01", now_ms() - 1000, 4.0)], now_ms=now_ms())
    reads: list[int] = []

    def failing(*args):
        reads.append(1)
        if len(reads) > 1:
            raise RuntimeError("the database is gone")
        return []

    monkeypatch.setattr(live, "_journal", failing)

    async def scenario():
        events = live._events(dispatcher, mine.site, 0, "vi")
        try:
            with pytest.raises(RuntimeError, match="the database is gone"):
                while True:
                    await asyncio.wait_for(anext(events), WAIT_S)
        finally:
            await events.aclose()
            await live_bus.bus.stop()

    async_to_sync(scenario)()
    assert len(reads) == 2


async def _journal_event(events) -> str:
    while True:
        chunk = await asyncio.wait_for(anext(events), WAIT_S)
        if "event: journal" in chunk:
            return chunk


@pytest.mark.django_db(transaction=True)  # committed, as ingest's are: the bus tells the streams after commit
def test_a_methane_trip_reaches_a_waiting_stream_at_once_not_at_its_tick(mine, dispatcher, send, monkeypatch):
    """SQLite: the journal watcher wakes the mine's stream; PostgreSQL: the notification does. Either way the
    alarm event comes before the tiles it changed, and long before the stream's (here hour-long) tick."""
    stream_ticks(monkeypatch, 3600.0)
    send([("A1-CH4-01", now_ms() - 1000, 0.3)], now_ms=now_ms())

    async def scenario():
        events = live._events(dispatcher, mine.site, -1, "vi")
        try:
            await _sensors_event(events)  # the first tick
            if live_bus.bus.available():
                assert await live_bus.bus.ready()
            t = now_ms()
            await sync_to_async(send)(
                [("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t
            )
            journal = await _journal_event(events)
            return journal, await _sensors_event(events)
        finally:
            await events.aclose()
            await live_bus.bus.stop()

    journal, tiles_after = in_a_thread_of_its_own(scenario)
    assert '"limit":"ch4_face_return_trip"' in journal and '"event":"raised"' in journal
    assert '"code":"A1-CH4-01"' in tiles_after and '"css":"alarm"' in tiles_after


@pytest.mark.django_db(transaction=True)  # the journal is read on the streams' journal threads
def test_a_methane_trip_is_sent_while_the_mines_tiles_are_still_being_built(
    mine, dispatcher, send, monkeypatch
):
    """The stream's tiles build is held up (its mine's lock taken here, as a 500-sensor build under load takes a
    while): a methane trip that happens meanwhile still reaches the stream at once, and the tiles follow when
    the build can go on."""
    stream_ticks(monkeypatch, 0.05)
    send([("A1-CH4-01", now_ms() - 1000, 0.3)], now_ms=now_ms())
    key = (mine.site.path, "vi", timezone.get_current_timezone_name())
    with live._snapshots_lock:
        building = live._site_locks.setdefault(key, threading.Lock())

    async def scenario():
        events = live._events(dispatcher, mine.site, -1, "vi")
        received: asyncio.Queue[str] = asyncio.Queue()

        async def pull():  # as the server sends a stream: one chunk after the other, all the time
            async for chunk in events:
                received.put_nowait(chunk)

        async def next_event(kind: str) -> str:
            while f"event: {kind}" not in (chunk := await asyncio.wait_for(received.get(), WAIT_S)):
                pass
            return chunk

        sender = asyncio.create_task(pull())
        try:
            await next_event("sensors")  # the first tick
            building.acquire()
            try:
                await asyncio.sleep(10 * live.STREAM_TICK_S)  # the next ticks' builds now wait for the lock
                t = now_ms()
                # Not on the scenario's own thread, where the stream's tiles build is waiting.
                await sync_to_async(send, thread_sensitive=False)(
                    [("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t
                )
                journal = await next_event("journal")
            finally:
                building.release()
            while '"css":"alarm"' not in (tiles_after := await next_event("sensors")):
                pass
            return journal, tiles_after
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await events.aclose()
            await live_bus.bus.stop()

    journal, tiles_after = in_a_thread_of_its_own(scenario)
    assert '"limit":"ch4_face_return_trip"' in journal and '"event":"raised"' in journal
    assert '"code":"A1-CH4-01"' in tiles_after


@pytest.mark.django_db(transaction=True)  # the journal is read on the stream's journal thread
def test_a_client_that_reads_slowly_still_gets_every_journal_entry_in_order(
    mine, dispatcher, send, monkeypatch
):
    """The stream reads no further while JOURNAL_BACKLOG of its journal events wait for the client (1 here), and
    goes on from its cursor: nothing is skipped, nothing comes twice."""
    monkeypatch.setattr(live, "JOURNAL_BACKLOG", 1)
    stream_ticks(monkeypatch, 0.02)
    first = live.selectors.journal_last_id(site_path=mine.site.path)

    async def scenario():
        events = live._events(dispatcher, mine.site, first, "vi")
        try:
            await _sensors_event(events)
            t = now_ms()
            # Methane, CO and O₂ beyond their limits: several alarms at once, while the client takes nothing.
            await sync_to_async(send, thread_sensitive=False)(
                [
                    ("A1-CH4-01", t - 12_000, 1.25),
                    ("A1-CH4-01", t - 1000, 1.25),
                    ("A1-CO-01", t - 1000, 80.0),
                    ("A1-O2-01", t - 1000, 16.0),
                ],
                now_ms=t,
            )
            await asyncio.sleep(20 * live.STREAM_TICK_S)
            expected = await sync_to_async(_journal_ids, thread_sensitive=False)(mine.site.path, first)
            got: list[int] = []
            while len(got) < len(expected):
                chunk = await _journal_event(events)
                got.append(int(chunk.split("\n", 1)[0].removeprefix("id: ")))
            return expected, got
        finally:
            await events.aclose()
            await live_bus.bus.stop()

    expected, got = in_a_thread_of_its_own(scenario)
    assert len(expected) >= 2 and got == expected


def _journal_ids(site_path: str, after: int) -> list[int]:
    try:
        return [e.id for e in live.selectors.journal_after(None, after_id=after, site_path=site_path)]
    finally:
        connection.close()


def _one_tick(user, site, cursor):
    """What a stream's tick reads, as _events does it: the journal first, then the tiles after it."""
    read_at = time.monotonic()
    journal = live._journal(user, site, cursor, "vi")
    return journal, live._site_tiles(site, "vi", newer_than=read_at if journal else None)[0]


def test_a_new_alarm_rebuilds_the_shared_tiles_at_once_whatever_their_age(
    mine, dispatcher, send, builds, monkeypatch
):
    monkeypatch.setattr(live, "STREAM_TICK_S", 60.0)  # the snapshot would otherwise stay a minute
    send([("A1-CH4-01", now_ms() - 1000, 0.3)], now_ms=now_ms())
    cursor = live.selectors.journal_last_id(site_path=mine.site.path)
    entries, _ = _one_tick(dispatcher, mine.site, cursor)
    assert entries == [] and builds == ["A-M1"]
    t = now_ms()
    send([("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t)
    entries, after = _one_tick(dispatcher, mine.site, cursor)
    assert any(e["limit"] == "ch4_face_return_trip" and e["event"] == "raised" for e in entries)
    ch4 = next(tile for tile in after if tile["code"] == "A1-CH4-01")
    assert ch4["css"] == "alarm" and ch4["flash"] and ch4["text"] == "1,25"
    assert builds == ["A-M1", "A-M1"]


def test_the_streams_plain_rows_give_the_pages_tiles(mine, send):
    """The stream builds its tiles from plain rows (no model objects, every second for every mine followed):
    the same value, time, colour, flashing and staleness as the page's, sensor by sensor."""
    t = now_ms()
    send(
        [("A1-CH4-01", t - 12_000, 1.25), ("A1-CH4-01", t - 1000, 1.25)], now_ms=t
    )  # an unacked methane trip
    send([("A1-CO-01", t - 1000, 5.0)], now_ms=t)
    Sensor.objects.filter(code="A1-PUMP-01").update(in_service=False)  # out of service
    add_sensors(mine, 2)  # a state row but never a reading
    Sensor.objects.create(  # no state row at all
        code="NEVER-01",
        kind="o2_pct",
        location="face_return",
        range_min=0,
        range_max=25,
        position=mine.face,
        gateway=mine.gateway,
    )
    page = [tiles.tile_json(tile) for tile in tiles.sensor_tiles(None, mine.site, now_ms=t)]
    stream = tiles.sensor_tiles(None, mine.site, now_ms=t, for_page=False)
    assert stream == page
    by_code = {tile["code"]: tile for tile in stream}
    assert (by_code["A1-CH4-01"]["css"], by_code["A1-CH4-01"]["flash"]) == ("alarm", True)
    assert by_code["A1-PUMP-01"]["css"] == "oos"
    assert by_code["NEVER-01"]["stale"] and by_code["MANY-000"]["stale"]
    assert by_code["A1-CO-01"]["css"] == "normal" and not by_code["A1-CO-01"]["stale"]


@pytest.mark.django_db(transaction=True)  # the streams' threads read with connections of their own
def test_a_mine_building_its_tiles_never_holds_up_another_mines_stream(mine, tree, builds):
    """Streams of different mines tick side by side: while A-M1's tiles are being built (its lock held here),
    B-M1's stream still gets its tiles."""
    key = (mine.site.path, "vi", timezone.get_current_timezone_name())
    with live._snapshots_lock:
        building = live._site_locks.setdefault(key, threading.Lock())
    got: dict[str, list] = {}

    def tick(site) -> None:
        try:
            got[site.code] = live._site_tiles(site, "vi")[0]
        finally:
            connection.close()

    with building:
        other = threading.Thread(target=tick, args=(tree.b_m1,))
        other.start()
        other.join(WAIT_S * 6)
        assert not other.is_alive(), "B-M1's stream waited for A-M1's tiles"
        same = threading.Thread(target=tick, args=(mine.site,))  # waits for the build under way
        same.start()
    same.join(WAIT_S * 6)
    assert not same.is_alive()
    assert got["B-M1"] == [] and len(got["A-M1"]) == 4
    assert builds == ["B-M1", "A-M1"]
