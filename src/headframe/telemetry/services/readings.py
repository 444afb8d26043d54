"""What a message and a reading are, before any database: the batch as received, the result of its ingest,
the time stamp parsing and the checks on one value. No queries, no writes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from headframe.telemetry.directory import SensorInfo


@dataclass
class Batch:
    """One message: a gateway's readings as received (sensor code, ts, value), not yet validated."""

    gateway_code: str
    readings: Sequence[tuple]
    seq: int | None = None
    historical: bool = False  # store-and-forward values: stored, but never move live state or alarms
    channel: str = "http"


@dataclass
class IngestResult:
    gateway: str
    seq: int | None
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    quarantined: Counter = field(default_factory=Counter)
    alarms_raised: int = 0

    def as_dict(self) -> dict:
        return {
            "gateway": self.gateway,
            "seq": self.seq,
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "quarantined": dict(self.quarantined),
            "alarms_raised": self.alarms_raised,
        }


@dataclass
class _Bad:
    gateway: str
    sensor: str
    ts: object
    value: object
    reason: str
    detail: str = ""


def parse_ts(raw) -> int:
    """Epoch milliseconds from an ISO-8601 string with an offset, or from a number of epoch milliseconds."""
    if raw.__class__ is int:
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return int(raw)
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("not ISO-8601") from None
        if parsed.tzinfo is None:
            raise ValueError("ISO-8601 time needs a UTC offset (Z or +07:00)")
        return int(parsed.timestamp() * 1000)
    raise ValueError("expected ISO-8601 text or epoch milliseconds")


OVER, UNDER, NAN = "over", "under", "nan"  # doubtful readings: above the range, below it, not a number


def _int_value(value: int) -> float:
    """An integer reading as a float; one beyond any float (10**400) is no measurement: inf, refused below."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _not_a_number(info: SensorInfo, value) -> str:
    if value.__class__ is bool:
        return f"true/false is a reading of an on/off sensor (pump, fan) only, not of {info.kind}"
    if isinstance(value, str):
        return "a reading value is a JSON number, not text"
    return ""


def _stored_text(value, limit: int) -> str:
    """Text as received, safe to store: a NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding)
    are written as escapes, never an error that would make the whole flush fail."""
    text = value if isinstance(value, str) else str(value)
    text = text[:limit]
    if "\x00" in text or not text.isascii():
        text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")[:limit]
    return text
