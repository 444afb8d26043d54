"""Where readings are kept: the `ReadingStore` interface (`base`) and the backend this installation uses."""

from __future__ import annotations

from django.db import connection

from headframe.telemetry.storage.base import ReadingStore, Row, bucket_rows, merge_buckets
from headframe.telemetry.storage.sql import SqlReadingStore

__all__ = ["ReadingStore", "Row", "SqlReadingStore", "bucket_rows", "merge_buckets", "reading_store"]

_store: ReadingStore | None = None


def reading_store() -> ReadingStore:
    """The configured backend (only the SQL one exists; see the module docstring for a TSDB)."""
    global _store
    if _store is None or getattr(_store, "vendor", None) != connection.vendor:
        _store = SqlReadingStore()
    return _store
