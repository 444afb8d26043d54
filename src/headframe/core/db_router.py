"""Reads that may go to a PostgreSQL streaming replica (HEADFRAME_DATABASE_REPLICA_URL), and the router that
sends them there.

Only code inside an explicit `reading_from_replica()` scope (or a function decorated with `replica_reads`)
reads from the replica: the production dashboards, the briefing pack build and telemetry history. Everything
else — forms, the alarm console, live state, every write — uses the primary, as without a replica.

Read-your-writes: inside a scope, a read still goes to the primary while a transaction is open on it (a service
reading what it just wrote, a meeting freezing its pack), and once the scope has written anything, the rest of
the scope reads the primary. A scope never moves back from the primary to the replica, so what it shows is
never older than what it already read (the pack's cache key is read before its figures, from the same source).

Fail safe: a replica that is down, or more than HEADFRAME_DATABASE_REPLICA_MAX_LAG_S behind, is skipped and
the primary answers; a `replica_reads` function that hits a connection error on the replica runs again on the
primary. A warning is logged at most once a minute per process, never once per query. The replica's state is
asked with one small query per process every few seconds (a failed replica: every DOWN_RECHECK_S), not per
query or per request.

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

# How far behind the replica is, in seconds: 0 when it has replayed everything it received (an idle primary
# writes no commits, so the age of the last replayed commit alone would grow without anything being missed).
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() "
    "OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END"
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Scope:
    alias: str  # where the scope reads now: REPLICA until it writes or the replica fails, then PRIMARY


_scope: ContextVar[_Scope | None] = ContextVar("headframe_replica_scope", default=None)


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
        problem, down = _replica_problem(connections[REPLICA])
        self._usable = problem is None
        now = time.monotonic()
        self._recheck_at = now + (DOWN_RECHECK_S if down else HEALTHY_RECHECK_S)
        if problem is not None and now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("read replica %s: reading from the primary instead", problem)


def _replica_problem(connection: BaseDatabaseWrapper) -> tuple[str | None, bool]:
    """Why the replica cannot serve reads now ("unreachable: …", "… s behind"), or None; and whether it is down
    (rather than only behind, which is asked again soon)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
    except DatabaseError as exc:
        _close_quietly(connection)
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"unreachable: {first_line}", True
    lag_s = float(row[0]) if row and row[0] is not None else 0.0
    max_lag_s = getattr(settings, "DATABASE_REPLICA_MAX_LAG_S", 0)
    if max_lag_s and lag_s > max_lag_s:
        return f"{lag_s:.1f} s behind (more than {max_lag_s} s)", False
    return None, False


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
    on_replica = not connections[PRIMARY].in_atomic_block and health.usable()
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
    the primary. The user and session are loaded from the primary first: a session just created by logging in
    may not have reached the replica yet."""

    on_replica = replica_reads(view)

    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        getattr(getattr(request, "user", None), "pk", None)  # resolve the lazy user (and session) here
        return on_replica(request, *args, **kwargs)

    return wrapper


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
