"""Lamp-room tag readers over MQTT (`headframe lamp-readers`): a reader at a mine's shaft or adit publishes each
tag it reads, this bridge checks the person in or out through the lamp-room services and answers the reader.

Topic `headframe/lamp/<site code>/<reader id>`, JSON `{"tag": "T-A1", "direction": "in"|"out",
"at": "2027-02-10T06:02:11+07:00", "seq": 17}`; the answer goes to `headframe/lamp/<site>/<reader>/result`
(QoS 1): `status` ok / refused / error, with every reason's code and Vietnamese text for the reader's display
(see docs/LAMP-ROOM-MQTT.md). A reader cannot override a refusal: that needs an overman at the terminal.

Reliability, as for telemetry ingest: a message is acknowledged (PUBACK, manual) only once it is handled and its
answer queued; with the database down nothing is acknowledged and the message is handled again later. Every
message gets an answer — a malformed payload or an unknown tag too — and none crashes the bridge. A message
seen twice (same reader and seq and payload, or the broker delivering it again after a restart: the same
person in or out at the same moment) is answered again (`duplicate: true`) and applied once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import paho.mqtt.client as mqtt
from django.db import DatabaseError, connection, connections
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from headframe.core.audit import channel
from headframe.core.errors import HeadframeError
from headframe.org.models import Unit, UnitKind
from headframe.telemetry.mqtt._common import RETRYABLE, Options, _one_line
from headframe.workforce.models import Presence
from headframe.workforce.services import check_in, check_out
from headframe.workforce.services._common import person, worker_by_tag

LAMP_ROOT = "headframe/lamp"
MAX_BYTES = 4096
TAG_MAX = 40
REMEMBERED = 10_000  # (site, reader, seq) answers kept for duplicates
LANGUAGE = "vi"  # what the readers' displays show
_LEVEL = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")  # a site code or reader id as a topic level
log = logging.getLogger("headframe.workforce.mqtt")


@dataclass(frozen=True)
class Reading:
    tag: str
    direction: str
    at: dt.datetime | None
    seq: int | None


class Refused(Exception):
    """The message cannot be handled as sent: (code, Vietnamese text) of each reason."""

    def __init__(self, *reasons: tuple[str, str]) -> None:
        super().__init__(", ".join(code for code, _text in reasons))
        self.reasons = list(reasons)


def result_topic(topic: str) -> str:
    return f"{topic}/result"


CLOCK_SKEW = dt.timedelta(minutes=2)  # how far ahead of the server a reader's clock may run


def _parse(payload: bytes) -> Reading:
    if len(payload) > MAX_BYTES:
        raise Refused(("too_large", _("The message is larger than %(n)d bytes.") % {"n": MAX_BYTES}))
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise Refused(("malformed", _("The message is not a JSON object.")))
    reasons = []
    tag = body.get("tag")
    if not isinstance(tag, str) or not tag.strip() or len(tag) > TAG_MAX:
        reasons.append(("tag", _("The tag number is missing or too long.")))
    direction = body.get("direction")
    if direction not in ("in", "out"):
        reasons.append(("direction", _('The direction must be "in" or "out".')))
    at = None
    raw_at = body.get("at")
    if raw_at is not None:
        try:
            at = dt.datetime.fromisoformat(raw_at) if isinstance(raw_at, str) else None
        except ValueError:
            at = None
        if at is None or timezone.is_naive(at):
            reasons.append(
                ("at", _("The time cannot be read: give it in ISO 8601 with its offset (+07:00)."))
            )
        elif at > timezone.now() + CLOCK_SKEW:
            # a reader whose clock runs ahead (local time sent as UTC) would check people in "later" and block
            # their check-out: refused, and the reader is told to set its clock (fail safe)
            reasons.append(("at", _("The time is in the future: set the reader's clock.")))
    seq = body.get("seq")
    if seq is not None and (seq.__class__ is not int or seq < 0):
        reasons.append(("seq", _("seq must be a whole number, 0 or more.")))
    if reasons:
        raise Refused(*reasons)
    return Reading(tag.strip(), direction, at, seq)


def _already(reading: Reading, site_code: str) -> Presence | None:
    """The same person in (or out) at the same mine at the same moment is already recorded: a message handled
    before (the broker delivered it again). Only with the reader's time: without it, every message is new."""
    if reading.at is None:
        return None
    site = Unit.objects.filter(code=site_code, kind=UnitKind.SITE).first()
    if site is None:
        return None
    try:
        worker = worker_by_tag(reading.tag, site)
    except HeadframeError:
        return None
    field = "checked_in_at" if reading.direction == "in" else "checked_out_at"
    return (
        Presence.objects.filter(worker=worker, site=site, **{field: reading.at})
        .select_related("worker")
        .first()
    )


def _ok(reading: Reading, presence: Presence, duplicate: bool) -> dict:
    who = person(presence.worker)
    text = (_("Checked in: %(person)s") if reading.direction == "in" else _("Checked out: %(person)s")) % {
        "person": who
    }
    at = presence.checked_in_at if reading.direction == "in" else presence.checked_out_at
    return {
        "status": "ok",
        "tag": reading.tag,
        "direction": reading.direction,
        "seq": reading.seq,
        "duplicate": duplicate,
        "at": at.isoformat() if at else None,
        "employee_no": presence.worker.employee_no,
        "full_name": presence.worker.full_name,
        "presence": presence.pk,
        "text": text,
        "reasons": [],
    }


def _answer(status: str, reading: Reading | None, reasons: list[tuple[str, str]], seq=None) -> dict:
    return {
        "status": status,
        "tag": reading.tag if reading else None,
        "direction": reading.direction if reading else None,
        "seq": reading.seq if reading else seq,
        "duplicate": False,
        "text": " ".join(text for _code, text in reasons),
        "reasons": [{"code": code, "text": text} for code, text in reasons],
    }


def _raw_seq(payload: bytes):
    """The seq of a message that cannot be handled, if it can be read at all (so the reader matches the answer)."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    seq = body.get("seq") if isinstance(body, dict) else None
    return seq if seq.__class__ is int else None


def handle(site_code: str, payload: bytes, *, now: dt.datetime | None = None) -> tuple[dict, bool]:
    """Check the person in or out as the reader says; returns (the answer, whether anything was written).
    Refusals of the lamp room (unknown tag, not rostered, training lapsed, health class, already underground,
    not underground…) are answered with every reason, in Vietnamese; nothing is overridden."""
    with translation.override(LANGUAGE):
        try:
            reading = _parse(payload)
        except Refused as refused:
            return _answer("error", None, refused.reasons, seq=_raw_seq(payload)), False
        done = _already(reading, site_code)
        if done is not None:
            return _ok(reading, done, duplicate=True), False
        service = check_in if reading.direction == "in" else check_out
        try:
            with channel("mqtt"):
                presence = service(actor=None, tag_no=reading.tag, site_code=site_code, at=reading.at or now)
        except HeadframeError as exc:
            reasons = [(item.type, item.as_dict(LANGUAGE)["msg"]) for item in exc.items]
            return _answer("refused", reading, reasons), False
        return _ok(reading, presence, duplicate=False), True


class _Answers:
    """The answers to the last REMEMBERED (site, reader, seq), with a digest of the payload: the same seq again
    with the same payload is a duplicate (answered again, not applied); with another payload, a reader that
    started counting again — handled as new."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str, int], tuple[bytes, dict]] = OrderedDict()

    def get(self, key, digest: bytes) -> dict | None:
        found = self._items.get(key)
        return found[1] if found is not None and found[0] == digest else None

    def put(self, key, digest: bytes, answer: dict) -> None:
        self._items[key] = (digest, answer)
        self._items.move_to_end(key)
        while len(self._items) > REMEMBERED:
            self._items.popitem(last=False)


@dataclass(slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class TagReaderBridge:
    """The MQTT client (paho's network thread only queues messages) and the handling of the queue: `run()` in a
    thread of its own, or `pump()` from a test's thread."""

    def __init__(self, options: Options, *, root: str = LAMP_ROOT) -> None:
        if options.client_id.startswith("headframe-ingest-"):
            options.client_id = f"headframe-lamp-readers-{socket.gethostname()}"
        self.options = options
        self.root = root.strip("/")
        self.queue: queue.Queue[_Message] = queue.Queue()
        self.answers = _Answers()
        self.stopping = threading.Event()
        self.subscribed = threading.Event()
        self._link = threading.Lock()
        self._generation = 0
        self._live: int | None = None
        self.handled = 0
        self.client = self._make_client()

    # ------------------------------------------------------------------ network (paho's thread)

    def _make_client(self) -> mqtt.Client:
        o = self.options
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=o.client_id, protocol=mqtt.MQTTv5)
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=o.reconnect_max_s)
        if o.username:
            client.username_pw_set(o.username, o.password or None)
        if o.tls_cafile:
            client.tls_set(ca_certs=o.tls_cafile)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start_network(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.options.session_expiry_s
        self.client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def close_network(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error(
                "broker %s:%s refused the connection: %s", self.options.host, self.options.port, reason_code
            )
            return
        with self._link:
            self._generation += 1
            self._live = self._generation
        client.subscribe([(f"{self.root}/+/+", SubscribeOptions(qos=1))])

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._link:
            self._live = None
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_code_list, properties) -> None:
        if any(rc.is_failure for rc in reason_code_list):
            log.error("the broker refused the subscription to %s/+/+", self.root)
            return
        self.subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        self.queue.put(_Message(msg.topic, msg.payload, msg.mid, msg.qos, self._generation))

    # ------------------------------------------------------------------ handling (one thread)

    def process(self, message: _Message) -> bool:
        """Handle one message, answer it and acknowledge it. False: the database is unavailable (nothing
        acknowledged: the broker keeps the message, handled again once the database is back)."""
        levels = message.topic.split("/")
        site, reader = (levels[-2], levels[-1]) if len(levels) >= 2 else ("", "")
        if not (_LEVEL.match(site) and _LEVEL.match(reader)):
            log.warning("message on %r ignored: not a lamp reader's topic", message.topic)
            self._ack(message)
            return True
        try:
            answer = self._answer_for(site, reader, message.payload)
        except RETRYABLE as exc:
            log.warning(
                "database unavailable (%s): message on %s kept for later", _one_line(exc), message.topic
            )
            if not connection.in_atomic_block:
                connection.close()
            return False
        except Exception:  # a bug must not stop the lamp room: the reader is told to use the terminal
            log.exception("message on %s could not be handled", message.topic)
            with translation.override(LANGUAGE):
                reason = ("internal", _("The lamp room could not record this: use the lamp-room terminal."))
            answer = _answer("error", None, [reason], seq=_raw_seq(message.payload))
        self.client.publish(result_topic(message.topic), orjson.dumps(answer), qos=1)
        self._ack(message)
        self.handled += 1
        return True

    def _answer_for(self, site: str, reader: str, payload: bytes) -> dict:
        seq = _raw_seq(payload)
        digest = hashlib.sha256(payload).digest()
        key = (site, reader, seq)
        if seq is not None and (known := self.answers.get(key, digest)) is not None:
            return {**known, "duplicate": True}
        answer, _written = handle(site, payload)
        if seq is not None and answer["status"] != "error":
            self.answers.put(key, digest, answer)
        return answer

    def _ack(self, message: _Message) -> None:
        with self._link:
            if message.qos and self._live is not None and message.generation == self._live:
                self.client.ack(message.mid, message.qos)

    def pump(self, until: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Handle queued messages in this thread until `until()` or the timeout (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.queue.get(timeout=0.05)
            except queue.Empty:
                message = None
            if message is not None and not self.process(message):
                self.queue.put(message)
                time.sleep(0.2)
            if until():
                return True
        return until()

    def run(self) -> None:
        """The handling thread: until stopped; a message the database could not take waits and comes again."""
        backoff = self.options.retry_first_s
        try:
            while not self.stopping.is_set():
                try:
                    message = self.queue.get(timeout=0.25)
                except queue.Empty:
                    continue
                if self.process(message):
                    backoff = self.options.retry_first_s
                    continue
                self.queue.put(message)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.options.retry_max_s)
        except DatabaseError:
            log.exception("the lamp-reader bridge stopped on a database error")
            raise
        finally:
            connections.close_all()
