"""`headframe backup DIR` and `headframe restore DIR`: the database, the media files and a manifest.

- SQLite is copied with SQLite's online backup API (`sqlite3.Connection.backup`, all pages in one step, so one
  read transaction): a consistent snapshot taken while the server and ingest keep writing (WAL mode lets them).
- PostgreSQL is dumped with `pg_dump --format=custom` inside a snapshot exported by a REPEATABLE READ
  transaction, the same snapshot the migration state and row counts of the manifest are read in; it is restored
  with `pg_restore` piped into `psql --single-transaction` (all or nothing).
- The media files (uploaded photos: MEDIA_ROOT, by default <var>/media) are copied after the database, so every
  file the database snapshot names is in the backup.
- `manifest.json` says when, which database engine, which migrations were applied, how many rows each table held,
  and the size and SHA-256 of every file. It is written last: a backup without it is incomplete.

A restore verifies every checksum before it touches anything and refuses a damaged or incomplete backup, a manifest
naming a file outside the backup's database file and media folder, a backup of the other engine or from a newer
headframe (migrations this code does not know), and a database or media folder that is not empty (unless `force`).
It is all or nothing across the database and the media files: the media files are copied and checked into a
staging folder next to the media folder first; SQLite is restored into a file next to the database, checked
(integrity, foreign keys, migrations and row counts against the manifest) and renamed into place, the old file
renamed aside (kept as `<name>.before-restore-<time>` when it held tables) — refused while another process has the
database open; PostgreSQL is restored in one transaction that runs the same checks before its COMMIT. Then the
staging folder is renamed into place, the old media folder aside (kept as `<media>.before-restore-<time>` when it
held files). A failure at any step leaves the database and the media folder as they were (PostgreSQL: up to the
commit; should the final rename of the media folder then fail, the error says where the restored files are).

Not in a backup: the settings (HEADFRAME_* environment, the secret key) and the MQTT broker's files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from headframe.core.backup.common import (
    DATABASE_FILES,
    FORMAT,
    MANIFEST,
    MEDIA_DIR,
    VERSION,
    BackupError,
    Database,
    Manifest,
    _copy_hashed,
    _fsync,
    _headframe_version,
    _media_files,
    _say,
    _sha256,
    media_root,
)
from headframe.core.backup.manifest import verify
from headframe.core.backup.media import _stage_media, _swap_media
from headframe.core.backup.postgres import _backup_postgresql, _pg_table_count, _restore_postgresql
from headframe.core.backup.sqlite import (
    _backup_sqlite,
    _prepare_sqlite,
    _sqlite_is_empty,
    _sqlite_release,
    _sqlite_remove,
    _swap_sqlite,
    _unswap_sqlite,
)
from headframe.core.schema_guard import known_migrations


def backup(
    target: Path,
    *,
    database: Mapping[str, Any] | Database | None = None,
    media: Path | None = None,
    say: Callable[[str], None] = _say,
) -> Manifest:
    """Write a backup into `target` (a new or empty folder) and return its manifest."""
    db = database if isinstance(database, Database) else Database.from_settings(database)
    media = media_root() if media is None else media
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder: back up into a new one")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)  # the backup holds every account's data
    started = dt.datetime.now(dt.UTC)
    say(
        f"backing up {db.label()} and the media files in {media} into {target}"
    )  # before the database is read
    if db.engine == "sqlite":
        database_entry = _backup_sqlite(db, target, say)
    else:
        database_entry = _backup_postgresql(db, target, say)
    files = [
        {
            "path": database_entry["file"],
            "bytes": (target / database_entry["file"]).stat().st_size,
            "sha256": _sha256(target / database_entry["file"]),
        }
    ]
    media_files = _media_files(media)
    if media_files:
        say(f"copying {len(media_files)} media file(s) from {media}")
    for path in media_files:
        relative = path.relative_to(media).as_posix()
        size, digest = _copy_hashed(path, target / MEDIA_DIR / relative)
        files.append({"path": f"{MEDIA_DIR}/{relative}", "bytes": size, "sha256": digest})
    manifest: Manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "headframe_version": _headframe_version(),
        "database": database_entry,
        "media_root": str(media),
        "files": files,
    }
    partial = target / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    _fsync(partial)
    os.replace(partial, target / MANIFEST)  # last: a folder without a manifest is an incomplete backup
    _fsync(target)
    return manifest


def restore(
    source: Path,
    *,
    database: Mapping[str, Any] | Database | None = None,
    media: Path | None = None,
    force: bool = False,
    say: Callable[[str], None] = _say,
) -> Manifest:
    """Restore a verified backup into the configured (empty, or with force: replaced) database and media folder,
    all or nothing: the media files are copied and verified into a staging folder first, then the database is
    restored aside and checked (SQLite: a file next to it; PostgreSQL: one transaction that commits only after the
    checks) and only then put in place, and the media folder swapped in by a rename. On any failure the database
    and the media folder are left as they were."""

    db = database if isinstance(database, Database) else Database.from_settings(database)
    media = media_root() if media is None else Path(media)
    source = Path(source)
    say(f"verifying {source}")
    manifest = verify(source)
    engine = manifest["database"]["engine"]
    if engine != db.engine:
        raise BackupError(f"the backup is of a {engine} database; the configured one is {db.label()}")
    if manifest["database"]["file"] != DATABASE_FILES[engine]:
        raise BackupError(f"{source / MANIFEST} is damaged (database entry)")
    if db.engine == "sqlite" and db.name in ("", ":memory:"):
        raise BackupError("cannot restore into an in-memory SQLite database")
    unknown = sorted(f"{app}.{name}" for app, name in manifest["database"].get("migrations", []))
    unknown = [m for m in unknown if tuple(m.split(".", 1)) not in known_migrations()]
    if unknown:
        raise BackupError(
            f"the backup comes from a newer headframe ({len(unknown)} migration(s) this version does not know, "
            f"e.g. {unknown[0]}): restore it with that version"
        )
    tables = _sqlite_is_empty(Path(db.name)) if db.engine == "sqlite" else _pg_table_count(db)
    if tables and not force:
        raise BackupError(
            f"{db.label()} is not empty ({tables} tables): restore into an empty database, or use --force to "
            "replace its content"
        )
    media_in_backup = [f for f in manifest["files"] if f["path"].startswith(MEDIA_DIR + "/")]
    media_present = bool(_media_files(media))
    if media_present and not force:
        raise BackupError(f"{media} holds files: restore into an empty media folder, or use --force")
    if db.engine == "sqlite":
        _sqlite_release(Path(db.name))  # refuse a database in use now, not after copying everything
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")

    # 1. Everything that can fail for lack of space or a bad file happens aside; nothing is touched yet.
    staging = None
    if media_in_backup or media_present:
        staging = _stage_media(source, media, media_in_backup, stamp, say)
    prepared = None
    try:
        if db.engine == "sqlite":
            prepared = _prepare_sqlite(db, source, manifest, stamp, say)
            # 2. The database: one rename (SQLite) or one transaction (PostgreSQL).
            database_aside = _swap_sqlite(Path(db.name), prepared, stamp)
            prepared = None
        else:
            _restore_postgresql(db, source, manifest, bool(tables), say)
            database_aside = None
    except BaseException:
        if prepared is not None:
            _sqlite_remove(prepared)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    # 3. The media folder: renames.
    media_aside = None
    if staging is not None:
        try:
            media_aside = _swap_media(staging, media, stamp)
        except OSError as exc:
            if db.engine != "sqlite":
                raise BackupError(
                    f"the database was restored, but {media} could not be replaced ({exc}): the restored media "
                    f"files are in {staging}; move them there by hand"
                ) from None
            _unswap_sqlite(Path(db.name), database_aside)
            shutil.rmtree(staging, ignore_errors=True)
            raise BackupError(f"cannot replace {media} ({exc}); nothing restored") from None
    # 4. What was replaced: kept aside when it held anything, otherwise removed.
    if database_aside is not None:
        if tables:
            say(f"the database that was there is kept in {database_aside}")
        else:
            _sqlite_remove(database_aside)
    if media_aside is not None:
        if media_present:
            say(f"the media files that were there are kept in {media_aside}")
        else:
            shutil.rmtree(media_aside)  # only empty folders in it
    return manifest


__all__ = ["BackupError", "Database", "backup", "media_root", "restore", "verify"]
