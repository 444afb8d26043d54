"""Live fan-out between processes through PostgreSQL LISTEN/NOTIFY, for the SSE streams of the live pages.

Writers call `notify(topic)` inside their transaction: PostgreSQL delivers a notification only when that
transaction commits (a rolled-back one sends nothing), so a stream woken by it always reads committed data.
Each web worker process holds ONE listening connection (`LISTEN headframe_live`), in an asyncio task on its
event loop started by the first stream, and wakes the streams whose topic was notified. A stream then queries
once; with no notification it still queries every SAFETY_POLL_S, so a lost notification never leaves a stale
screen for long.

SQLite has no LISTEN/NOTIFY, and its writers (the ingest process, the watchdog) are other processes: streams
poll at their tick. What must not wait for a tick — an alarm transition — is found by a watcher instead: a
function registered with `watch()` by the app that writes it, asked every WATCH_S by one task per process, which
answers with the topics to wake (urgently) since its last answer.

Fail safe: while the listening connection is down (database restart, network), it is reconnected with backoff
and every stream falls back to polling at its own tick, as on SQLite, where `notify` does nothing and streams
always poll. Streams are woken when the listener goes down (to switch to polling at once) and when it is back
(notifications sent meanwhile were lost).

Topics are short strings (the payload limit is 8000 bytes): `site:<unit path>` for a mine's live page,
`meeting:<id>` for a briefing room. A notification on a path-like topic also wakes those following one of its
ancestors ("site:/G/A/A-M1/" wakes "site:/G/A/"). An urgent notification (an alarm transition) wakes a stream
at once; plain ones (values moved) wake it at most once per the stream's tick, so heavy ingest never makes a
stream query more often than polling did.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import orjson
import psycopg
from asgiref.sync import sync_to_async
from django.db import connections

log = logging.getLogger(__name__)

CHANNEL = "headframe_live"
SAFETY_POLL_S = 15.0  # with the bus up, a stream that heard nothing still queries this often
HEALTH_CHECK_S = (
    10.0  # an idle listener proves its connection alive this often (a half-open TCP never errors)
)
HEALTH_TIMEOUT_S = 5.0
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0
URGENT_MARK = "!"
TOPIC_MAX = 1000  # far below the 8000-byte payload limit; unit paths are at most 512 characters
WATCH_S = 0.1  # SQLite: how often the watchers are asked (an index lookup each: nothing new, nothing read)

# cursor (None the first time) -> (new cursor, topics to wake at once)
Watcher = Callable[[Any], tuple[Any, Iterable[str]]]
_watchers: list[Watcher] = []


def watch(watcher: Watcher) -> None:
    """Register what wakes the streams at once on SQLite (see the module's docstring); once per process."""
    if watcher not in _watchers:
        _watchers.append(watcher)


def sse_event(event: str, data: Any, event_id: int | None = None) -> str:
    """One server-sent event: its id (a journal or directive id, for Last-Event-ID), name and JSON data."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines.append("data: " + orjson.dumps(data).decode())  # compact UTF-8, as the pages' JSON.parse reads it
    return "\n".join(lines) + "\n\n"


def site_topic(path: str) -> str:
    return f"site:{path}"


def meeting_topic(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def notify(*topics: str, urgent: bool = False, using: str = "default") -> None:
    """Tell the live streams following these topics that something changed; call it inside the writing
    transaction (delivered at commit, dropped at rollback; identical ones in a transaction arrive once).
    A no-op on SQLite, whose streams poll."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not topics:
        return
    mark = URGENT_MARK if urgent else ""
    payloads = sorted({mark + topic[:TOPIC_MAX] for topic in topics})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload", [CHANNEL, payloads]
        )


def _topics_woken(topic: str) -> Iterable[str]:
    """The topic and, for a path-like one, each of its ancestors: "site:/G/A/" for "site:/G/A/A-M1/"."""
    yield topic
    kind, sep, path = topic.partition(":")
    if sep and path.startswith("/"):
        parts = path.strip("/").split("/")
        for depth in range(len(parts) - 1, -1, -1):
            yield f"{kind}:/" + "".join(f"{p}/" for p in parts[:depth])


class Subscription:
    """What one stream waits on. Use: `clear()` before each query, then `await wait(tick_s)`."""

    def __init__(self, bus: LiveBus | None, topics: tuple[str, ...], *, polling: bool = False) -> None:
        self._bus = bus
        self.topics = topics
        self._polling = polling  # SQLite: polls at its tick, woken sooner by a watcher's urgent wake only
        self._event = asyncio.Event() if bus is not None else None
        self._woken = False
        self._urgent = False
        self._cleared_at = time.monotonic()

    def clear(self) -> None:
        """Called right before a query: whatever is notified from now on wakes the next wait."""
        self._woken = self._urgent = False
        self._cleared_at = time.monotonic()
        if self._event is not None:
            self._event.clear()

    def _wake(self, *, woken: bool, urgent: bool = False) -> None:
        self._woken = self._woken or woken
        self._urgent = self._urgent or urgent
        if self._event is not None:
            self._event.set()

    async def wait(self, tick_s: float, deadline: float | None = None) -> None:
        """Until it is time to query again: polling every `tick_s` while the bus is not listening (SQLite, or
        its connection down); with it listening, at once on an urgent notification, `tick_s` after the last
        query on a plain one, and after SAFETY_POLL_S (or at `deadline`, a time.monotonic() value such as
        when the stream's next heartbeat is due, if sooner) in any case."""
        if self._polling and self._event is not None:
            await self._poll_tick(tick_s)
            return
        while True:
            if self._bus is None or self._event is None:
                await asyncio.sleep(tick_s)  # polling, as the streams always did
                return
            if not self._bus.listening:
                # Polling while the listener is not (yet, or any more) listening; when it starts listening it
                # wakes every stream, which then queries at once rather than at the end of its tick.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), tick_s)
                return
            now = time.monotonic()
            latest = self._cleared_at + SAFETY_POLL_S
            if deadline is not None:
                latest = min(latest, deadline)
            if self._urgent or now >= latest:
                return
            until = min(self._cleared_at + tick_s, latest) if self._woken else latest
            if now >= until:
                return
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), until - now)

    async def _poll_tick(self, tick_s: float) -> None:
        """SQLite: `tick_s` from now, or sooner when a watcher wakes this stream urgently (an alarm moved)."""
        assert self._event is not None
        end = time.monotonic() + tick_s
        while not self._urgent:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), remaining)

    def close(self) -> None:
        if self._bus is not None:
            self._bus._unsubscribe(self)


class LiveBus:
    """One per process: the listening connection's task and the streams waiting on it."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = False
        self.notifications = 0  # received, for tests and diagnostics

    @staticmethod
    def available(using: str = "default") -> bool:
        return connections[using].vendor == "postgresql"

    def subscribe(self, *topics: str) -> Subscription:
        """A subscription to these topics, on the running event loop; the listener (PostgreSQL) or the watchers'
        task (SQLite, when something is watched) starts with the first."""
        if self.available():
            self._ensure_task(self._listen, "headframe-live-bus")
            subscription = Subscription(self, topics)
        elif _watchers:
            self._ensure_task(self._watch, "headframe-live-watch")
            subscription = Subscription(self, topics, polling=True)
        else:
            return Subscription(None, topics)
        for topic in topics:
            self._subscriptions[topic].add(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            waiting = self._subscriptions.get(topic)
            if waiting is not None:
                waiting.discard(subscription)
                if not waiting:
                    del self._subscriptions[topic]

    def _ensure_task(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        if self._loop is not loop:  # a new event loop (tests run several): the old one's waiters are gone
            self._subscriptions.clear()
            self.listening = False
        self._loop = loop
        # A context of its own, not the request's that happened to start it: the task outlives that request,
        # and its thread-sensitive calls must not go to that request's thread, gone with it.
        self._task = loop.create_task(run(), name=name, context=contextvars.Context())

    async def ready(self, timeout: float = 10.0) -> bool:
        """Wait until the listener is listening (for tests and warm-up); False if it is not within timeout."""
        self._ensure_task(self._listen, "headframe-live-bus")
        deadline = time.monotonic() + timeout
        while not self.listening and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.listening

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.listening = False

    def _dispatch(self, payload: str) -> None:
        self.notifications += 1
        urgent = payload.startswith(URGENT_MARK)
        topic = payload[1:] if urgent else payload
        for name in _topics_woken(topic):
            for subscription in self._subscriptions.get(name, ()):
                subscription._wake(woken=True, urgent=urgent)

    def _wake_all(self, *, woken: bool) -> None:
        for waiting in self._subscriptions.values():
            for subscription in waiting:
                subscription._wake(woken=woken, urgent=woken)

    async def _watch(self) -> None:
        """SQLite: ask each watcher every WATCH_S while a stream follows something, and wake urgently the streams
        of the topics it answers. A watcher that fails is asked again at the next round (the streams poll at
        their tick meanwhile, as without it); the task ends with the last subscription."""
        cursors: dict[Watcher, Any] = {}
        failing: set[Watcher] = set()
        while self._subscriptions:
            for watcher in list(_watchers):
                try:
                    cursor, topics = await sync_to_async(watcher)(cursors.get(watcher))
                except Exception as exc:
                    if watcher not in failing:  # said once per outage, with its traceback, not every 0,1 s
                        failing.add(watcher)
                        log.warning(
                            "live bus: watcher %s failed (%s); streams poll at their tick",
                            watcher,
                            exc,
                            exc_info=True,
                        )
                    continue
                if watcher in failing:
                    failing.discard(watcher)
                    log.warning("live bus: watcher %s works again", watcher)
                cursors[watcher] = cursor
                for topic in topics:
                    self._dispatch(URGENT_MARK + topic)
            await asyncio.sleep(WATCH_S)

    async def _listen(self) -> None:
        pause = RECONNECT_FIRST_S
        while True:
            conn = None
            try:
                conn = await psycopg.AsyncConnection.connect(**_connection_params(), autocommit=True)
                await conn.execute(f"LISTEN {CHANNEL}")
                self.listening = True
                pause = RECONNECT_FIRST_S
                self._wake_all(woken=True)  # anything notified while not listening was lost: query now
                while True:
                    async for notification in conn.notifies(timeout=HEALTH_CHECK_S):
                        self._dispatch(notification.payload)
                    await asyncio.wait_for(conn.execute("SELECT 1"), HEALTH_TIMEOUT_S)
            except Exception as exc:  # whatever it was, the streams poll meanwhile and the listener retries
                if self.listening:
                    log.warning(
                        "live bus: listening connection lost (%s); streams poll until it is back", exc
                    )
                else:
                    log.debug("live bus: cannot listen yet (%s)", exc)
            finally:
                was_listening, self.listening = self.listening, False
                if was_listening:
                    self._wake_all(woken=False)  # switch the streams to polling now, not after a safety poll
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_S)


def _connection_params() -> dict[str, Any]:
    """The primary's connection parameters as Django builds them (the test database's name under tests),
    minus Django's own cursor and adapter settings; notifications are not sent to replicas."""
    params = connections["default"].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params["application_name"] = "headframe-live-bus"
    return params


bus = LiveBus()
