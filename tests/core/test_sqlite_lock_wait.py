"""SQLite: a statement waiting for the write lock does not hold its connection while it waits
(headframe.core.sqlite3). Python's garbage collector, in whichever thread runs it, resets the statements of the
cursors it clears, and that needs their connection; when the thread holding the write lock clears a cursor of a
connection waiting for that lock, the two used to wait on each other until the busy timeout ran out."""

from __future__ import annotations

import queue
import sqlite3
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's busy handler only"),
]

LOCK_WAIT_S = 3


@pytest.fixture
def probe_table(monkeypatch):
    # Connections opened from here on (the waiting thread's) give up after LOCK_WAIT_S instead of 20 s.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", LOCK_WAIT_S)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE lock_wait_probe (n integer)")
    yield "lock_wait_probe"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE lock_wait_probe")


def _values(table) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n FROM {table} ORDER BY n")
        return [n for (n,) in cursor.fetchall()]


def _writer_of_2(table, first=lambda: None) -> tuple[threading.Thread, dict[str, str]]:
    """A thread that (after `first`) inserts 2 on a connection of its own; outcome["waiter"] says how it ended."""
    outcome: dict[str, str] = {}

    def waiter():
        try:
            first()
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {table} VALUES (2)")
            outcome["waiter"] = "stored"
        except OperationalError as exc:
            outcome["waiter"] = str(exc)
        finally:
            connection.close()

    return threading.Thread(target=waiter), outcome


def _insert_1(table) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} VALUES (1)")


def test_the_lock_holder_can_clear_a_waiting_connections_cursor(probe_table):
    dropped: queue.Queue = queue.Queue()

    def leave_a_cursor():
        # A cursor in the middle of a read, as one dropped in a reference cycle is until the collector clears it.
        connection.ensure_connection()
        left = connection.connection.cursor()
        left.execute("SELECT 1 UNION ALL SELECT 2")
        dropped.put(left)

    thread, outcome = _writer_of_2(probe_table, first=leave_a_cursor)
    with transaction.atomic():  # this thread holds the write lock
        _insert_1(probe_table)
        thread.start()
        left = dropped.get(timeout=30)
        time.sleep(0.3)  # the waiter is now waiting for the lock
        left.close()  # what the collector does to a cleared cursor: reset its statement
    thread.join(timeout=60)

    assert outcome == {"waiter": "stored"}
    assert _values(probe_table) == [1, 2]


def test_a_lock_held_past_the_timeout_still_fails_the_waiter_cleanly(probe_table):
    thread, outcome = _writer_of_2(probe_table)
    with transaction.atomic():
        _insert_1(probe_table)
        thread.start()
        thread.join(timeout=LOCK_WAIT_S + 30)  # the waiter gives up while the lock is still held

    assert outcome == {"waiter": "database is locked"}
    assert _values(probe_table) == [1]


def _locked() -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("database is locked")
    exc.sqlite_errorcode = 5  # SQLITE_BUSY, as SQLite sets it
    return exc


def test_a_statement_is_tried_again_only_when_nothing_of_it_ran(probe_table):
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # headframe.core.sqlite3's cursor under Django's wrapper
        calls = []

        def locked_once_before_anything(query, params):
            calls.append(query)
            if len(calls) == 1:
                raise _locked()
            return cursor.connection.execute(f"INSERT INTO {probe_table} VALUES (1)")

        cursor._until_unlocked(locked_once_before_anything, "first", None)
        assert len(calls) == 2
        assert _values(probe_table) == [1]

        calls.clear()

        def locked_after_a_row(query, params):  # an executemany in autocommit: rows commit one by one
            calls.append(query)
            cursor.connection.execute(f"INSERT INTO {probe_table} VALUES (2)")
            raise _locked()

        with pytest.raises(sqlite3.OperationalError):
            cursor._until_unlocked(locked_after_a_row, "second", None)
        assert len(calls) == 1, "the row already stored must not be stored again"
        assert _values(probe_table) == [1, 2]
