"""The demo loaded once per test run, then copied back wherever a module needs it.

`load_demo()` goes through the services (audit rows, validation, one unit at a time): 20-30 s on this machine,
and a dozen modules in each CI pass want it. `demo_database()` loads it the first time and captures every
table; each later call, inside the caller's open transaction, deletes what the tables hold and inserts the
captured rows (PostgreSQL COPY; SQLite executemany), which takes a second or two. The caller's transaction is
rolled back when its module ends, as before, so nothing leaks into the next module.

The copy is the whole database, the migrations' seeds included, so it does not matter what an earlier
transactional test flushed. The demo depends on the date (production to yesterday, today's rosters), so the
capture is keyed by the local date and taken again if the run crosses midnight.

Tests of `load_demo()` itself (idempotence, what it creates) still call it, on top of the copy or on their own.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection
from django.utils import timezone

from tests import seeds

AUDIT_TABLE = "core_auditentry"
AUDIT_TRIGGER = "core_auditentry_no_update"  # PostgreSQL refuses DELETE on the audit log (core/0002)


@dataclass
class _Table:
    name: str
    columns: list[str]
    data: bytes | list[tuple]  # PostgreSQL: COPY text; SQLite: the row tuples (empty for an empty table)


@dataclass
class _Capture:
    tables: list[_Table]
    result: object


_captures: dict[tuple, _Capture] = {}


def demo_database():
    """The database as a freshly migrated one with `load_demo()` on top, and load_demo's result. Call it first
    in an open transaction (the module's, rolled back at its end): the copy replaces whatever the tables held."""
    from headframe.demo import load_demo
    from headframe.org.models import Unit

    key = ("demo", timezone.localdate())
    capture = _captures.get(key)
    if capture is None:
        # What is captured is put back in every later module: nothing of the caller's may be in it.
        assert not Unit.objects.exists(), "demo_database() must come first, on a database without units"
        seeds.all_seeds()  # what a flush of an earlier transactional test took away
        result = load_demo()
        capture = _captures[key] = _Capture(_capture_tables(), copy.deepcopy(result))
    else:
        _restore_tables(capture.tables)
    return copy.deepcopy(capture.result)


def _models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


# Left as they are: Django recreates content types and permissions after every flush of a transactional test, with
# new ids, and caches the content types by id in the process; put back as captured, they would disagree with that
# cache. The demo refers to none of them (and to no admin log entry).
LEFT_ALONE = {
    "django_content_type",
    "auth_permission",
    "auth_group_permissions",
    "auth_user_user_permissions",
    "django_admin_log",
}


def _tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    return sorted(({m._meta.db_table for m in _models()} & existing) - LEFT_ALONE)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _capture_tables() -> list[_Table]:
    captured = []
    with connection.cursor() as cursor:
        for name in _tables():
            cursor.execute(f"SELECT * FROM {_quote(name)} WHERE 1 = 0")
            columns = [d[0] for d in cursor.description]
            if connection.vendor == "postgresql":
                buffer = io.BytesIO()
                with connection.connection.cursor().copy(
                    f"COPY (SELECT * FROM {_quote(name)}) TO STDOUT"
                ) as out:
                    for block in out:
                        buffer.write(block)
                data = buffer.getvalue()
            else:
                cursor.execute(f"SELECT * FROM {_quote(name)}")
                data = cursor.fetchall()
            captured.append(_Table(name, columns, data))
    return captured


def _restore_tables(tables: list[_Table]) -> None:
    assert connection.in_atomic_block, "restore the demo inside a transaction that the module rolls back"
    with connection.cursor() as cursor:
        for table in tables:
            _empty(cursor, table.name)
        for table in tables:
            if not table.data:
                continue
            names = ", ".join(_quote(c) for c in table.columns)
            if connection.vendor == "postgresql":
                with connection.connection.cursor().copy(
                    f"COPY {_quote(table.name)} ({names}) FROM STDIN"
                ) as into:
                    into.write(table.data)
            else:
                marks = ", ".join("?" for _ in table.columns)
                connection.connection.executemany(
                    f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks})", table.data
                )
        if connection.vendor == "postgresql":
            for statement in connection.ops.sequence_reset_sql(no_style(), _models()):
                cursor.execute(statement)


def _empty(cursor, table: str) -> None:
    cursor.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1")
    if cursor.fetchone() is None:
        return
    guarded = connection.vendor == "postgresql" and table == AUDIT_TABLE
    if guarded:  # rolled back with the module's transaction, like the rows
        cursor.execute(f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER {AUDIT_TRIGGER}")
    cursor.execute(f"DELETE FROM {_quote(table)}")
    if guarded:
        cursor.execute(f"ALTER TABLE {AUDIT_TABLE} ENABLE TRIGGER {AUDIT_TRIGGER}")
