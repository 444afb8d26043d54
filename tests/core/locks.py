"""Another writer holding the database, for real: the tests that use it need django_db(transaction=True)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

from django.db import connection


@contextmanager
def write_lock_held(*tables: str, wait_ms: int = 200):
    """While the block runs, a second connection holds the write lock — all of SQLite (BEGIN IMMEDIATE), or an
    EXCLUSIVE lock on `tables` on PostgreSQL (reads pass, writes wait) — and this process's connection waits at
    most `wait_ms` for a lock instead of the configured 20 s."""
    if connection.vendor == "sqlite":
        # headframe.core.sqlite3 waits for the lock as long as the connection's lock_wait_s (SQLite's own
        # busy_timeout is only each short try's).
        connection.ensure_connection()
        previous_wait_s, connection.lock_wait_s = connection.lock_wait_s, wait_ms / 1000
        other = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
            connection.lock_wait_s = previous_wait_s
        return
    import psycopg

    params = connection.get_connection_params()
    keep = {"dbname", "host", "port", "user", "password"}
    other = psycopg.connect(**{k: v for k, v in params.items() if k in keep and v})
    for table in tables:
        other.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{wait_ms}ms'")
    try:
        yield
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
