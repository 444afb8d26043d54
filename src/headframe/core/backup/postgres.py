"""PostgreSQL: pg_dump in an exported snapshot; pg_restore piped into one psql transaction that checks the
result before its COMMIT."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from headframe.core.backup.common import (
    CHUNK,
    PG_FILE,
    BackupError,
    Database,
    DatabaseEntry,
    Manifest,
    _fsync,
    _one_line,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg.abc import Query


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


PG_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition ORDER BY 1, 2"
)


def _pg_value(conn: psycopg.Connection[Any], query: Query) -> Any:
    """The one value of a query that always returns one row (a COUNT, a function call)."""
    row = conn.execute(query).fetchone()
    assert row is not None, "the query returned no row"
    return row[0]


def _pg_state(conn: psycopg.Connection[Any]) -> tuple[list[list[str]], dict[str, int]]:

    tables = conn.execute(PG_TABLES).fetchall()
    migrations: list[list[str]] = []
    if _pg_value(conn, "SELECT to_regclass('django_migrations')") is not None:
        migrations = [
            list(row) for row in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")
        ]
    counts: dict[str, int] = {}
    for schema, table in tables:
        name = table if schema == "public" else f"{schema}.{table}"
        query = sql.SQL("SELECT COUNT(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[name] = _pg_value(conn, query)
    return migrations, counts


def _pg_connect(database: Database, **kwargs: Any) -> psycopg.Connection[Any]:

    try:
        params: dict[str, Any] = {**database.connect_kwargs(), **kwargs}
        return psycopg.connect(**params)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to {database.label()}: {_one_line(str(exc))}") from None


def _backup_postgresql(database: Database, folder: Path, say: Callable[[str], None]) -> DatabaseEntry:

    pg_dump = _require_tool("pg_dump")
    _require_tool("pg_restore")
    partial = folder / (PG_FILE + ".partial")
    with _pg_connect(database) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            # pg_dump reads in the snapshot this transaction exports: the dump, the migration state and the row
            # counts below describe one and the same moment, whatever the server and ingest write meanwhile.
            snapshot = _pg_value(conn, "SELECT pg_export_snapshot()")
            say(f"dumping {database.label()} with pg_dump (custom format)")
            done = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={partial}", "--no-password"],
                env=database.tool_env(),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                partial.unlink(missing_ok=True)
                raise BackupError(f"pg_dump failed: {_one_line(done.stderr)}")
            migrations, counts = _pg_state(conn)
        server_version = conn.info.server_version
    listed = subprocess.run(["pg_restore", "--list", str(partial)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump just written: {_one_line(listed.stderr)}")
    _fsync(partial)
    os.replace(partial, folder / PG_FILE)
    return {
        "engine": "postgresql",
        "file": PG_FILE,
        "server_version": str(server_version),
        "migrations": migrations,
        "tables": counts,
    }


def _pg_table_count(database: Database) -> int:
    with _pg_connect(database, autocommit=True) as conn:
        return len(conn.execute(PG_TABLES).fetchall())


PG_CHECKS = """
CREATE FUNCTION pg_temp.headframe_rows(what text, actual bigint, expected bigint) RETURNS void
LANGUAGE plpgsql AS $check$
BEGIN
  IF actual IS DISTINCT FROM expected THEN
    RAISE EXCEPTION 'the restored database differs from the backup (%: % rows, the backup says %)',
      what, actual, expected;
  END IF;
END
$check$;
CREATE FUNCTION pg_temp.headframe_migrations(actual jsonb, expected jsonb) RETURNS void
LANGUAGE plpgsql AS $check$
BEGIN
  IF actual IS DISTINCT FROM expected THEN
    RAISE EXCEPTION 'the restored database''s migration state differs from the manifest';
  END IF;
END
$check$;
"""


def _pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"  # standard_conforming_strings is on (pg_restore sets it)


def _pg_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_check_sql(expected: Mapping[str, Any]) -> str:
    """SQL that fails (and so rolls the restore back) unless the restored database holds the manifest's
    migrations and row counts: run by psql in the restore's own transaction, before its COMMIT."""
    lines = [PG_CHECKS]
    migrations = [list(m) for m in expected.get("migrations", [])]
    if migrations:
        lines.append(
            "SELECT pg_temp.headframe_migrations((SELECT COALESCE(jsonb_agg(jsonb_build_array(app, name) "
            "ORDER BY id), '[]'::jsonb) FROM public.django_migrations), "
            f"{_pg_literal(json.dumps(migrations))}::jsonb);"
        )
    for table, rows in expected.get("tables", {}).items():
        schema, name = table.split(".", 1) if "." in table else ("public", table)
        lines.append(
            f"SELECT pg_temp.headframe_rows({_pg_literal(table)}, (SELECT COUNT(*) FROM "
            f"{_pg_identifier(schema)}.{_pg_identifier(name)}), {int(rows)});"
        )
    return "\n".join(lines) + "\n"


def _psql_message(output: bytes) -> str:
    return re.sub(r"psql:\S+:\d+: ", "", _one_line(output.decode(errors="replace")))


def _restore_postgresql(
    database: Database, folder: Path, manifest: Manifest, replace: bool, say: Callable[[str], None]
) -> None:
    """pg_restore's SQL relayed into one psql transaction, followed by the checks against the manifest: psql
    commits only after the last byte of a pg_restore that succeeded and checks that passed. If pg_restore fails,
    psql is killed before it sees the end of its input, and the server rolls the transaction back."""
    pg_restore, psql = _require_tool("pg_restore"), _require_tool("psql")
    env = database.tool_env()
    preamble = ["-c", "DROP SCHEMA public CASCADE", "-c", "CREATE SCHEMA public"] if replace else []
    say(f"restoring {database.label()} with pg_restore | psql --single-transaction")
    with (
        tempfile.TemporaryFile() as restore_err,
        tempfile.TemporaryFile() as psql_out,
        tempfile.NamedTemporaryFile("w", suffix=".sql") as checks,
    ):
        checks.write(_pg_check_sql(manifest["database"]))
        checks.flush()
        producer = subprocess.Popen(
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(folder / PG_FILE)],
            stdout=subprocess.PIPE,
            stderr=restore_err,
            env=env,
        )
        consumer = subprocess.Popen(
            [
                *(psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction"),
                *preamble,
                *("-f", "-", "-f", checks.name),
            ],
            stdin=subprocess.PIPE,
            stdout=psql_out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        dump, sql_in = producer.stdout, consumer.stdin
        assert dump is not None and sql_in is not None  # both PIPE above
        psql_stopped = False
        try:
            while chunk := dump.read(CHUNK):
                sql_in.write(chunk)
        except BrokenPipeError:  # psql stopped at an error: it says which
            psql_stopped = True
        except BaseException:
            consumer.kill()
            producer.kill()
            raise
        finally:
            dump.close()  # pg_restore sees EPIPE if psql stopped
        producer_rc = producer.wait()
        if producer_rc != 0 and not psql_stopped:
            consumer.kill()  # before psql reads the end of its input: nothing is committed
            consumer.wait()
            restore_err.seek(0)
            message = _one_line(restore_err.read().decode(errors="replace"))
            raise BackupError(f"pg_restore failed, nothing changed: {message}")
        with contextlib.suppress(BrokenPipeError):
            sql_in.close()
        consumer_rc = consumer.wait()
        if consumer_rc != 0 or producer_rc != 0:
            psql_out.seek(0)
            raise BackupError(f"restore failed, nothing changed (psql: {_psql_message(psql_out.read())})")
    with _pg_connect(database, autocommit=True) as conn:
        say("analysing the restored tables")
        conn.execute("ANALYZE")
