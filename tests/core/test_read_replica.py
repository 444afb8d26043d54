"""A read replica (HEADFRAME_DATABASE_REPLICA_URL) against a real PostgreSQL 15 streaming replica.

The module starts a primary and a replica made by `pg_basebackup -R` (tests/pg_cluster.py) and one headframe
process configured with both (tests/core/replica_driver.py). With the replica's replay paused, a figure written
to the primary is not on the replica yet: what a page shows then tells where it read.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from headframe.core import db_router
from headframe.org.models import Unit
from tests.pg_cluster import copy_database, free_port, missing_tools, start_replicated_pair

ROOT = Path(__file__).resolve().parents[2]
ANSWER_TIMEOUT_S = 60

CLUSTER_MARKS = (
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the replica runs its own PostgreSQL clusters, whatever the test database: once, in the PG pass",
    ),
    pytest.mark.skipif(
        missing_tools() is not None, reason=f"no PostgreSQL 15 to replicate: {missing_tools()}"
    ),
    pytest.mark.django_db,  # so the session creates the migrated test database, which the primary copies
)


def with_clusters(test):
    for mark in CLUSTER_MARKS:
        test = mark(test)
    return test


# ---------------------------------------------------------------- settings


def _settings(monkeypatch, tmp_path, primary: str, replica: str | None) -> dict:
    """The settings module run afresh with these database URLs (no Django set-up needed)."""
    monkeypatch.setenv("HEADFRAME_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HEADFRAME_DATABASE_URL", primary)
    if replica is None:
        monkeypatch.delenv("HEADFRAME_DATABASE_REPLICA_URL", raising=False)
    else:
        monkeypatch.setenv("HEADFRAME_DATABASE_REPLICA_URL", replica)
    return runpy.run_path(str(ROOT / "src" / "headframe" / "settings.py"))


def test_a_replica_url_adds_a_mirrored_replica_and_its_router(monkeypatch, tmp_path):
    configured = _settings(
        monkeypatch, tmp_path, "postgresql://hf@db1:5432/hf", "postgresql://hf@db2:5432/hf?sslmode=require"
    )
    replica = configured["DATABASES"]["replica"]
    assert (replica["HOST"], replica["TEST"]) == ("db2", {"MIRROR": "default"})
    assert replica["OPTIONS"]["sslmode"] == "require"
    assert "lock_timeout" in replica["OPTIONS"]["options"]
    assert configured["DATABASE_ROUTERS"] == ["headframe.core.db_router.ReplicaRouter"]
    middleware = configured["MIDDLEWARE"]
    assert middleware.index("headframe.core.db_router.ReadYourWritesMiddleware") == (
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    )
    plain = _settings(monkeypatch, tmp_path, "postgresql://hf@db1:5432/hf", None)
    assert list(plain["DATABASES"]) == ["default"]
    assert "DATABASE_ROUTERS" not in plain
    assert "headframe.core.db_router.ReadYourWritesMiddleware" not in plain["MIDDLEWARE"]


@pytest.mark.parametrize(
    ("primary", "replica"),
    [
        ("sqlite:///:memory:", "postgresql://hf@db2:5432/hf"),
        ("postgresql://hf@db1:5432/hf", "sqlite:///replica.sqlite3"),
    ],
)
def test_a_replica_needs_postgresql_on_both_sides(monkeypatch, tmp_path, primary, replica):
    with pytest.raises(ImproperlyConfigured, match="HEADFRAME_DATABASE_REPLICA_URL"):
        _settings(monkeypatch, tmp_path, primary, replica)


# ---------------------------------------------------------------- the router's rules, in this process


@pytest.fixture
def replica_answering(monkeypatch):
    """A replica configured, and taken to have answered a moment ago: the rules alone decide (nothing connects)."""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    db_router.health._usable, db_router.health._recheck_at = True, float("inf")
    yield
    db_router.health.reset()


def test_only_reads_inside_a_scope_go_to_the_replica(replica_answering):
    assert db_router.read_alias() == "default"
    with db_router.reading_from_replica():
        assert db_router.read_alias() == "replica"
        with db_router.reading_from_replica():  # a scope inside another follows it
            assert db_router.read_alias() == "replica"
    assert db_router.read_alias() == "default"


def test_a_scope_that_wrote_reads_its_writes_from_the_primary(replica_answering):
    router = db_router.ReplicaRouter()
    with db_router.reading_from_replica():
        assert router.db_for_write(Unit) == "default"
        assert router.db_for_read(Unit) == "default"


@pytest.mark.django_db
def test_a_scope_inside_a_transaction_on_the_primary_reads_the_primary(replica_answering):
    with transaction.atomic(), db_router.reading_from_replica():
        assert db_router.read_alias() == "default"


def _reads_from() -> str:
    with db_router.reading_from_replica():
        return db_router.read_alias()


class Session(dict):
    """What the middleware uses of a session (a database one would hold the test in a transaction, where every
    read goes to the primary anyway)."""

    def __init__(self, session_key: str | None):
        super().__init__()
        self.session_key = session_key


def test_a_session_that_posted_reads_the_primary_until_the_replica_must_have_its_writes(
    replica_answering, rf
):
    from django.http import HttpResponse

    read_from: list[str] = []
    middleware = db_router.ReadYourWritesMiddleware(
        lambda request: read_from.append(_reads_from()) or HttpResponse()
    )

    def ask(method: str, session) -> str:
        request = getattr(rf, method)("/production/u/A/")
        request.session = session
        middleware(request)
        return read_from[-1]

    browser = Session("a-browser")
    assert ask("get", browser) == "replica"
    assert ask("post", browser) == "default"  # the form's own reads
    assert ask("get", browser) == "default"  # the page it redirects to, and the next ones for a while
    assert browser[db_router.READ_PRIMARY_UNTIL] > time.time() + db_router.read_primary_window_s() - 5
    browser[db_router.READ_PRIMARY_UNTIL] = time.time() - 1  # the window is over
    assert ask("get", browser) == "replica"
    token_client = Session(None)  # an API client or gateway: no session, none is made for it
    ask("post", token_client)
    assert db_router.READ_PRIMARY_UNTIL not in token_client


def _state(**changes) -> db_router.ReplicaState:
    streaming = {
        "in_recovery": True,
        "receiving": True,
        "receiver_status": "streaming",
        "quiet_s": 0.1,
        "caught_up": False,
        "replay_lag_s": 0.0,
    }
    return db_router.ReplicaState(**{**streaming, **changes})


@pytest.mark.parametrize(
    ("state", "usable"),
    [
        (_state(), True),
        # The WAL receiver stopped: replay caught up with what was received, which looks current but is not.
        (_state(receiving=False, receiver_status=None, quiet_s=None, caught_up=True), False),
        (_state(receiver_status="waiting"), False),
        # An idle primary sends a keepalive only about every wal_receiver_timeout / 2 (30 s): nothing missed.
        (_state(quiet_s=29.0, caught_up=True), True),
        # Nothing heard for longer than the max lag while the primary wrote more: a silent network.
        (_state(quiet_s=11.0), False),
        (_state(replay_lag_s=12.0), False),
        # Without pg_read_all_stats the receiver's status and last message are hidden; it runs, and replays.
        (_state(receiver_status=None, quiet_s=None, replay_lag_s=1.0), True),
        (_state(in_recovery=False, receiving=False), True),
    ],
)
def test_a_replica_is_usable_only_while_it_streams_and_is_close_enough(state, usable):
    assert (db_router.replica_problem(state, max_lag_s=10) is None) == usable


def test_migrations_run_on_the_primary_only():
    router = db_router.ReplicaRouter()
    assert router.allow_migrate("default", "telemetry")
    assert not router.allow_migrate("replica", "telemetry")


# ---------------------------------------------------------------- a real primary and replica


class HeadframeProcess:
    """One headframe process (tests/core/replica_driver.py) asked one JSON command at a time."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.core.replica_driver"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, do: str, **params) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"do": do, **params}) + "\n")
        self.process.stdin.flush()
        line = _readline(self.process, ANSWER_TIMEOUT_S)
        answer = json.loads(line)
        assert "error" not in answer, answer["error"]
        return answer

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def _readline(process: subprocess.Popen, timeout_s: float) -> str:
    import selectors

    with selectors.DefaultSelector() as waiting:
        waiting.register(process.stdout, selectors.EVENT_READ)
        if not waiting.select(timeout_s):
            raise TimeoutError(f"headframe did not answer within {timeout_s} s")
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"headframe exited with {process.wait(timeout=10)}")
    return line


@pytest.fixture(scope="module")
def ports():
    primary = free_port()
    replica = free_port()
    while replica == primary:
        replica = free_port()
    return primary, replica


def _url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/headframe"


@pytest.fixture(scope="module")
def headframe_process(ports, tmp_path_factory):
    """The headframe process, started first: Django sets itself up while the clusters are made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADFRAME_", "PYTEST_", "DJANGO_"))}
    env.update(
        HEADFRAME_SECRET_KEY="replica-test-" + "k" * 40,
        HEADFRAME_VAR_DIR=str(tmp_path_factory.mktemp("replica-var")),
        HEADFRAME_DATABASE_URL=_url(ports[0]),
        HEADFRAME_DATABASE_REPLICA_URL=_url(ports[1]),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    process = HeadframeProcess(env)
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def pair(django_db_setup, ports, headframe_process):
    """The clusters, with the primary's `headframe` database a copy of the migrated test database."""
    clusters = start_replicated_pair(ports)
    try:
        clusters.primary.query("CREATE DATABASE headframe")
        copy_database(connection.settings_dict, clusters.primary.url("headframe"))
        yield clusters
    finally:
        clusters.stop()


@pytest.fixture(scope="module")
def headframe(pair, headframe_process):
    """The process, with a company, a viewer (logged in, and with a token) and a day's figure of 1 111 t."""
    headframe_process.ask("seed")
    headframe_process.ask("login")
    pair.wait_replayed()
    return headframe_process


@with_clusters
def test_dashboards_and_packs_read_the_replica_and_written_figures_read_back_from_the_primary(
    pair, headframe, record_property
):
    pair.pause_replay()
    try:
        headframe.ask("write", value=2345)
        headframe.ask("forget_replica_state")
        assert headframe.ask("summary") == {"status": 200, "value": 1111.0}  # the replica: replay is paused
        assert headframe.ask("pack") == {"status": 200, "value": 1111.0}
        assert headframe.ask("page", values=[1111, 2345]) == {"status": 200, "shows": [1111]}
        assert headframe.ask("actuals") == {"status": 200, "value": 2345.0}  # read-your-writes: the primary
    finally:
        pair.resume_replay()
    catch_up_s = pair.wait_replayed()
    record_property("replica_catch_up_after_pause_s", round(catch_up_s, 3))
    headframe.ask("forget_replica_state")
    assert headframe.ask("summary") == {"status": 200, "value": 2345.0}
    assert headframe.ask("pack") == {"status": 200, "value": 2345.0}
    assert headframe.ask("page", values=[1111, 2345]) == {"status": 200, "shows": [2345]}


@with_clusters
def test_a_replica_too_far_behind_is_skipped_for_the_primary(pair, headframe):
    headframe.ask("max_lag", seconds=1)
    pair.pause_replay()
    try:
        headframe.ask("write", value=1300)
        deadline = time.monotonic() + 10
        while pair.replica.query(
            "SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) > 1.5"
        ) != (True,):
            assert time.monotonic() < deadline, "the replica's last replayed commit never got 1.5 s old"
            time.sleep(0.1)
        assert headframe.ask("summary") == {"status": 200, "value": 1300.0}
    finally:
        pair.resume_replay()
        headframe.ask("max_lag", seconds=10)
    pair.wait_replayed()


@with_clusters
def test_dashboards_answer_from_the_primary_when_the_replica_is_down(pair, headframe):
    headframe.ask("write", value=1400)
    pair.replica.stop()
    try:
        # The replica answered a moment ago, as far as the process knows: the read fails on it and runs again
        # on the primary.
        headframe.ask("trust_replica")
        assert headframe.ask("summary") == {"status": 200, "value": 1400.0}
        # The replica is known to be down now: the next scopes go to the primary without trying it.
        assert headframe.ask("pack") == {"status": 200, "value": 1400.0}
        assert headframe.ask("page", values=[1400]) == {"status": 200, "shows": [1400]}
        # A process that starts while the replica is down asks it once and reads from the primary.
        headframe.ask("forget_replica_state")
        assert headframe.ask("summary") == {"status": 200, "value": 1400.0}
    finally:  # for any test that runs after this one
        pair.replica.start()
        pair.wait_streaming()
        headframe.ask("forget_replica_state")


@with_clusters
def test_a_replica_whose_wal_receiver_stopped_is_skipped_for_the_primary(pair, headframe):
    pair.wait_replayed()
    pair.stop_streaming()
    try:
        # The replica replayed all it received: only its stopped receiver tells it misses this figure.
        headframe.ask("write", value=1500)
        headframe.ask("forget_replica_state")
        assert headframe.ask("summary") == {"status": 200, "value": 1500.0}
    finally:
        pair.resume_streaming()
        headframe.ask("forget_replica_state")
    pair.wait_replayed()


@with_clusters
def test_the_page_a_form_redirects_to_shows_what_the_form_wrote(pair, headframe):
    pair.pause_replay()
    try:
        headframe.ask("trust_replica")  # the replica answered a moment ago and is close enough
        assert headframe.ask("close_month") == {"status": 200, "closed": True}
    finally:
        pair.resume_replay()
        headframe.ask("forget_replica_state")
    pair.wait_replayed()
