"""Live pages fed by PostgreSQL LISTEN/NOTIFY (core.live_bus) rather than each stream polling the database.

- in process: an idle live-page stream on PostgreSQL runs no query at all until a write to its mine is
  committed, then it sends that write's journal entry at once; the briefing room's stream likewise until the
  chair moves the focus;
- `headframe serve --workers 2` (real uvicorn processes on the test database): streams held by both worker
  processes all receive a methane trip sent through the HTTP API (which lands on one of them) within a few
  seconds — far less than the safety poll, so it came by notification.
On SQLite the streams poll as before (tests/telemetry/test_pages.py covers that path).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.test import Client

from headframe.core import live_bus
from headframe.org import services as org
from headframe.telemetry.views import live
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0  # well under live_bus.SAFETY_POLL_S: an event within it came by notification
SERVE = ("--workers", "2", "--no-watchdog", "--no-notifier")
TRIP = 1.5  # % CH4 at the face return: beyond the 1.0 % trip


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the live pages poll (test_pages.py)")


@pytest.fixture
def dispatcher(mine):
    return make_user("dieu_do_a", ("dispatcher", "A-M1"))


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_an_idle_stream_on_postgresql_runs_no_query_until_its_mine_changes(
    postgresql, mine, dispatcher, send, monkeypatch
):
    monkeypatch.setattr(live, "STREAM_TICK_S", 0.05)  # polling would query 20 times a second
    monkeypatch.setattr(live_bus, "SAFETY_POLL_S", 120.0)
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    async def scenario():
        assert await live_bus.bus.ready()
        events = live._events(dispatcher, mine.site, -1, "vi")
        following: asyncio.Future | None = None
        try:
            assert (await anext(events)).startswith("retry:")
            assert "event: sensors" in await anext(events)  # every tile on connect
            idle_from = len(queries)
            following = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({following}, timeout=1.0)
            assert not done and len(queries) == idle_from  # idle: no query at all
            await sync_to_async(send)([("A1-CH4-01", _now_ms(), TRIP)], now_ms=_now_ms())
            chunk = await asyncio.wait_for(following, WAIT_S)
            assert "event: journal" in chunk and '"limit":"ch4_face_return_trip"' in chunk
        finally:
            if following is not None and not following.done():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await events.aclose()
            await live_bus.bus.stop()

    with connection.execute_wrapper(count):
        async_to_sync(scenario)()


def test_an_idle_briefing_room_stream_runs_no_query_until_the_chair_moves_the_focus(
    postgresql, tree, monkeypatch
):
    from headframe.briefing import services as briefing
    from headframe.briefing.pack import views as room
    from tests.briefing.helpers_meetings import bridge_points, meeting

    monkeypatch.setattr(room, "STREAM_TICK_S", 0.05)
    monkeypatch.setattr(live_bus, "SAFETY_POLL_S", 120.0)
    bridge_points(tree)
    held = meeting()
    briefing.meeting_start(actor=None, meeting=held)
    viewer = make_user("xem_g", ("viewer", "G"))
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    async def scenario():
        assert await live_bus.bus.ready()
        events = room.room_events(viewer, held.pk, 0, "vi")
        following: asyncio.Future | None = None
        try:
            assert (await anext(events)).startswith("retry:")
            on_connect = [await anext(events) for _ in range(3)]  # the state, sent on connect
            assert [chunk.split("\n")[0] for chunk in on_connect] == [
                "event: focus",
                "event: status",
                "event: points",
            ]
            idle_from = len(queries)
            following = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({following}, timeout=1.0)
            assert not done and len(queries) == idle_from  # idle: no query at all
            await sync_to_async(briefing.meeting_set_focus)(actor=None, meeting=held, section="safety")
            chunk = await asyncio.wait_for(following, WAIT_S)
            assert chunk.startswith("event: focus") and '"section":"safety"' in chunk
        finally:
            if following is not None and not following.done():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await events.aclose()
            await live_bus.bus.stop()

    with connection.execute_wrapper(count):
        async_to_sync(scenario)()


# ---------------------------------------------------------------- many worker processes


def _database_url() -> str:
    settings = connection.settings_dict
    auth = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        auth += ":" + quote(settings["PASSWORD"], safe="")
    return (
        f"postgresql://{auth}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_workers(postgresql, mine, tmp_path):
    """`headframe serve --workers 2` on the test database (committed data: transactional test)."""
    port = _free_port()
    env = {
        **os.environ,
        "HEADFRAME_DATABASE_URL": _database_url(),
        "HEADFRAME_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "headframe.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "uvicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "headframe", "serve", "--host", "127.0.0.1", "--port", str(port), *SERVE],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its worker processes in a group of their own, stopped together
        )
        try:
            deadline = time.monotonic() + 90  # two processes importing Django: slow on a loaded CI machine
            while not _healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start: {log_path.read_text()}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):  # a worker left behind would hold the test database
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


class Stream(threading.Thread):
    """An SSE client of the live page: the events it receives, in order, on a queue."""

    def __init__(self, port: int, session: str) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request(
            "GET", "/telemetry/A-M1/stream", headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
        )
        response = self.conn.getresponse()
        assert response.status == 200, response.status
        self.response = response
        self.events: queue.Queue[str] = queue.Queue()

    def run(self) -> None:
        block: list[str] = []
        try:
            while True:
                line = self.response.readline().decode()
                if not line:
                    return
                if line.strip():
                    block.append(line.strip())
                elif block:
                    self.events.put("\n".join(block))
                    block = []
        except (OSError, ValueError, AttributeError):  # closed by the test
            return

    def wait_for(self, text: str, within_s: float) -> str | None:
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if text in event:
                return event
        return None

    def close(self) -> None:
        if (
            self.conn.sock is not None
        ):  # unblock the reading thread first: close() waits for its buffer's lock
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.join(timeout=5)


def _listeners() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'headframe-live-bus' "
            "AND datname = current_database() AND query IN ('LISTEN headframe_live', 'SELECT 1')"
        )
        return cursor.fetchone()[0]


def test_a_methane_trip_reaches_the_live_streams_of_every_worker_process(two_workers, mine, dispatcher):
    port = two_workers
    gateway_user = make_user("gw", ("gateway", "A-M1"))
    _, token = org.token_create(actor=None, user=gateway_user, name="test")
    client = Client()
    client.force_login(dispatcher)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    # Streams until both worker processes listen (each starts its listener with its first stream).
    streams: list[Stream] = []
    try:
        # /healthz answers as soon as one worker is up: on a loaded machine the other may still be importing Django
        # while the first streams all land on the first. Later connections reach it once it accepts too.
        deadline = time.monotonic() + 60
        while _listeners() < 2:
            assert time.monotonic() < deadline, "the two workers did not both start listening"
            if len(streams) < 40:
                stream = Stream(port, session)
                stream.start()
                assert stream.wait_for("event: sensors", WAIT_S), "no tiles on connect"
                streams.append(stream)
            time.sleep(0.1)
        time.sleep(1.5)  # a stream that began while its worker's listener was connecting has left polling

        sent = time.monotonic()
        reading = {"sensor": "A1-CH4-01", "ts": _now_ms(), "value": TRIP}
        body = json.dumps({"gateway": "GW-A1", "readings": [reading]})
        api = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        api.request(
            "POST",
            "/api/v1/telemetry/readings",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        answer = api.getresponse()
        assert answer.status == 200, answer.read()
        api.close()
        for stream in streams:
            left = WAIT_S - (time.monotonic() - sent)
            event = stream.wait_for('"limit":"ch4_face_return_trip","event":"raised"', max(left, 0.01))
            assert event is not None, f"a stream did not get the trip within {WAIT_S} s"
    finally:
        for stream in streams:
            stream.close()
