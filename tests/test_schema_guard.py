"""Code older than the database's schema refuses to start; a database behind the code starts as before.

A newer headframe's migration is simulated by a row in django_migrations that this code has no file for.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from headframe.cli import main
from headframe.core.schema_guard import SKIP_ENV, SchemaTooNew, check_schema, unknown_migrations

ROOT = Path(__file__).resolve().parents[1]
FUTURE = ("telemetry", "9999_from_a_newer_headframe")
FUTURE_NAME = "telemetry.9999_from_a_newer_headframe"


@pytest.fixture
def newer_database(db):
    """The test database as a newer headframe left it. django_migrations is not flushed between tests:
    the row is always removed again."""
    recorder = MigrationRecorder(connection)
    recorder.record_applied(*FUTURE)
    yield
    recorder.record_unapplied(*FUTURE)


class NewerElsewhere:
    """A database another process can open, as a newer headframe left it: on SQLite a file copy of the migrated
    test database, on PostgreSQL the test database with the row committed by a connection of its own (and
    removed afterwards). `state()` counts users and migrations in it."""

    def __init__(self, folder: Path) -> None:
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            self.file = folder / "guard.sqlite3"
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [str(self.file)])
            self.url = f"sqlite:///{self.file}"
        else:
            self.file = None
            auth = quote(settings["USER"] or "", safe="")
            if settings["PASSWORD"]:
                auth += ":" + quote(settings["PASSWORD"], safe="")
            host, port = settings["HOST"] or "localhost", settings["PORT"] or 5432
            self.url = f"postgresql://{auth}@{host}:{port}/{settings['NAME']}"
        self.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, CURRENT_TIMESTAMP)", FUTURE
        )

    def execute(self, sql: str, params=()) -> list:
        if self.file is not None:
            with sqlite3.connect(self.file) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            cursor = db.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def state(self) -> tuple:
        users = self.execute("SELECT COUNT(*) FROM auth_user")[0][0]
        return users, self.execute("SELECT COUNT(*) FROM django_migrations")[0][0]

    def close(self) -> None:
        self.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", FUTURE)


@pytest.fixture
def newer_elsewhere(django_db_setup, django_db_blocker, tmp_path):
    with (
        django_db_blocker.unblock()
    ):  # no test transaction here: VACUUM INTO and the other process see it all
        database = NewerElsewhere(tmp_path)
        yield database
        database.close()


def test_serve_ingest_and_demo_refuse_to_start_on_a_database_migrated_by_newer_code(
    newer_elsewhere, tmp_path
):
    before = newer_elsewhere.state()
    env = {
        **os.environ,
        "HEADFRAME_DATABASE_URL": newer_elsewhere.url,
        "HEADFRAME_SECRET_KEY": "test-only-" + "x" * 40,
        "HEADFRAME_VAR_DIR": str(tmp_path / "var"),
        "HEADFRAME_MQTT_PORT": "9",  # nothing listens there: ingest must not get as far as connecting
    }
    env.pop(SKIP_ENV, None)
    commands = {
        "serve": ["serve", "--port", "9", "--no-watchdog", "--no-notifier"],
        "ingest": ["ingest"],
        "demo": ["demo", "--no-serve", "--no-telemetry"],
    }
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "headframe", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    for name, process in started.items():
        try:
            out, err = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"`headframe {name}` started on a database ahead of the code")
        assert process.returncode == 1, (name, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (name, err)
        assert lines[0].startswith(f"headframe {name}: error: the database has 1 migration(s)"), lines[0]
        assert FUTURE_NAME in lines[0] and "newer headframe" in lines[0]
    # demo migrates and loads data: it stopped before either
    assert newer_elsewhere.state() == before


def test_the_guard_names_the_unknown_migrations(newer_database):
    assert unknown_migrations() == [FUTURE_NAME]
    with pytest.raises(SchemaTooNew, match=FUTURE_NAME):
        check_schema()


def test_a_refused_command_changes_nothing_and_says_so_in_one_line(newer_database, tree, capsys):
    assert main(["createuser", "an", "--role", "viewer", "--unit", "A"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and FUTURE_NAME in err
    assert not get_user_model().objects.filter(username="an").exists()


def test_the_override_lets_a_supervised_downgrade_start(newer_database, tree, monkeypatch):
    monkeypatch.setenv(SKIP_ENV, "1")
    check_schema()
    assert main(["createuser", "an", "--role", "viewer", "--unit", "A"]) == 0


def test_backup_is_not_refused_on_a_newer_database(newer_database, tmp_path, capsys):
    """A database ahead of the code can still be copied out (restore checks the backup's migrations itself)."""
    main(["backup", str(tmp_path / "backup")])
    assert "newer headframe" not in capsys.readouterr().err


def test_unapplied_migrations_keep_todays_behaviour(db, capsys):
    recorder = MigrationRecorder(connection)
    latest = max(key for key in recorder.applied_migrations() if key[0] == "telemetry")
    recorder.record_unapplied(*latest)  # the database is behind the code (rolled back after the test)
    assert unknown_migrations() == []
    check_schema()
    assert main(["check"]) == 1  # as before: `headframe check` reports it, nothing refuses to start
    err = capsys.readouterr().err
    assert "1 migration(s) not applied: run `headframe migrate`" in err
    assert "newer headframe" not in err
