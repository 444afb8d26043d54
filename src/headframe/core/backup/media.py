"""The media files on restore: copied and checked into a staging folder, then swapped in by a rename."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headframe.core.backup.common import MEDIA_DIR, BackupError, _copy_hashed, _fsync
from headframe.core.backup.manifest import _clean_relative, _inside


def _stage_media(
    source: Path, media: Path, files: list[dict[str, Any]], stamp: str, say: Callable[[str], None]
) -> Path:
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
