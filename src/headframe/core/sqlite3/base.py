"""Django's SQLite backend with one change: a statement that finds the database locked waits for the lock in
Python, between short tries, instead of inside SQLite's busy handler.

Why: SQLite's busy handler sleeps with the connection's mutex held. When Python's garbage collector, running in
whichever thread allocates next, clears a cursor of a connection that is waiting there, it resets the cursor's
statement and so needs that mutex. If the collecting thread is the one holding the write lock (a transaction in
progress), the two wait on each other until the waiter's busy timeout runs out: every writer of the process
stood still for HEADFRAME_DB_LOCK_TIMEOUT_S (20 s) and then failed with "database is locked" — seen with 16
tablet saves at once (tests/safety/test_tablet_concurrency.py), and a stall of alarms and ingest in `serve`.
Here SQLite's own handler waits at most NATIVE_BUSY_TIMEOUT_S per try, so the mutex is never held longer, and
the rest of the wait happens in time.sleep, with neither the mutex nor the GIL held.

A statement is tried again only when nothing of it ran: no transaction open on its connection (autocommit, or the
BEGIN IMMEDIATE that opens one) and no row changed by it. Otherwise a "locked" error goes up as before.
"""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

from django.db.backends.sqlite3 import base

NATIVE_BUSY_TIMEOUT_S = 0.02  # SQLite's own wait per try (its handler sleeps 1, 2, 5, 10 ms … in between)
RETRY_SLEEP_MAX_S = 0.05  # the longest sleep between tries, as SQLite's handler does after its first tries
SQLITE_BUSY = 5
# The connection reads an old snapshot (a statement of it still running) that another writer has since moved on
# from: no wait can help, the statement fails at once as in Django's backend.
SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY | (2 << 8)


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0)
    return (code & 0xFF) == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


class CursorWrapper(base.SQLiteCursorWrapper):
    lock_wait_s = 5.0  # set per connection from OPTIONS' timeout

    def execute(self, query: str, params: Any = None) -> Any:
        return self._until_unlocked(super().execute, query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        if not isinstance(param_list, list | tuple):
            param_list = list(param_list)  # a generator cannot be read twice
        return self._until_unlocked(super().executemany, query, param_list)

    def _until_unlocked(self, run: Any, query: str, params: Any) -> Any:
        deadline = time.monotonic() + self.lock_wait_s
        sleep = 0.001
        while True:
            changes = self.connection.total_changes
            try:
                return run(query, params)
            except sqlite3.OperationalError as exc:
                # Changes made before the lock was found taken (an executemany in autocommit commits row by row)
                # would be made twice: tried again only when nothing of the statement ran.
                if (
                    not _busy(exc)
                    or self.connection.in_transaction
                    or self.connection.total_changes != changes
                ):
                    raise
                if time.monotonic() + sleep > deadline:
                    raise
            time.sleep(sleep * (0.5 + random.random()))  # jitter: waiters do not retry in step
            sleep = min(sleep * 2, RETRY_SLEEP_MAX_S)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # OPTIONS' timeout is how long a statement may wait for the lock in all (sqlite3's default: 5 s).
        self.lock_wait_s = float(params.get("timeout", 5.0))
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        # The init commands (PRAGMAs) still wait inside SQLite, as long as OPTIONS say: no cursor exists yet.
        connection = super().get_new_connection(conn_params)
        connection.execute(f"PRAGMA busy_timeout = {round(NATIVE_BUSY_TIMEOUT_S * 1000)}")
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.lock_wait_s = self.lock_wait_s
        return cursor
