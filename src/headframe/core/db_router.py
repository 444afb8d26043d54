"""Reads that may go to a PostgreSQL streaming replica (HEADFRAME_DATABASE_REPLICA_URL), and the router that
sends them there.

Only code inside an explicit `reading_from_replica()` scope (or a function decorated with `replica_reads`)
reads from the replica: the production dashboards, the briefing pack build and telemetry history. Everything
else — forms, the alarm console, live state, every write — uses the primary, as without a replica.

Read-your-writes: inside a scope, a read still goes to the primary while a transaction is open on it (a service
reading what it just wrote, a meeting freezing its pack), and once the scope has written anything, the rest of
the scope reads the primary. A scope never moves back from the primary to the replica, so what it shows is
never older than what it already read (the pack's cache key is read before its figures, from the same source).
Across requests, `ReadYourWritesMiddleware` marks a browser session that posted anything (a form, a month
closed): its requests read the primary until the replica is sure to hold what it wrote (max lag + recheck), so
the page a form redirects to shows the change.

The replica is usable when it has replayed everything the primary had a moment ago, or else when its WAL
receiver streams, has heard from the primary within the max lag and has replayed within it. A replica whose
WAL receiver stopped has replayed all it received, so its replay alone looks current: it is skipped. (The
receiver's state and last message time need pg_read_all_stats on the replica; without it only a stopped
receiver is seen, and a silent network is noticed when the receiver times out, wal_receiver_timeout.)

Fail safe: a replica that is down, or more than HEADFRAME_DATABASE_REPLICA_MAX_LAG_S behind, is skipped and
the primary answers; a `replica_reads` function that hits a connection error on the replica runs again on the
primary. A warning is logged at most once a minute per process, never once per query. The replica's state is
asked with one small query on each side per process every few seconds (a failed replica: every
DOWN_RECHECK_S), not per query or per request.

Raw SQL (a cursor of its own, not the ORM) reads through `read_connection()` to follow the same rule.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
HEALTHY_RECHECK_S = 5.0  # how stale the "replica answers and is close enough" answer may be
DOWN_RECHECK_S = 30.0  # a replica that failed is left alone this long
WARN_EVERY_S = 60.0

NO_LIMIT_WINDOW_S = 60.0  # with no max lag set, how long a session that wrote reads the primary
READ_PRIMARY_UNTIL = "headframe_read_primary_until"  # session key: a time.time() value
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Where the primary's WAL ends now, asked first: a replica that replayed up to it misses nothing.
PRIMARY_LSN_SQL = "SELECT pg_current_wal_lsn()::text"
# The replica's state, one row whether or not a WAL receiver runs (the view has no row when none does): in
# recovery; a receiver runs; its status (NULL without pg_read_all_stats); seconds since its last message from
# the primary (a busy primary sends WAL, an idle one a keepalive about every wal_receiver_timeout / 2);
# replayed up to the primary's LSN; and the age of the last replayed commit, 0 when all received is replayed.
REPLICA_STATE_SQL = (
    "SELECT pg_is_in_recovery(), receiver.pid IS NOT NULL, receiver.status, "
    "EXTRACT(EPOCH FROM clock_timestamp() - receiver.last_msg_receipt_time)::float8, "
    "COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, FALSE), "
    "CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END::float8 "
    "FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS receiver ON TRUE"
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Scope:
    alias: str  # where the scope reads now: REPLICA until it writes or the replica fails, then PRIMARY


_scope: ContextVar[_Scope | None] = ContextVar("headframe_replica_scope", default=None)
# True while a request of a session that wrote a moment ago runs: its scopes read the primary.
_reads_primary: ContextVar[bool] = ContextVar("headframe_reads_primary", default=False)


@dataclass(frozen=True)
class ReplicaState:
    """What the replica answered to REPLICA_STATE_SQL."""

    in_recovery: bool
    receiving: bool
    receiver_status: str | None
    quiet_s: float | None
    caught_up: bool
    replay_lag_s: float


class _ReplicaHealth:
    """Whether this process may read from the replica now, asked of the replica at most every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usable = False
        self._recheck_at = 0.0
        self._warned_at = -WARN_EVERY_S

    def usable(self) -> bool:
        if time.monotonic() < self._recheck_at:
            return self._usable
        if not self._lock.acquire(blocking=False):  # another thread is asking: go by the last answer
            return self._usable
        try:
            self._recheck()
        finally:
            self._lock.release()
        return self._usable

    def failed(self) -> None:
        """A read on the replica raised a connection error: ask the replica again now, on a new connection (a
        replica that restarted answers again; the old socket would not)."""
        with self._lock:
            _close_quietly(connections[REPLICA])
            self._recheck()

    def reset(self) -> None:
        """Forget what was learnt (tests, or a process that changed its settings)."""
        self._usable, self._recheck_at, self._warned_at = False, 0.0, -WARN_EVERY_S

    def _recheck(self) -> None:
        problem, down = _replica_problem(connections[REPLICA], _primary_lsn())
        self._usable = problem is None
        now = time.monotonic()
        self._recheck_at = now + (DOWN_RECHECK_S if down else HEALTHY_RECHECK_S)
        if problem is not None and now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("read replica %s: reading from the primary instead", problem)


def _primary_lsn() -> str | None:
    """The primary's current WAL position, or None when it cannot be asked without harm (a transaction is
    open on it: a failed query would break it) or does not answer; the replica is then judged on its own."""
    primary = connections[PRIMARY]
    if primary.in_atomic_block:
        return None
    try:
        with primary.cursor() as cursor:
            cursor.execute(PRIMARY_LSN_SQL)
            row = cursor.fetchone()
    except DatabaseError:
        return None
    return str(row[0]) if row and row[0] is not None else None


def _replica_problem(connection: BaseDatabaseWrapper, primary_lsn: str | None) -> tuple[str | None, bool]:
    """Why the replica cannot serve reads now ("unreachable: …", "… s behind"), or None; and whether it is down
    (rather than only behind, which is asked again soon)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(REPLICA_STATE_SQL, [primary_lsn])
            row = cursor.fetchone()
    except DatabaseError as exc:
        _close_quietly(connection)
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"unreachable: {first_line}", True
    state = ReplicaState(
        in_recovery=bool(row[0]),
        receiving=bool(row[1]),
        receiver_status=row[2],
        quiet_s=None if row[3] is None else float(row[3]),
        caught_up=bool(row[4]),
        replay_lag_s=float(row[5] or 0.0),
    )
    return replica_problem(state, getattr(settings, "DATABASE_REPLICA_MAX_LAG_S", 0)), False


def replica_problem(state: ReplicaState, max_lag_s: float) -> str | None:
    """Why a replica in this state must not serve reads, or None (max_lag_s 0: no limit on the lag)."""
    if not state.in_recovery:
        return None
    if not state.receiving:
        return "not streaming from the primary (no WAL receiver)"
    if state.receiver_status is not None and state.receiver_status != "streaming":
        return f"not streaming from the primary (WAL receiver {state.receiver_status})"
    if state.caught_up or not max_lag_s:
        return None
    if state.quiet_s is not None and state.quiet_s > max_lag_s:
        return f"nothing received from the primary for {state.quiet_s:.1f} s (more than {max_lag_s} s)"
    if state.replay_lag_s > max_lag_s:
        return f"{state.replay_lag_s:.1f} s behind (more than {max_lag_s} s)"
    return None


def _close_quietly(connection: BaseDatabaseWrapper) -> None:
    try:
        connection.close()
    except DatabaseError:
        connection.connection = None  # the socket is gone already: the next use connects afresh


health = _ReplicaHealth()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside go to the replica when one is configured, answers and is close enough; else the primary.
    A scope inside another follows the outer one. A connection error on the replica marks it for a recheck
    (use `replica_reads` on a function to have it run again on the primary instead of failing)."""
    if _scope.get() is not None or not replica_configured():
        yield
        return
    on_replica = not _reads_primary.get() and not connections[PRIMARY].in_atomic_block and health.usable()
    scope = _Scope(REPLICA if on_replica else PRIMARY)
    token = _scope.set(scope)
    try:
        yield
    except (OperationalError, InterfaceError):
        if scope.alias == REPLICA:
            health.failed()
        raise
    finally:
        _scope.reset(token)


def replica_reads(func: Callable[P, R]) -> Callable[P, R]:
    """Run the function inside `reading_from_replica()`; if the replica fails under it (down, or a query
    cancelled by a conflict with recovery) before the function wrote anything, run it once more on the
    primary: a read-only function gives the same answer, only fresher."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _scope.get() is not None or not replica_configured():
            return func(*args, **kwargs)
        scope: _Scope | None = None
        try:
            with reading_from_replica():
                scope = _scope.get()
                return func(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if scope is None or scope.alias != REPLICA:
                raise
        token = _scope.set(_Scope(PRIMARY))
        try:
            return func(*args, **kwargs)
        finally:
            _scope.reset(token)

    return wrapper


def replica_reads_on_get(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view decorator: GET and HEAD requests read as `replica_reads`; anything else (a form posted back) reads
    the primary, and so does a GET of a session that posted a moment ago (`ReadYourWritesMiddleware`). The
    user and session are loaded from the primary first: a session just created by logging in may not have
    reached the replica yet."""

    on_replica = replica_reads(view)

    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD") or wrote_recently(request):
            return view(request, *args, **kwargs)
        getattr(getattr(request, "user", None), "pk", None)  # resolve the lazy user (and session) here
        return on_replica(request, *args, **kwargs)

    return wrapper


def read_primary_window_s() -> float:
    """How long after a write the replica may still lack it while it is judged usable: it was at most the max
    lag behind when last asked, and that answer is kept HEALTHY_RECHECK_S."""
    max_lag_s = getattr(settings, "DATABASE_REPLICA_MAX_LAG_S", 0)
    return (max_lag_s or NO_LIMIT_WINDOW_S) + HEALTHY_RECHECK_S


def wrote_recently(request: Any) -> bool:
    """Whether the request's session posted something within `read_primary_window_s()`."""
    session = getattr(request, "session", None)
    if session is None:
        return False
    try:
        until = float(session.get(READ_PRIMARY_UNTIL, 0.0))
    except (TypeError, ValueError):
        return False
    return until > time.time()


class ReadYourWritesMiddleware:
    """Added after the session middleware when a replica is configured. A request of a browser session that
    changes something (any method but GET/HEAD/OPTIONS) marks the session to read the primary for
    `read_primary_window_s()`, so the page its form redirects to — or the next one the user opens — shows what
    it wrote; while marked, every replica scope of its requests reads the primary. Requests without a session
    (API clients with a token, gateways) are never marked: no session is created for them."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        writes = request.method not in SAFE_METHODS
        token = _reads_primary.set(writes or wrote_recently(request))
        try:
            response = self.get_response(request)
        finally:
            _reads_primary.reset(token)
        session = getattr(request, "session", None)
        if writes and session is not None and session.session_key is not None and replica_configured():
            session[READ_PRIMARY_UNTIL] = time.time() + read_primary_window_s()
        return response


def read_alias() -> str:
    """The database alias a read made now goes to (for code that opens its own cursor)."""
    scope = _scope.get()
    if scope is None or scope.alias != REPLICA or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return REPLICA


def read_connection() -> BaseDatabaseWrapper:
    """The connection a raw-SQL read made now goes to: `with read_connection().cursor() as cursor: …`."""
    return connections[read_alias()]


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when HEADFRAME_DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.alias = PRIMARY  # what the scope reads next may be what it just wrote
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY
