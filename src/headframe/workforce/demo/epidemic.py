"""The workforce demo: epidemic."""

from __future__ import annotations

import datetime as dt


def load(*, now: dt.datetime | None = None) -> None:
    """Nothing yet."""
