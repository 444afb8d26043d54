"""The live page's stream (server-sent events): new alarm-journal entries (the journal id is the SSE event id, so
a reconnecting browser resumes with Last-Event-ID) and the sensor tiles that changed since the last tick."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation

from headframe.core import live_bus
from headframe.org.models import Unit
from headframe.telemetry import selectors
from headframe.telemetry.models import JournalEvent
from headframe.telemetry.tiles import sensor_tiles, tile_json
from headframe.telemetry.views.console import (
    site_or_404,
)
from headframe.telemetry.words import condition_meaning

log = logging.getLogger(__name__)


STREAM_TICK_S = 1.0
STREAM_MAX_S = 300.0  # then the stream ends and the browser reconnects with Last-Event-ID
STREAM_HEARTBEAT_S = 15.0
STREAM_RETRY_MS = 2000


def _journal_json(entry) -> dict:
    at = timezone.localtime(entry.at)
    cond = entry.condition
    return {
        "id": entry.id,
        "condition": entry.condition_id,
        "sensor": cond.sensor.code
        if cond.sensor_id
        else (cond.gateway.code if cond.gateway_id else cond.subject),
        "limit": cond.limit_code,
        "event": entry.event,
        "event_label": str(JournalEvent(entry.event).label),
        "state": entry.state,
        "priority": entry.alarm.priority if entry.alarm else None,
        "message": (
            entry.alarm.message
            if cond.site_id is not None and entry.alarm is not None
            else condition_meaning(cond, cond.sensor, cond.gateway.code if cond.gateway_id else "")
        ),
        "user": entry.user.username if entry.user else None,
        "comment": entry.comment,
        "time": at.strftime("%H:%M:%S"),
    }


@dataclass
class _Snapshot:
    built_at: float  # time.monotonic() when the build began (it read nothing older)
    # tile_json of every sensor tile: shared by the streams, never changed after it is built
    tiles: list[dict]


# Streams of one site in one process share the tiles of a tick: with N streams open a mine's tiles are built
# once per STREAM_TICK_S, not N times. Tiles depend on the site, the language and the time zone only: a user
# who may see the site (checked when the stream opens) sees every sensor of it, so they are built in the
# system's scope, restricted to the site.
_snapshots: dict[tuple[str, str, str], _Snapshot] = {}
_site_locks: dict[tuple[str, str, str], threading.Lock] = {}  # one per snapshot: mines build side by side
_snapshots_lock = threading.Lock()  # guards the two dicts, never held while tiles are built
SNAPSHOT_KEEP_S = 60.0  # a site nobody follows any more is forgotten after this


def _site_tiles(site: Unit, language: str, *, newer_than: float | None = None) -> tuple[list[dict], float]:
    """The site's tiles as JSON and when they were built: from this tick's snapshot if one is younger than
    STREAM_TICK_S (and, with `newer_than`, a time.monotonic() value, built after it), else built now and shared.
    A stream waits only for another stream building the same mine's tiles, never for other mines'."""
    key = (site.path, language, timezone.get_current_timezone_name())
    with _snapshots_lock:
        site_lock = _site_locks.setdefault(key, threading.Lock())
    # Streams' ticks run in worker threads; one builds while the others of the mine wait for it.
    with site_lock:
        now = time.monotonic()
        snapshot = _snapshots.get(key)
        if (
            snapshot is None
            or now - snapshot.built_at >= STREAM_TICK_S
            or (newer_than is not None and snapshot.built_at < newer_than)
        ):
            started = time.monotonic()  # what the tiles show is no older than this: the snapshot's time
            with translation.override(language):
                tiles = [tile_json(t) for t in sensor_tiles(None, site, for_page=False)]
            snapshot = _Snapshot(started, tiles)
            with _snapshots_lock:
                for old in [k for k, v in _snapshots.items() if now - v.built_at > SNAPSHOT_KEEP_S]:
                    del _snapshots[old]
                    # A stream holding its lock finishes with it; the next one gets a new lock.
                    _site_locks.pop(old, None)
                _snapshots[key] = snapshot
        return snapshot.tiles, snapshot.built_at


def _journal(user, site: Unit, cursor: int, language: str) -> list[dict]:
    """This stream's journal entries after its cursor."""
    with translation.override(language):
        return [_journal_json(e) for e in selectors.journal_after(user, after_id=cursor, site_path=site.path)]


def _journal_read(user, site: Unit, cursor: int, language: str) -> list[dict]:
    """_journal on the stream's journal thread, which keeps its database connection from one read to the next
    (closed when the stream ends), except after an error: a restarted database gets a new one."""
    try:
        return _journal(user, site, cursor, language)
    except Exception:
        connection.close()
        raise


def _changed_tiles(site: Unit, language: str, newer_than: float | None, sent: dict) -> str:
    """The `sensors` event of the tiles that changed since this stream last sent them ("" when none), in a
    worker thread: comparing and encoding a mine's hundreds of tiles is not done on the event loop, where it
    would hold up every other stream's alarm events. `sent` (code -> what was sent) is this stream's own. With
    `newer_than` (when a journal read found new entries: an alarm moved), the tiles are built after that read,
    so their colours are no older than the alarm events sent before them."""
    changed = []
    for tile in _site_tiles(site, language, newer_than=newer_than)[0]:
        key = (tile["ts"], tile["value"], tile["css"], tile["flash"], tile["stale"])
        if sent.get(tile["code"]) != key:
            sent[tile["code"]] = key
            changed.append(tile)
    return live_bus.sse_event("sensors", changed) if changed else ""


def _cursor(request) -> int:
    for raw in (request.headers.get("Last-Event-ID"), request.GET.get("after")):
        if raw:
            try:
                return max(0, int(raw))
            except ValueError:
                continue
    return -1  # no cursor: start from the newest entry


class _TileRequests:
    """What a stream's journal loop asks of its tiles loop: tiles after each journal read, and, when the read
    found entries, tiles built after it. Requests made during a build come together into one more build."""

    def __init__(self) -> None:
        self._asked = asyncio.Event()
        self._newer_than: float | None = None

    def ask(self, newer_than: float | None) -> None:
        if newer_than is not None:
            self._newer_than = max(self._newer_than or 0.0, newer_than)
        self._asked.set()

    async def next(self) -> float | None:
        await self._asked.wait()
        self._asked.clear()
        newer_than, self._newer_than = self._newer_than, None
        return newer_than


JOURNAL_BACKLOG = 1000  # journal events waiting for a slow client before the stream reads no further


class _Outbox:
    """What a stream's two loops have for its client, in the order they had it. A client that reads slowly holds
    the loops back rather than making the stream hoard: the tiles loop builds again only once its last event has
    gone out (the client gets fewer, fresher tile updates, not a backlog of old ones), and the journal loop reads
    no further while JOURNAL_BACKLOG of its events wait (it resumes from its cursor, nothing is skipped)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[str, str | BaseException]] = asyncio.Queue()
        self._tiles_gone = asyncio.Event()
        self._tiles_gone.set()
        self._journal_room = asyncio.Semaphore(JOURNAL_BACKLOG)

    async def journal(self, chunk: str) -> None:
        await self._journal_room.acquire()
        self._queue.put_nowait(("journal", chunk))

    async def tiles_may_build(self) -> None:
        await self._tiles_gone.wait()

    def tiles(self, chunk: str) -> None:
        self._tiles_gone.clear()
        self._queue.put_nowait(("tiles", chunk))

    def failed(self, exc: BaseException) -> None:
        self._queue.put_nowait(("failed", exc))

    async def next(self, timeout: float) -> tuple[str, str | BaseException]:
        """The next (kind, chunk); TimeoutError after `timeout` seconds with none."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    def gone(self, kind: str) -> None:
        """The chunk of this kind that `next` gave has gone out to the client."""
        if kind == "journal":
            self._journal_room.release()
        elif kind == "tiles":
            self._tiles_gone.set()


async def _follow_journal(
    user, site: Unit, cursor: int, language: str, subscription, tiles: _TileRequests, out: _Outbox, thread
):
    """Sends the journal entries after `cursor` as they come: woken at once when an alarm moves at the site (the
    bus), else at the stream's tick. The reads run on `thread`, the stream's own, never on its request thread,
    which builds its tiles: an alarm that moves while the mine's tiles are being built (tens of milliseconds for
    500 sensors, more under load) is read and sent at once, not after the build."""
    read = sync_to_async(_journal_read, thread_sensitive=False, executor=thread)
    while True:
        subscription.clear()
        read_at = time.monotonic()
        entries = await read(user, site, cursor, language)
        for entry in entries:  # queued before the tiles are built: an operator sees the alarm first
            cursor = entry["id"]
            await out.journal(live_bus.sse_event("journal", entry, cursor))
        tiles.ask(read_at if entries else None)
        await subscription.wait(STREAM_TICK_S)


async def _follow_tiles(site: Unit, language: str, tiles: _TileRequests, out: _Outbox) -> None:
    sent: dict[str, tuple] = {}  # code -> what this stream last sent
    while True:
        await out.tiles_may_build()
        newer_than = await tiles.next()
        changed = await sync_to_async(_changed_tiles)(site, language, newer_than, sent)
        if changed:
            out.tiles(changed)


def _fails_the_stream(out: _Outbox):
    """A done-callback: a loop that stopped on an error ends the stream with it (the browser reconnects and
    resumes); a loop cancelled when the stream ends says nothing."""

    def done(loop: asyncio.Task) -> None:
        if not loop.cancelled() and loop.exception() is not None:
            out.failed(loop.exception())

    return done


async def _events(user, site: Unit, cursor: int, language: str, max_s: float = STREAM_MAX_S):
    """The stream: its journal and its tiles follow the site in two loops of their own, so that an alarm is
    never queued behind a build of the tiles; this generator sends what either has, and a keep-alive when
    neither has sent anything for STREAM_HEARTBEAT_S."""
    started = last_sent = time.monotonic()
    if cursor < 0:
        cursor = await sync_to_async(selectors.journal_last_id)(site_path=site.path)
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    # PostgreSQL: woken by the writers' notifications on the site (core.live_bus); SQLite: a tick every second, and at
    # once when the journal watcher sees an alarm move at the site.
    subscription = live_bus.bus.subscribe(live_bus.site_topic(site.path))
    out = _Outbox()
    tiles = _TileRequests()
    journal_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-journal")
    loops = [
        asyncio.create_task(
            _follow_journal(user, site, cursor, language, subscription, tiles, out, journal_thread)
        ),
        asyncio.create_task(_follow_tiles(site, language, tiles, out)),
    ]
    for loop in loops:
        loop.add_done_callback(_fails_the_stream(out))
    try:
        while (left := started + max_s - time.monotonic()) > 0:
            beat = last_sent + STREAM_HEARTBEAT_S - time.monotonic()
            try:
                kind, chunk = await out.next(max(0.0, min(left, beat)))
            except TimeoutError:
                if time.monotonic() - last_sent >= STREAM_HEARTBEAT_S:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                continue
            if isinstance(chunk, BaseException):
                raise chunk
            last_sent = time.monotonic()
            yield chunk  # back here once the server asks for the next chunk: this one has gone out
            out.gone(kind)
    except asyncio.CancelledError:
        log.debug("live stream of %s closed by the client", site.code)
        raise
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        subscription.close()
        # The journal thread's database connection closes with the stream, as its request thread's does.
        await sync_to_async(connections.close_all, thread_sensitive=False, executor=journal_thread)()
        journal_thread.shutdown(wait=False)


async def stream(request, code: str):
    """text/event-stream of a mine: `journal` events (id = journal id) and `sensors` events (changed tiles)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    language = translation.get_language()
    site = await sync_to_async(site_or_404)(user, code)
    response = StreamingHttpResponse(
        _events(user, site, _cursor(request), language), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
