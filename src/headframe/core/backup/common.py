"""What every part of backup and restore shares: the backup's file names, BackupError, where the database and
the media files are, and small file helpers."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeAlias, TypedDict

from django.conf import settings

FORMAT = "headframe-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
MEDIA_DIR = "media"
DATABASE_FILES = {"sqlite": SQLITE_FILE, "postgresql": PG_FILE}
CHUNK = 1024 * 1024

Manifest: TypeAlias = dict[str, Any]
"""manifest.json: format, version, created_at, finished_at, headframe_version, database (a DatabaseEntry),
media_root and files ({"path", "bytes", "sha256"} each) — as written, or as read back from JSON and verified."""


class DatabaseEntry(TypedDict):
    """The manifest's `database`: what was backed up, and its migration state and row counts then."""

    engine: str
    file: str
    server_version: str
    migrations: list[list[str]]
    tables: dict[str, int]


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
    def from_settings(cls, settings_dict: Mapping[str, Any] | None = None) -> Database:
        if settings_dict is None:
            settings_dict = settings.DATABASES["default"]
        config: Mapping[str, Any] = settings_dict
        engine = config["ENGINE"]
        if engine.endswith("sqlite3"):
            return cls("sqlite", str(config["NAME"]))
        if engine.endswith("postgresql"):
            return cls(
                "postgresql",
                str(config["NAME"]),
                config.get("USER") or "",
                config.get("PASSWORD") or "",
                config.get("HOST") or "",
                str(config.get("PORT") or ""),
                (config.get("OPTIONS") or {}).get("sslmode", ""),
            )
        raise BackupError(f"cannot back up a {engine} database (SQLite and PostgreSQL only)")

    # PostgreSQL: connection arguments for psycopg, environment for pg_dump, pg_restore and psql
    def connect_kwargs(self) -> dict[str, str]:
        names = {"dbname": self.name, "user": self.user, "password": self.password, "host": self.host}
        names |= {"port": self.port, "sslmode": self.sslmode}
        return {key: value for key, value in names.items() if value}

    def tool_env(self) -> dict[str, str]:
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

    return Path(settings.MEDIA_ROOT)


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

    try:
        return version("headframe")
    except PackageNotFoundError:
        return "unknown"


def _quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
