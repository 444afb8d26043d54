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

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FORMAT = "headframe-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
MEDIA_DIR = "media"
DATABASE_FILES = {"sqlite": SQLITE_FILE, "postgresql": PG_FILE}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A refused backup or restore: one clear line for the command to print."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- where things are


@dataclass(frozen=True)
class Database:
    engine: str  # "sqlite" or "postgresql"
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    sslmode: str = ""

    @classmethod
    def from_settings(cls, settings_dict: dict | None = None) -> Database:
        if settings_dict is None:
            from django.conf import settings

            settings_dict = settings.DATABASES["default"]
        engine = settings_dict["ENGINE"]
        if engine.endswith("sqlite3"):
            return cls("sqlite", str(settings_dict["NAME"]))
        if engine.endswith("postgresql"):
            return cls(
                "postgresql",
                str(settings_dict["NAME"]),
                settings_dict.get("USER") or "",
                settings_dict.get("PASSWORD") or "",
                settings_dict.get("HOST") or "",
                str(settings_dict.get("PORT") or ""),
                (settings_dict.get("OPTIONS") or {}).get("sslmode", ""),
            )
        raise BackupError(f"cannot back up a {engine} database (SQLite and PostgreSQL only)")

    # PostgreSQL: connection arguments for psycopg, environment for pg_dump, pg_restore and psql
    def connect_kwargs(self) -> dict:
        names = {"dbname": self.name, "user": self.user, "password": self.password, "host": self.host}
        names |= {"port": self.port, "sslmode": self.sslmode}
        return {key: value for key, value in names.items() if value}

    def tool_env(self) -> dict:
        env = dict(os.environ)
        for key, value in (
            ("PGDATABASE", self.name),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGHOST", self.host),
            ("PGPORT", self.port),
            ("PGSSLMODE", self.sslmode),
        ):
            if value:
                env[key] = value
        return env

    def label(self) -> str:
        if self.engine == "sqlite":
            return f"SQLite {self.name}"
        return f"PostgreSQL {self.name} on {self.host or 'localhost'}:{self.port or 5432}"


def media_root() -> Path:
    """Where uploads live: MEDIA_ROOT, or <var>/media as the safety app stores its photos."""
    from django.conf import settings

    return Path(getattr(settings, "MEDIA_ROOT", "") or (Path(settings.VAR_DIR) / "media"))


# ---------------------------------------------------------------------- small helpers


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy a file, hashing what was written; fsync it. Returns (bytes, sha256)."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copystat(source, target)
    return size, digest.hexdigest()


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _one_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "error" in line or "FATAL" in line]
    return " ".join((errors or lines)[:2])[:500]


def _headframe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headframe")
    except PackageNotFoundError:
        return "unknown"


def _quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------- SQLite


def _sqlite_connect(path, **kwargs) -> sqlite3.Connection:
    """A raw connection that knows Django's SQL functions (django_date_extract...): constraints and indexes made
    by migrations use them, and the integrity check evaluates them."""
    db = sqlite3.connect(path, **kwargs)
    try:
        from django.db.backends.sqlite3._functions import register
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


def _backup_sqlite(database: Database, folder: Path, say: Callable[[str], None]) -> dict:
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
    database: Database, folder: Path, manifest: dict, stamp: str, say: Callable[[str], None]
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


# ---------------------------------------------------------------------- PostgreSQL


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


def _pg_state(conn) -> tuple[list[list[str]], dict[str, int]]:
    from psycopg import sql

    tables = conn.execute(PG_TABLES).fetchall()
    migrations: list[list[str]] = []
    if conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0] is not None:
        migrations = [
            list(row) for row in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")
        ]
    counts = {}
    for schema, table in tables:
        name = table if schema == "public" else f"{schema}.{table}"
        query = sql.SQL("SELECT COUNT(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[name] = conn.execute(query).fetchone()[0]
    return migrations, counts


def _pg_connect(database: Database, **kwargs):
    import psycopg

    try:
        return psycopg.connect(**database.connect_kwargs(), **kwargs)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to {database.label()}: {_one_line(str(exc))}") from None


def _backup_postgresql(database: Database, folder: Path, say: Callable[[str], None]) -> dict:
    import psycopg

    pg_dump = _require_tool("pg_dump")
    _require_tool("pg_restore")
    partial = folder / (PG_FILE + ".partial")
    with _pg_connect(database) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            # pg_dump reads in the snapshot this transaction exports: the dump, the migration state and the row
            # counts below describe one and the same moment, whatever the server and ingest write meanwhile.
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
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


def _pg_check_sql(expected: dict) -> str:
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
    database: Database, folder: Path, manifest: dict, replace: bool, say: Callable[[str], None]
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
        psql_stopped = False
        try:
            while chunk := producer.stdout.read(CHUNK):
                consumer.stdin.write(chunk)
        except BrokenPipeError:  # psql stopped at an error: it says which
            psql_stopped = True
        except BaseException:
            consumer.kill()
            producer.kill()
            raise
        finally:
            producer.stdout.close()  # pg_restore sees EPIPE if psql stopped
        producer_rc = producer.wait()
        if producer_rc != 0 and not psql_stopped:
            consumer.kill()  # before psql reads the end of its input: nothing is committed
            consumer.wait()
            restore_err.seek(0)
            message = _one_line(restore_err.read().decode(errors="replace"))
            raise BackupError(f"pg_restore failed, nothing changed: {message}")
        with contextlib.suppress(BrokenPipeError):
            consumer.stdin.close()
        consumer_rc = consumer.wait()
        if consumer_rc != 0 or producer_rc != 0:
            psql_out.seek(0)
            raise BackupError(f"restore failed, nothing changed (psql: {_psql_message(psql_out.read())})")
    with _pg_connect(database, autocommit=True) as conn:
        say("analysing the restored tables")
        conn.execute("ANALYZE")


# ---------------------------------------------------------------------- both


def _compare(expected: dict, migrations: list[list[str]], counts: dict[str, int]) -> None:
    if [list(m) for m in expected.get("migrations", [])] != migrations:
        raise BackupError("the restored database's migration state differs from the manifest")
    wrong = [
        f"{table}: {counts.get(table)} rows, the backup says {rows}"
        for table, rows in expected.get("tables", {}).items()
        if counts.get(table) != rows
    ]
    if wrong:
        raise BackupError(f"the restored database differs from the backup ({'; '.join(wrong[:3])})")


def backup(
    target: Path,
    *,
    database: dict | Database | None = None,
    media: Path | None = None,
    say: Callable[[str], None] = _say,
) -> dict:
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
    manifest = {
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


def _inside(path: Path, folder: Path) -> bool:
    """path (resolved) lies strictly inside folder (resolved): no `..`, no symbolic link leads out."""
    return folder.resolve() in path.resolve().parents


def _clean_relative(name: str) -> bool:
    """A relative POSIX path of plain names: not absolute, no `..` or `.`, no empty part, no backslash or NUL."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _member_folder(source: Path, name: str, database_file: str) -> Path | None:
    """The folder of the backup a manifest entry must stay in: the backup itself for the database file, `media`
    for everything else. None for a name that is not a plain relative path, or names neither."""
    if not _clean_relative(name):
        return None
    if name == database_file:
        return source
    if name.startswith(MEDIA_DIR + "/"):
        return source / MEDIA_DIR
    return None


def _valid_state(entry: dict) -> bool:
    migrations, tables = entry.get("migrations", []), entry.get("tables", {})
    return (
        isinstance(migrations, list)
        and all(
            isinstance(m, list) and len(m) == 2 and all(isinstance(part, str) for part in m)
            for m in migrations
        )
        and isinstance(tables, dict)
        and all(
            isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0 for rows in tables.values()
        )
    )


def verify(source: Path) -> dict:
    """The backup's manifest, after checking every file's size and SHA-256; BackupError if anything is off,
    including a file the manifest names outside its folder (absolute, with `..`, or through a link)."""
    source = Path(source)
    if not source.is_dir():
        raise BackupError(f"{source} is not a folder")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: not a headframe backup, or an incomplete one")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is damaged (not JSON: {exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a headframe backup manifest")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"backup format version {manifest.get('version')!r} is not supported (this reads {VERSION})"
        )
    try:
        files = [(str(f["path"]), int(f["bytes"]), str(f["sha256"])) for f in manifest["files"]]
        engine, database_file = manifest["database"]["engine"], manifest["database"]["file"]
        valid_state = _valid_state(manifest["database"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupError(f"{path} is damaged (fields missing)") from None
    if not valid_state:
        raise BackupError(f"{path} is damaged (migrations or row counts)")
    if (
        engine not in DATABASE_FILES
        or database_file not in DATABASE_FILES.values()
        or database_file not in {f[0] for f in files}
    ):
        raise BackupError(f"{path} is damaged (database entry)")
    for name, _, _ in files:
        folder = _member_folder(source, name, database_file)
        if folder is None or not _inside(source / name, folder):
            raise BackupError(
                f"{path} names a file outside the backup's database file and media folder: {name!r}"
            )
    problems = []
    for name, size, digest in files:
        file = source / name
        if not file.is_file():
            problems.append(f"{name} is missing")
        elif file.stat().st_size != size:
            problems.append(f"{name} has {file.stat().st_size} bytes, the manifest says {size}")
        elif _sha256(file) != digest:
            problems.append(f"{name} fails its SHA-256 check")
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise BackupError(f"backup {source} is damaged: {'; '.join(problems[:3])}{more}; nothing restored")
    return manifest


def restore(
    source: Path,
    *,
    database: dict | Database | None = None,
    media: Path | None = None,
    force: bool = False,
    say: Callable[[str], None] = _say,
) -> dict:
    """Restore a verified backup into the configured (empty, or with force: replaced) database and media folder,
    all or nothing: the media files are copied and verified into a staging folder first, then the database is
    restored aside and checked (SQLite: a file next to it; PostgreSQL: one transaction that commits only after the
    checks) and only then put in place, and the media folder swapped in by a rename. On any failure the database
    and the media folder are left as they were."""
    from headframe.core.schema_guard import known_migrations

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


def _stage_media(source: Path, media: Path, files: list[dict], stamp: str, say) -> Path:
    """The backup's media files copied into a staging folder next to the media folder (same file system: the
    swap is a rename), each checked against its SHA-256 as it is written. Nothing else is touched; on a failure
    (a full disk) the staging folder is removed and BackupError raised."""
    media.parent.mkdir(parents=True, exist_ok=True)
    staging = media.parent / f".{media.name}.restoring-{stamp}"
    staging.mkdir()
    say(f"copying {len(files)} media file(s) into {staging}")
    try:
        for entry in files:
            name = entry["path"]
            relative = name[len(MEDIA_DIR) + 1 :]
            origin, copy = source / name, staging / relative
            if not (
                name.startswith(MEDIA_DIR + "/")
                and _clean_relative(relative)
                and _inside(origin, source / MEDIA_DIR)
                and _inside(copy, staging)
            ):
                raise BackupError(
                    f"the manifest names a file outside the media folder: {name!r}; nothing restored"
                )
            _, digest = _copy_hashed(origin, copy)
            if digest != entry["sha256"]:
                raise BackupError(f"{name} changed while it was restored; nothing restored")
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        where = f": {exc.filename}" if exc.filename else ""
        raise BackupError(
            f"cannot copy the media files ({exc.strerror or exc}{where}); nothing restored"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync(staging)
    return staging


def _swap_media(staging: Path, media: Path, stamp: str) -> Path | None:
    """The staged folder in place of the media folder; the old folder (if any) renamed aside and returned."""
    aside = None
    if media.exists() or media.is_symlink():
        aside = media.parent / f"{media.name}.before-restore-{stamp}"
        os.replace(media, aside)
    try:
        os.replace(staging, media)
    except BaseException:
        if aside is not None:
            os.replace(aside, media)
        raise
    _fsync(media.parent)
    return aside


__all__ = ["BackupError", "Database", "backup", "media_root", "restore", "verify"]
