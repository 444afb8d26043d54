"""SQLite: a snapshot with the online backup API; a restore prepared next to the database and swapped in by a
rename."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headframe.core.backup.common import (
    SQLITE_FILE,
    BackupError,
    Database,
    DatabaseEntry,
    Manifest,
    _copy_hashed,
    _fsync,
    _quote_sqlite,
)
from headframe.core.backup.manifest import _compare


def _sqlite_connect(path: str | Path, **kwargs: Any) -> sqlite3.Connection:
    """A raw connection that knows Django's SQL functions (django_date_extract...): constraints and indexes made
    by migrations use them, and the integrity check evaluates them."""
    db: sqlite3.Connection = sqlite3.connect(path, **kwargs)
    try:
        # A private Django module: django-stubs does not cover it.
        from django.db.backends.sqlite3._functions import register  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the integrity check then names the missing function
        return db
    register(db)
    return db


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _sqlite_state(db: sqlite3.Connection) -> tuple[list[list[str]], dict[str, int]]:
    tables = _sqlite_tables(db)
    migrations: list[list[str]] = []
    if "django_migrations" in tables:
        migrations = [list(row) for row in db.execute("SELECT app, name FROM django_migrations ORDER BY id")]
    counts = {
        table: db.execute(f"SELECT COUNT(*) FROM {_quote_sqlite(table)}").fetchone()[0] for table in tables
    }
    return migrations, counts


def _sqlite_check(db: sqlite3.Connection) -> None:
    result = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"SQLite integrity check failed: {'; '.join(result[:3])}")
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise BackupError(
            f"SQLite foreign key check failed: {len(broken)} row(s), first in table {broken[0][0]}"
        )


def _backup_sqlite(database: Database, folder: Path, say: Callable[[str], None]) -> DatabaseEntry:
    source_path = Path(database.name)
    if database.name in ("", ":memory:") or not source_path.is_file():
        raise BackupError(f"no SQLite database file at {database.name!r}")
    partial = folder / (SQLITE_FILE + ".partial")
    say(f"copying {database.label()} with SQLite's online backup API")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=60)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # pages=-1: every page in one step, one read transaction: a snapshot
        finally:
            target.close()
    finally:
        source.close()
    target = _sqlite_connect(partial, isolation_level=None)
    try:
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        _sqlite_check(target)
        migrations, counts = _sqlite_state(target)
    finally:
        target.close()
    _fsync(partial)
    os.replace(partial, folder / SQLITE_FILE)
    return {
        "engine": "sqlite",
        "file": SQLITE_FILE,
        "server_version": sqlite3.sqlite_version,
        "migrations": migrations,
        "tables": counts,
    }


def _sqlite_is_empty(path: Path) -> int:
    """The number of tables in the SQLite database at path (0 when the file does not exist)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        return len(_sqlite_tables(db))
    finally:
        db.close()


def _sqlite_files(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it while it is open (WAL mode) or writing."""
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def _sqlite_remove(path: Path) -> None:
    for file in _sqlite_files(path):
        file.unlink(missing_ok=True)


def _sqlite_release(path: Path) -> None:
    """Make the main file at path the whole database, and refuse if another process has it open.

    Everything in the WAL is checkpointed into the main file; when the last connection closes, SQLite removes the
    -wal and -shm files. If they are still there after ours closed, another connection is open (a running serve
    or ingest): replacing the file under it would leave it writing into the replaced database, and a leftover WAL
    would be replayed onto the restored one."""
    if not path.exists():
        return
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # rolls back a crashed writer's journal
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    if busy := [file.name for file in _sqlite_files(path)[1:] if file.exists()]:
        raise BackupError(
            f"{path} is in use by another process ({busy[0]} is open): stop `serve` and `ingest` (every "
            "headframe process on this database) first; nothing restored"
        )


def _prepare_sqlite(
    database: Database, folder: Path, manifest: Manifest, stamp: str, say: Callable[[str], None]
) -> Path:
    """The backup's database as a new file next to the target (same folder: the swap is one rename), in WAL mode
    as headframe runs it, checked: integrity, foreign keys, migrations and row counts. The target is untouched."""
    target = Path(database.name)
    if database.name in ("", ":memory:"):
        raise BackupError("cannot restore into an in-memory SQLite database")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restoring-{stamp}")
    say(f"restoring {database.label()}: copying the database next to it and checking it")
    expected = next(f["sha256"] for f in manifest["files"] if f["path"] == SQLITE_FILE)
    try:
        try:
            _, digest = _copy_hashed(folder / SQLITE_FILE, temporary)
        except OSError as exc:
            raise BackupError(
                f"cannot copy the database next to {target} ({exc.strerror or exc}); nothing restored"
            ) from None
        if digest != expected:
            raise BackupError(f"{SQLITE_FILE} changed while it was restored; nothing restored")
        if target.exists():  # the replacement keeps the owner and mode of the database it replaces
            old = target.stat()
            os.chmod(temporary, old.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(temporary, old.st_uid, old.st_gid)
        db = _sqlite_connect(temporary, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # how headframe runs it; kept in the file's header
            _sqlite_check(db)
            migrations, counts = _sqlite_state(db)
        finally:
            db.close()  # the last connection: the WAL is checkpointed and removed
        _compare(manifest["database"], migrations, counts)
        _fsync(temporary)
    except BaseException:
        _sqlite_remove(temporary)
        raise
    return temporary


def _swap_sqlite(target: Path, prepared: Path, stamp: str) -> Path | None:
    """Put the prepared database in place with one atomic rename; the old one (if any) is renamed aside first and
    its name returned (put back if the rename fails)."""
    _sqlite_release(target)
    aside = None
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        os.replace(target, aside)
    try:
        os.replace(prepared, target)
    except BaseException:
        if aside is not None:
            os.replace(aside, target)
        raise
    _fsync(target.parent)
    return aside


def _unswap_sqlite(target: Path, aside: Path | None) -> None:
    if aside is not None:
        os.replace(aside, target)
    else:
        _sqlite_remove(target)
