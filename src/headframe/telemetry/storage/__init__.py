"""Where readings are kept: the `ReadingStore` interface (`base`) and the backend this installation uses
(`HEADFRAME_READING_STORE`: `sql`, the default, or `victoriametrics` — see `victoria`)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from headframe.telemetry.storage.base import ReadingStore, Row, bucket_rows, merge_buckets
from headframe.telemetry.storage.sql import SqlReadingStore
from headframe.telemetry.storage.victoria import (
    CheckedKeys,
    RawReadings,
    VictoriaMetricsReadingStore,
    VictoriaMetricsUnavailable,
    ensure_shipper,
    history_copy,
)

__all__ = [
    "CheckedKeys",
    "RawReadings",
    "ReadingStore",
    "Row",
    "SqlReadingStore",
    "VictoriaMetricsReadingStore",
    "VictoriaMetricsUnavailable",
    "bucket_rows",
    "ensure_shipper",
    "history_copy",
    "merge_buckets",
    "reading_store",
]

_store: ReadingStore | None = None
_store_key: tuple[str, str, str] | None = None


def reading_store() -> ReadingStore:
    """The configured backend, made once per (database engine, backend, URL)."""
    global _store, _store_key
    key = (connection.vendor, settings.READING_STORE, settings.VICTORIAMETRICS_URL)
    if _store is None or _store_key != key:
        if settings.READING_STORE == "victoriametrics":
            _store = VictoriaMetricsReadingStore(settings.VICTORIAMETRICS_URL)
        else:
            _store = SqlReadingStore()
        _store_key = key
    return _store
