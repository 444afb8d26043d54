"""`headframe backup` / `headframe restore` on the database the suite runs on (SQLite or PostgreSQL).

A thread keeps writing while the backup runs: each of its transactions inserts three rows into one table and
adds three to a total in another, so a consistent snapshot has total == rows, whole batches only. The restored
database must pass its integrity checks, hold such a snapshot, the source's migrations and tables, and the media
files byte for byte. Damaged, foreign or newer backups and non-empty targets are refused before anything changes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.backends.sqlite3._functions import register as register_django_functions

from headframe.cli import main
from headframe.core import backup as backup_module
from headframe.core.backup import BackupError, backup, restore, verify
from headframe.core.backup import media as backup_media
from headframe.core.backup import postgres as backup_postgres

# The sources are what other processes can read without the test's transaction: on SQLite a file copy of the
# migrated test database (made once per module), on PostgreSQL the test database, whose schema and migrations are
# committed; the probe tables are written through connections of their own. So no test needs a flush.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
PER_BATCH = 3


class Databases:
    """The test database as a source another process can open (SQLite: a file copy in WAL mode, as headframe
    runs it), and empty target databases; raw connections for the probe writer and the checks."""

    def __init__(self, folder: Path, template: Path | None) -> None:
        self.folder = folder
        self.vendor = connection.vendor
        self.created: list[str] = []
        if self.vendor == "sqlite":
            file = folder / "source.sqlite3"
            shutil.copyfile(template, file)
            self.source = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(file)}
            with sqlite3.connect(file) as db:
                db.execute("PRAGMA journal_mode=WAL")
        elif self.vendor == "postgresql":
            self.source = dict(connection.settings_dict)
        else:
            pytest.skip(f"no backup on {self.vendor}")
        with self.connect(self.source) as db:
            self.run(db, "CREATE TABLE probe_row (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL)")
            self.run(db, "CREATE TABLE probe_total (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
            self.run(db, "INSERT INTO probe_total VALUES (1, 0)")

    def connect(self, settings: dict):
        if self.vendor == "sqlite":
            db = sqlite3.connect(settings["NAME"], timeout=30, isolation_level=None)
            register_django_functions(db)  # constraints made by migrations use them
            return _Closing(db)
        import psycopg

        args = {"dbname": settings["NAME"], "user": settings["USER"], "password": settings["PASSWORD"]}
        args |= {"host": settings["HOST"], "port": settings["PORT"]}
        return psycopg.connect(**{k: v for k, v in args.items() if v}, autocommit=True)

    @staticmethod
    def run(db, sql: str, params=()) -> list:
        cursor = db.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def url(self, settings: dict) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{settings['NAME']}"
        auth = quote(settings["USER"] or "", safe="")
        if settings["PASSWORD"]:
            auth += ":" + quote(settings["PASSWORD"], safe="")
        return f"postgresql://{auth}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"

    def new_target(self) -> dict:
        name = f"hf_restore_{uuid.uuid4().hex[:10]}"
        if self.vendor == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(self.folder / f"{name}.sqlite3")}
        with self.connect(self.source) as db:
            self.run(db, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return {**self.source, "NAME": name}

    def probe(self, settings: dict) -> tuple[int, int, int]:
        """(rows, total, batches that are not whole)."""
        with self.connect(settings) as db:
            rows = self.run(db, "SELECT COUNT(*) FROM probe_row")[0][0]
            total = self.run(db, "SELECT total FROM probe_total")[0][0]
            broken = self.run(
                db,
                f"SELECT COUNT(*) FROM (SELECT batch FROM probe_row GROUP BY batch HAVING COUNT(*) <> {PER_BATCH}) b",
            )[0][0]
        return rows, total, broken

    def migrations(self, settings: dict) -> list[tuple[str, str]]:
        with self.connect(settings) as db:
            return [
                tuple(r) for r in self.run(db, "SELECT app, name FROM django_migrations ORDER BY app, name")
            ]

    def integrity(self, settings: dict) -> None:
        """SQLite: its integrity and foreign-key checks. PostgreSQL: every constraint and index of the source is
        there and validated (pg_restore adds foreign keys with ALTER TABLE, which checks every row)."""
        with self.connect(settings) as db:
            if self.vendor == "sqlite":
                assert self.run(db, "PRAGMA integrity_check") == [("ok",)]
                assert self.run(db, "PRAGMA foreign_key_check") == []
                return
            assert self.run(db, "SELECT COUNT(*) FROM pg_constraint WHERE NOT convalidated") == [(0,)]
        assert self._schema(settings) == self._schema(self.source)

    def _schema(self, settings: dict) -> tuple:
        with self.connect(settings) as db:
            constraints = self.run(
                db,
                "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
            )
            indexes = self.run(db, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
        assert constraints and indexes
        return constraints, indexes

    def tables(self, settings: dict) -> int:
        with self.connect(settings) as db:
            if self.vendor == "sqlite":
                return self.run(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")[0][0]
            return self.run(db, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]

    def close(self) -> None:
        with self.connect(self.source) as db:
            self.run(db, "DROP TABLE IF EXISTS probe_row")
            self.run(db, "DROP TABLE IF EXISTS probe_total")
            for name in self.created:
                self.run(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Closing:
    """sqlite3's context manager commits but does not close: close, as psycopg's does."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


class Writer(threading.Thread):
    """Writes batches of PER_BATCH rows and the running total, one transaction each, until stopped."""

    def __init__(self, databases: Databases) -> None:
        super().__init__(daemon=True)
        self.databases, self.stop, self.batches, self.error = databases, threading.Event(), 0, None

    def run(self) -> None:
        try:
            with self.databases.connect(self.databases.source) as db:
                while not self.stop.is_set():
                    self._batch(db, self.batches)
                    self.batches += 1
        except Exception as exc:  # reported by the test
            self.error = exc

    def _batch(self, db, batch: int) -> None:
        values = [(batch,)] * PER_BATCH
        if self.databases.vendor == "sqlite":
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO probe_row (batch) VALUES (?)", values)
            db.execute("UPDATE probe_total SET total = total + ?", (PER_BATCH,))
            db.execute("COMMIT")
        else:
            with db.transaction():
                cursor = db.cursor()
                cursor.executemany("INSERT INTO probe_row (id, batch) VALUES (DEFAULT, %s)", values)
                cursor.execute("UPDATE probe_total SET total = total + %s", (PER_BATCH,))


@pytest.fixture(scope="module")
def sqlite_template(django_db_setup, django_db_blocker, tmp_path_factory):
    """SQLite: the migrated test database as a file, copied once (VACUUM cannot run inside a test's transaction)."""
    if connection.vendor != "sqlite":
        return None
    file = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(file)])
    return file


@pytest.fixture
def databases(tmp_path, sqlite_template):
    instance = Databases(tmp_path, sqlite_template)
    if instance.vendor == "postgresql":  # probe_row.id as a serial column there
        with instance.connect(instance.source) as db:
            instance.run(db, "ALTER TABLE probe_row ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    yield instance
    instance.close()


def _media(var: Path) -> dict[str, bytes]:
    root = var / "media"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _headframe(*args: str, url: str, var: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HEADFRAME_DATABASE_URL": url,
        "HEADFRAME_SECRET_KEY": "test-only-" + "x" * 40,
        "HEADFRAME_VAR_DIR": str(var),
    }
    return subprocess.run(
        [sys.executable, "-m", "headframe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backup_under_write_load_restores_a_consistent_snapshot_with_the_media_files(databases, tmp_path):
    """The writes provably interleave with the backup, whatever the machine's speed: backup() says what it is about
    to do before it reads the database, and the test holds it there until the writer has committed more batches;
    after the backup the writer must commit more again. So the snapshot lies strictly between the two counts."""
    source_media, target_var = tmp_path / "var-source" / "media", tmp_path / "var-target"
    photos = {"safety/ab/ab12.jpg": os.urandom(50_000), "safety/cd/cd34.png": os.urandom(3_000)}
    for name, content in photos.items():
        (source_media / name).parent.mkdir(parents=True, exist_ok=True)
        (source_media / name).write_bytes(content)
    writer = Writer(databases)
    held: list[int] = []

    def hold(message: str) -> None:
        if not held:  # the backup has started, the database is not read yet
            held.append(writer.batches)
            assert _wait(lambda: writer.batches >= held[0] + 5 or writer.error)

    writer.start()
    try:
        assert _wait(lambda: writer.batches >= 10 or writer.error)
        before = writer.batches
        manifest = backup(tmp_path / "backup", database=databases.source, media=source_media, say=hold)
        finished = writer.batches
        assert _wait(lambda: writer.batches >= finished + 5 or writer.error)  # the backup blocked no writer
        after = writer.batches
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert held, "backup() said nothing before it read the database: the writes were not held to interleave"
    snapshot = manifest["database"]["tables"]["probe_row"]
    # committed batches are writer.batches, or one more (committed, not counted yet)
    assert before * PER_BATCH < snapshot < after * PER_BATCH

    assert manifest["database"]["engine"] == databases.vendor
    assert sorted(map(tuple, manifest["database"]["migrations"])) == databases.migrations(databases.source)
    assert {f["path"] for f in manifest["files"]} >= {f"media/{name}" for name in photos}

    target = databases.new_target()
    done = _headframe("restore", str(tmp_path / "backup"), url=databases.url(target), var=target_var)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout

    databases.integrity(target)
    rows, total, broken = databases.probe(target)
    assert rows == total == snapshot and broken == 0, "the restored database is not the manifest's snapshot"
    assert databases.migrations(target) == databases.migrations(databases.source)
    assert databases.tables(target) == databases.tables(databases.source)
    assert _media(target_var) == photos

    # The command line backs up what it restored: the same snapshot and media files.
    done = _headframe("backup", str(tmp_path / "again"), url=databases.url(target), var=target_var)
    assert done.returncode == 0, done.stderr
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert again["database"]["tables"]["probe_row"] == snapshot
    assert sorted(f["path"] for f in again["files"] if f["path"].startswith("media/")) == sorted(
        f"media/{name}" for name in photos
    )


def test_a_damaged_or_incomplete_backup_is_refused_and_nothing_is_restored(databases, tmp_path):
    media = tmp_path / "media"
    (media / "safety").mkdir(parents=True)
    (media / "safety" / "photo.jpg").write_bytes(os.urandom(10_000))
    folder = tmp_path / "backup"
    manifest = backup(folder, database=databases.source, media=media, say=lambda _: None)
    database_file = folder / manifest["database"]["file"]
    content = bytearray(database_file.read_bytes())
    content[len(content) // 2] ^= 0xFF  # one flipped bit in the middle of the database
    database_file.write_bytes(bytes(content))
    target, target_media = databases.new_target(), tmp_path / "target-media"
    with pytest.raises(
        BackupError, match=rf"damaged: {manifest['database']['file']} fails its SHA-256 check"
    ):
        restore(folder, database=target, media=target_media, say=lambda _: None)
    (folder / "media" / "safety" / "photo.jpg").write_bytes(b"short")
    with pytest.raises(BackupError, match=r"media/safety/photo.jpg has 5 bytes, the manifest says 10000"):
        restore(folder, database=target, media=target_media, say=lambda _: None)
    (folder / "manifest.json").unlink()
    with pytest.raises(BackupError, match=r"no manifest\.json: not a headframe backup, or an incomplete one"):
        restore(folder, database=target, media=target_media, say=lambda _: None)
    assert (
        databases.tables(target) == 0
        if databases.vendor == "postgresql"
        else not Path(target["NAME"]).exists()
    )
    assert not target_media.exists()


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(databases, tmp_path):
    media = tmp_path / "media"
    (media / "safety").mkdir(parents=True)
    (media / "safety" / "photo.jpg").write_bytes(b"the photo in the backup")
    folder = tmp_path / "backup"
    backup(folder, database=databases.source, media=media, say=lambda _: None)
    target, target_media = databases.new_target(), tmp_path / "target-media"
    restore(folder, database=target, media=target_media, say=lambda _: None)
    restored = databases.probe(target)
    with databases.connect(target) as db:  # life goes on in the restored database
        databases.run(db, "INSERT INTO probe_row (id, batch) VALUES (1000000, 1000000)")
    (target_media / "safety" / "new.jpg").write_bytes(b"taken after the restore")

    with pytest.raises(BackupError, match=r"is not empty \(\d+ tables\).*--force"):
        restore(folder, database=target, media=target_media, say=lambda _: None)
    assert databases.probe(target)[0] == restored[0] + 1  # untouched

    restore(folder, database=target, media=target_media, force=True, say=lambda _: None)
    assert databases.probe(target) == restored
    databases.integrity(target)
    assert (target_media / "safety" / "photo.jpg").read_bytes() == b"the photo in the backup"
    assert not (target_media / "safety" / "new.jpg").exists()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("target-media.before-restore-")]
    assert len(aside) == 1 and (aside[0] / "safety" / "new.jpg").exists()  # moved aside, not deleted


def _restored_then_changed(databases, tmp_path):
    """A backup with one photo, restored into a target that then lived on: one row and one photo more."""
    media = tmp_path / "media"
    (media / "safety").mkdir(parents=True)
    (media / "safety" / "photo.jpg").write_bytes(b"the photo in the backup")
    folder = tmp_path / "backup"
    backup(folder, database=databases.source, media=media, say=lambda _: None)
    target, target_media = databases.new_target(), tmp_path / "target-media"
    restore(folder, database=target, media=target_media, say=lambda _: None)
    with databases.connect(target) as db:
        databases.run(db, "INSERT INTO probe_row (id, batch) VALUES (1000000, 1000000)")
    (target_media / "safety" / "photo.jpg").write_bytes(b"edited after the restore")
    (target_media / "safety" / "new.jpg").write_bytes(b"taken after the restore")
    return folder, target, target_media, databases.probe(target)


def _unchanged(databases, tmp_path, target, target_media, probe) -> None:
    assert databases.probe(target) == probe
    databases.integrity(target)
    assert (target_media / "safety" / "photo.jpg").read_bytes() == b"edited after the restore"
    assert (target_media / "safety" / "new.jpg").read_bytes() == b"taken after the restore"
    leftovers = [p.name for p in tmp_path.iterdir() if "restoring" in p.name or "before-restore" in p.name]
    assert leftovers == []


@pytest.mark.parametrize("fault", ["media copy fails (disk full)", "restored database fails its checks"])
def test_a_forced_restore_that_fails_changes_neither_the_database_nor_the_media(
    databases, tmp_path, monkeypatch, fault
):
    """All or nothing across database and media: the media files are copied and verified before the database is
    touched; the database is restored aside (SQLite: a file next to it; PostgreSQL: one transaction) and checked
    before it replaces the old one."""
    folder, target, target_media, probe = _restored_then_changed(databases, tmp_path)
    if fault.startswith("media"):
        copy = backup_media._copy_hashed

        def disk_full(source, destination):
            if Path(source).is_relative_to(folder / "media"):
                raise OSError(errno.ENOSPC, "No space left on device", str(destination))
            return copy(source, destination)

        monkeypatch.setattr(backup_media, "_copy_hashed", disk_full)  # what _stage_media calls
        expected = r"No space left on device.*nothing restored"
    else:  # the manifest's row count no longer matches the database file (the manifest has no checksum)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["database"]["tables"]["probe_row"] += 1
        (folder / "manifest.json").write_text(json.dumps(manifest))
        expected = r"differs from the backup \(probe_row: \d+ rows, the backup says \d+\)"
    with pytest.raises(BackupError, match=expected):
        restore(folder, database=target, media=target_media, force=True, say=lambda _: None)
    _unchanged(databases, tmp_path, target, target_media, probe)


def test_postgresql_restore_commits_nothing_when_pg_restore_fails_after_its_output(
    databases, tmp_path, monkeypatch
):
    """psql would commit whatever it read once its input ends; a pg_restore that fails (here: after writing all
    its SQL) must leave the database as it was."""
    if databases.vendor != "postgresql":
        pytest.skip("pg_restore is PostgreSQL's")
    folder, target, target_media, probe = _restored_then_changed(databases, tmp_path)
    require = backup_postgres._require_tool
    failing = tmp_path / "bin" / "pg_restore"
    failing.parent.mkdir()
    failing.write_text(
        f'#!/bin/sh\n"{require("pg_restore")}" "$@" || exit\n'
        'echo "pg_restore: error: could not read from input file: end of file" >&2\nexit 1\n'
    )
    failing.chmod(0o755)
    monkeypatch.setattr(
        backup_postgres, "_require_tool", lambda name: str(failing) if name == "pg_restore" else require(name)
    )
    with pytest.raises(BackupError, match=r"pg_restore failed, nothing changed: .*end of file"):
        restore(folder, database=target, media=target_media, force=True, say=lambda _: None)
    _unchanged(databases, tmp_path, target, target_media, probe)


def test_sqlite_restore_refuses_a_database_in_use_and_keeps_the_replaced_one_aside(databases, tmp_path):
    if databases.vendor != "sqlite":
        pytest.skip("PostgreSQL replaces the schema in one transaction; nothing is kept aside")
    folder, target, target_media, probe = _restored_then_changed(databases, tmp_path)
    with databases.connect(target) as db:  # a server still running on it
        databases.run(db, "SELECT COUNT(*) FROM probe_row")
        with pytest.raises(BackupError, match=r"in use by another process.*stop `serve` and `ingest`"):
            restore(folder, database=target, media=target_media, force=True, say=lambda _: None)
    _unchanged(databases, tmp_path, target, target_media, probe)

    restore(folder, database=target, media=target_media, force=True, say=lambda _: None)
    assert databases.probe(target)[0] == probe[0] - 1
    aside = [
        p for p in tmp_path.iterdir() if p.name.startswith(Path(target["NAME"]).name + ".before-restore-")
    ]
    assert len(aside) == 1
    assert databases.probe({"NAME": str(aside[0])}) == probe  # the replaced database, whole
    assert not [p for p in tmp_path.iterdir() if "restoring" in p.name]


@pytest.mark.parametrize(
    "crafted",
    [
        "media/../headframe.sqlite3",
        "media/safety/../../headframe.sqlite3",
        "/ABSOLUTE/headframe.sqlite3",
        "extra",
    ],
)
def test_a_manifest_naming_a_file_outside_its_folder_is_refused(databases, tmp_path, crafted):
    """A crafted manifest must not make restore write outside the media folder (here: next to it, where the
    SQLite database lives). The file is really in the backup and its checksum is right."""
    media = tmp_path / "var" / "media"
    folder = tmp_path / "backup"
    backup(folder, database=databases.source, media=tmp_path / "no-media", say=lambda _: None)
    payload = b"not a database"
    if crafted.startswith("/"):
        crafted = str(tmp_path / "outside.bin")
        Path(crafted).write_bytes(payload)
    else:
        (folder / "headframe.sqlite3").write_bytes(payload)
        (folder / "extra").write_bytes(payload)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"].append(
        {"path": crafted, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"names a file outside"):
        verify(folder)
    target = databases.new_target()
    with pytest.raises(BackupError, match=r"names a file outside"):
        restore(folder, database=target, media=media, say=lambda _: None)
    assert not (tmp_path / "var").exists()
    assert (
        databases.tables(target) == 0
        if databases.vendor == "postgresql"
        else not Path(target["NAME"]).exists()
    )


def test_media_staging_refuses_a_path_that_leaves_its_folder(tmp_path):
    """The second line of defence, at copy time: even a list of files that skipped verify() stays in staging."""
    source = tmp_path / "backup"
    (source / "media").mkdir(parents=True)
    (source / "headframe.sqlite3").write_bytes(b"x")
    entry = {"path": "media/../headframe.sqlite3", "bytes": 1, "sha256": hashlib.sha256(b"x").hexdigest()}
    with pytest.raises(BackupError, match=r"names a file outside"):
        backup_module._stage_media(source, tmp_path / "var" / "media", [entry], "stamp", lambda _: None)
    # nothing written next to the media folder, no staging folder left
    assert list((tmp_path / "var").iterdir()) == []


def test_restore_refuses_a_backup_of_the_other_engine_or_from_newer_code(databases, tmp_path):
    folder = tmp_path / "backup"
    backup(folder, database=databases.source, media=tmp_path / "no-media", say=lambda _: None)
    path = folder / "manifest.json"
    original = json.loads(path.read_text())
    target = databases.new_target()

    newer = json.loads(path.read_text())
    newer["database"]["migrations"].append(["telemetry", "9999_from_a_newer_headframe"])
    path.write_text(json.dumps(newer))
    with pytest.raises(BackupError, match=r"from a newer headframe .*telemetry.9999_from_a_newer_headframe"):
        restore(folder, database=target, media=tmp_path / "m", say=lambda _: None)

    other = {**original, "database": {**original["database"]}}
    other["database"]["engine"] = "postgresql" if databases.vendor == "sqlite" else "sqlite"
    path.write_text(json.dumps(other))
    with pytest.raises(BackupError, match=rf"the backup is of a {other['database']['engine']} database"):
        restore(folder, database=target, media=tmp_path / "m", say=lambda _: None)


def test_backup_refuses_a_folder_that_is_not_empty_in_one_line(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    assert main(["backup", str(tmp_path / "old")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an empty folder" in err
    assert (tmp_path / "old" / "manifest.json").read_text() == "{}"


def _wait(predicate, timeout: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
