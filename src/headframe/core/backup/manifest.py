"""The manifest: checking a backup's files (sizes, SHA-256, paths that stay inside the backup) before a restore,
and a restored database's migrations and row counts against it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from headframe.core.backup.common import (
    DATABASE_FILES,
    FORMAT,
    MANIFEST,
    MEDIA_DIR,
    VERSION,
    BackupError,
    Manifest,
    _sha256,
)


def _compare(expected: Mapping[str, Any], migrations: list[list[str]], counts: dict[str, int]) -> None:
    if [list(m) for m in expected.get("migrations", [])] != migrations:
        raise BackupError("the restored database's migration state differs from the manifest")
    wrong = [
        f"{table}: {counts.get(table)} rows, the backup says {rows}"
        for table, rows in expected.get("tables", {}).items()
        if counts.get(table) != rows
    ]
    if wrong:
        raise BackupError(f"the restored database differs from the backup ({'; '.join(wrong[:3])})")


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


def _valid_state(entry: Mapping[str, Any]) -> bool:
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


def verify(source: Path) -> Manifest:
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
