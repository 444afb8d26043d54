"""Shared by the ingest worker's parts: options, the queued message, the planned steps, counters, the logger."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError

from headframe.telemetry.services import Batch
from headframe.telemetry.sparkplug import Death

log = logging.getLogger("headframe.telemetry.mqtt")  # one logger for the whole worker, named as before

JSON_PREFIX = "headframe/v1"
JSON_CHANNEL = "mqtt"
RETRYABLE = (OperationalError, InterfaceError)  # the database is unreachable or busy: retry, never ack
DATABASE_ERROR_ATTEMPTS = (
    5  # other database errors on one message: retried this often, then quarantined whole
)
GATEWAY_RELOAD_S = 30.0
GATEWAY_MISS_RETRY_S = 3.0
REBIRTH_EVERY_S = 10.0
BYTES_PER_READING = 60  # a reading in the JSON message format, roughly
LEGACY_SHARE_GROUP = "headframe"  # the default share group before plain subscriptions became the default


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    # "" (the default): a plain subscription the broker persists and queues for across its own restart. A name:
    # a shared subscription ($share/<name>/...) spreading the load over processes, which Mosquitto 2.0.x does
    # not persist (what is published between a broker restart and the re-subscription is dropped).
    share_group: str = ""
    topic_root: str = JSON_PREFIX  # JSON readings arrive on <root>/<site>/<gateway>/readings
    username: str = ""
    password: str = ""
    tls_cafile: str = ""  # set: connect over TLS, trusting this CA (the broker's TLS listener, e.g. 8883)
    max_batch: int = 200
    max_wait_ms: int = 20  # every message waits up to this for company: it adds to the alarm latency
    # A flush is also cut at about this many readings, and at what the last flushes stored in flush_target_ms
    # (the machine may be busy): an alarm candidate waits for at most one short flush.
    max_batch_readings: int = 50_000
    flush_target_ms: int = 100
    # With this many messages waiting, alarm candidates (with their gateway's earlier messages, in order) jump
    # the queue of other gateways' readings (0: never).
    fast_path_backlog: int = 2
    max_bytes: int = 1024 * 1024
    session_expiry_s: int = 86_400
    keepalive_s: int = 30
    reconnect_max_s: int = 30
    scan_every_s: float = 5.0
    log_every_s: float = 10.0
    retry_first_s: float = 0.5
    retry_max_s: float = 30.0
    ack_delay_ms: int = 0  # fault injection for tests: commit, then wait before acknowledging

    def __post_init__(self) -> None:
        if not self.client_id:
            self.client_id = f"headframe-ingest-{socket.gethostname()}"


@dataclass(slots=True)
class Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # which connection delivered it: an ack only makes sense on that connection
    received_ms: int
    body: object = None  # the JSON document, when the network thread already parsed it (see _on_message)


@dataclass
class _Ingest:
    channel: str
    items: list[tuple[Batch, Incoming]] = field(default_factory=list)
    attempts: int = 0  # database errors other than "unreachable" seen for this (single-message) step


@dataclass
class _Quarantine:
    gateway_code: str
    detail: str
    message: Incoming
    channel: str


@dataclass
class _Death:
    death: Death


class Stats:
    def __init__(self) -> None:
        self.total: Counter = Counter()
        self._last = Counter()
        self._last_at = time.monotonic()

    def add(self, **counts: int) -> None:
        self.total.update(counts)

    def line(self, queued: int) -> str:
        now = time.monotonic()
        span = max(now - self._last_at, 1e-6)
        delta = self.total - self._last
        self._last, self._last_at = Counter(self.total), now
        t = self.total
        return (
            f"{delta['messages'] / span:.1f} msg/s, {delta['stored'] / span:.0f} readings/s stored | total "
            f"{t['messages']} messages in {t['flushes']} flushes, {t['stored']} readings stored, "
            f"{t['duplicates']} duplicates, "
            f"{t['quarantined']} readings and {t['malformed']} messages quarantined, {t['db_retries']} database "
            f"retries | queue {queued}"
        )


def _printable(message: Incoming) -> str:
    """The payload as text for the quarantine — whole (it is at most --max-bytes), so it can be replayed."""
    head = message.payload
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(head).decode("ascii")  # binary (Sparkplug): whole, replayable


def _one_line(exc: BaseException) -> str:
    """Driver messages span lines (psycopg adds hints); a log line must stay one line for grep and journald."""
    return " ".join(str(exc).split())
