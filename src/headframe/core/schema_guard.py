"""Refuse to run code older than the database's schema.

A database migrated by a newer headframe has applied migrations this code does not know: its models lack the
newer columns and constraints, and running it there (a rollback of the code without a rollback of the data)
writes rows the newer code never expected — or fails half way through a safety write. So `headframe serve`,
`ingest`, `demo` and the other commands stop at start-up with one line naming the unknown migrations.

Unapplied migrations (a database older than the code) are not this guard's business: they keep today's behaviour
(`headframe migrate` applies them; `headframe check` reports them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import DatabaseError
from django.db import connection as default_connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from headframe.core.errors import HeadframeError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

SKIP_ENV = "HEADFRAME_SKIP_SCHEMA_GUARD"  # "1": start anyway (a supervised downgrade; never the default)


class SchemaTooNew(HeadframeError):
    status = 503
    default_type = "schema_too_new"


def known_migrations() -> set[tuple[str, str]]:
    """Every migration this code ships, and those its squashed migrations replace."""

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(tuple(key) for key in getattr(migration, "replaces", None) or ())
    return known


def applied_migrations(connection: BaseDatabaseWrapper | None = None) -> set[tuple[str, str]]:

    recorder = MigrationRecorder(connection or default_connection)
    if not recorder.has_table():
        return set()
    return set(recorder.applied_migrations())


def unknown_migrations(
    applied: set[tuple[str, str]] | None = None, connection: BaseDatabaseWrapper | None = None
) -> list[str]:
    """`app.name` of each migration the database has applied and this code does not know, sorted."""
    applied = applied_migrations(connection) if applied is None else applied
    return sorted(f"{app}.{name}" for app, name in applied - known_migrations())


def describe(unknown: list[str], *, limit: int = 8) -> str:
    shown = ", ".join(unknown[:limit]) + (f" and {len(unknown) - limit} more" if len(unknown) > limit else "")
    return (
        f"the database has {len(unknown)} migration(s) this version of headframe does not know ({shown}): it was "
        "upgraded by a newer headframe. Run that version, or restore a backup made by this one; "
        f"refusing to start ({SKIP_ENV}=1 overrides, for a supervised downgrade only)"
    )


def check_schema(connection: BaseDatabaseWrapper | None = None) -> None:
    """Raise SchemaTooNew if the database is ahead of this code. A database that cannot be reached is left to
    the command (ingest, for one, waits for it without acknowledging anything)."""
    if os.environ.get(SKIP_ENV, "") == "1":
        return

    conn = connection or default_connection
    if (
        isinstance(conn, SQLiteDatabaseWrapper)  # the vendor "sqlite"
        and not conn.is_in_memory_db()
        and not Path(conn.settings_dict["NAME"]).exists()
    ):
        return  # no database yet (nothing can be ahead); do not create an empty file by looking
    try:
        applied = applied_migrations(conn)
    except DatabaseError:
        return
    unknown = unknown_migrations(applied)
    if unknown:
        raise SchemaTooNew(describe(unknown))


__all__ = ["SKIP_ENV", "SchemaTooNew", "check_schema", "describe", "known_migrations", "unknown_migrations"]
