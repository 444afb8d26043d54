"""`headframe ingest`: subscribe to the MQTT broker and store telemetry (headframe JSON and Sparkplug B).

Reliability rests on three rules:
- a message is acknowledged (PUBACK) only after `services.ingest` committed its readings, or after a message
  that cannot be parsed was stored in the quarantine; if the database is down nothing is acknowledged and the
  flush is retried with backoff, so the broker keeps every message until it is stored;
- the MQTT session is persistent (MQTT 5, clean start off, session expiry): messages published while this
  process is stopped or restarting wait in the broker, and unacknowledged ones are delivered again;
- ingest is idempotent on (sensor, ts): a message delivered twice (stored, then the process died before the
  acknowledgement) is counted as duplicates and stored once.

The network thread (paho `loop_start`, reconnecting by itself) only puts messages on a queue; one worker thread
takes up to --max-batch messages or waits --max-wait-ms, calls `services.ingest` once for them (one transaction)
and then acknowledges them. By default the subscription is plain (not shared): the broker persists it with the
session and queues for it across its own restart, so an acknowledged reading is never lost. Several processes can
share the load through an opt-in shared subscription (`--share-group NAME`: `$share/<group>/...`), at a price:
Mosquitto (2.0.x) does not persist shared subscriptions and drops what gateways publish to the group after a
broker restart until a member subscribes again (measured: 14 000 of 100 000 acknowledged readings). Sparkplug
births are subscribed to without sharing, so every process knows every alias. Every few seconds the worker also
raises "no data" alarms (`stale_scan`) and ends expired shelving.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import paho.mqtt.client as mqtt
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from headframe.notify.worker import start_notifier
from headframe.telemetry import services
from headframe.telemetry.api import readings_tuples
from headframe.telemetry.directory import directory
from headframe.telemetry.models import Gateway, Sensor
from headframe.telemetry.services import Batch
from headframe.telemetry.sparkplug import NAMESPACE, Death, SparkplugDecoder, rebirth_request
from headframe.telemetry.watchdog import watchdog_tick

log = logging.getLogger(__name__)

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
            f"{t['messages']} messages, {t['stored']} readings stored, {t['duplicates']} duplicates, "
            f"{t['quarantined']} readings and {t['malformed']} messages quarantined, {t['db_retries']} database "
            f"retries | queue {queued}"
        )


class IngestWorker:
    """The MQTT client, the message queue and the worker that stores and acknowledges.

    `run()` is the worker thread's loop; tests drive `pump()` from their own thread instead."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.queue: queue.Queue[Incoming] = queue.Queue()
        # Messages that may raise an alarm, taken before the bulk queue when ingest is behind (the fast path).
        self.urgent: queue.Queue[Incoming] = queue.Queue()
        # Bytes of messages per flush: what the recent flushes stored in flush_target_ms, so that an alarm
        # candidate waits for one short flush however busy the machine is (~60 bytes of JSON per reading).
        self._flush_bytes = options.max_batch_readings * BYTES_PER_READING
        self.stats = Stats()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self._generation = 0
        self._link = threading.Lock()  # orders acknowledgements against (re)connections
        self._live_generation: int | None = None  # None while disconnected
        self._pending_subscribe: set[int] = set()
        self._gateways: dict[str, str] = {}  # code -> site code
        self._nodes: dict[tuple[str, str], str] = {}  # (sparkplug group, node) -> gateway code
        self._gateways_at = 0.0
        self._gateway_miss_at = 0.0
        self._rebirth_asked: dict[tuple[str, str], float] = {}
        self.decoder = SparkplugDecoder(self._gateway_for_node)
        self.client = self._make_client()

    # ------------------------------------------------------------------ network thread

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
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def subscriptions(self) -> list[tuple[str, SubscribeOptions]]:
        # An empty group subscribes plainly: one ingest process, but a subscription every broker persists
        # (Mosquitto 2.0.11 does not restore shared subscriptions from its persistence file after a restart).
        share = f"$share/{self.options.share_group}/" if self.options.share_group else ""
        qos1 = SubscribeOptions(qos=1)
        return [
            (f"{share}{self.options.topic_root}/+/+/readings", qos1),
            (f"{share}{NAMESPACE}/+/NDATA/#", qos1),
            (f"{share}{NAMESPACE}/+/DDATA/#", qos1),
            (f"{share}{NAMESPACE}/+/NDEATH/#", qos1),
            (f"{share}{NAMESPACE}/+/DDEATH/#", qos1),
            # Births go to every ingest process, so each one can resolve the aliases of any data message.
            (f"{NAMESPACE}/+/NBIRTH/#", qos1),
            (f"{NAMESPACE}/+/DBIRTH/#", qos1),
        ]

    def stale_subscriptions(self) -> list[str]:
        """Filters a resumed session may still hold from the other mode (an upgrade from the former default
        group `headframe`, or a switch between plain and shared): unsubscribed right after subscribing (never
        before: what is published in between would be dropped), so that every message is not delivered twice.
        Births are the same in both modes and stay."""
        current = [topic for topic, _ in self.subscriptions()]
        plain = [topic.split("/", 2)[2] if topic.startswith("$share/") else topic for topic in current]
        data = [topic for topic in plain if "/NBIRTH/" not in topic and "/DBIRTH/" not in topic]
        candidates = [*data, *(f"$share/{LEGACY_SHARE_GROUP}/{topic}" for topic in data)]
        return [topic for topic in candidates if topic not in current]

    def start_network(self) -> None:
        o = self.options
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = o.session_expiry_s
        props.ReceiveMaximum = min(65_535, max(20, 2 * o.max_batch))  # a full batch in flight, and the next
        self.client.connect_async(
            o.host, o.port, keepalive=o.keepalive_s, clean_start=False, properties=props
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
            self._live_generation = self._generation
        log.info(
            "connected to %s:%s as %s (%s)",
            self.options.host,
            self.options.port,
            self.options.client_id,
            "session resumed" if flags.session_present else "new session",
        )
        self.connected.set()
        result, mid = client.subscribe(self.subscriptions())
        if result == mqtt.MQTT_ERR_SUCCESS:
            self._pending_subscribe = {mid}
        if flags.session_present and (stale := self.stale_subscriptions()):
            # After the SUBSCRIBE, in order: in between, a message matches both filters and comes twice (ingest
            # stores it once); the other way round, the broker would drop what matched neither in between.
            client.unsubscribe(stale)

    def _on_connect_fail(self, client, userdata) -> None:
        log.warning("cannot reach the broker at %s:%s; retrying", self.options.host, self.options.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._link:
            # From now on no acknowledgement is queued until the next connection is up: paho drops what is
            # queued when it reconnects, and a stale PUBACK must never reach the new connection.
            self._live_generation = None
        self.connected.clear()
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_code_list, properties) -> None:
        refused = [str(rc) for rc in reason_code_list if rc.is_failure]
        if refused:
            log.error("the broker refused subscriptions: %s", ", ".join(refused))
        self._pending_subscribe.discard(mid)
        if not self._pending_subscribe:
            log.info("subscribed (share group %s)", self.options.share_group or "none: plain subscription")
            self.subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        incoming = Incoming(
            msg.topic, msg.payload, msg.mid, msg.qos, self._generation, int(time.time() * 1000)
        )
        backlog = self.options.fast_path_backlog
        try:
            urgent = bool(backlog) and self.queue.qsize() >= backlog and self._may_alarm(incoming)
        except Exception:  # never let a strange message stop the network thread: the worker quarantines it
            incoming.body, urgent = None, False
        if not urgent:
            self.queue.put(incoming)
            return
        # The gateway's messages still waiting go with it, in their order: its sensors' readings are evaluated
        # in time order (a trip in an earlier message still latches), only other gateways' backlog waits.
        with self.queue.mutex:
            waiting = self.queue.queue
            earlier = [m for m in waiting if m.topic == incoming.topic]
            if earlier:
                self.queue.queue = type(waiting)(m for m in waiting if m.topic != incoming.topic)
        for message in (*earlier, incoming):
            self.urgent.put(message)

    def _may_alarm(self, incoming: Incoming) -> bool:
        """The fast path's sorting, only while ingest is behind: a JSON message with a reading beyond one of its
        sensor's high/low limits or outside its range, or not a number, may raise an
        alarm — it must not wait behind the backlog of bulk readings. The JSON is parsed here once and
        kept for the worker; the sensor directory is read as loaded (never reloaded from this thread)."""
        topic = incoming.topic
        if topic.startswith(NAMESPACE + "/"):
            return False  # Sparkplug keeps its order: a death must never overtake the data sent before it
        if len(incoming.payload) > self.options.max_bytes or not topic.startswith(
            self.options.topic_root + "/"
        ):
            return False
        try:
            body = orjson.loads(incoming.payload)
        except orjson.JSONDecodeError:
            return False
        incoming.body = body
        readings = body.get("readings") if isinstance(body, dict) else None
        if not isinstance(readings, list):
            return False
        known = directory.peek()
        for reading in readings:
            if not isinstance(reading, dict):
                continue
            info = known.get(reading.get("sensor"))
            if info is None:
                continue
            value = reading.get("value")
            if value.__class__ is not float and value.__class__ is not int:
                return True  # not a number: a sensor fault
            if (
                value >= info.alert_high
                or value <= info.alert_low
                or not info.range_min <= value <= info.range_max
            ):
                return True
        return False

    # ------------------------------------------------------------------ worker thread

    def collect(self, timeout: float) -> list[Incoming]:
        """Up to max_batch messages (and about max_batch_readings readings): alarm candidates first, alone and
        at once; else wait `timeout` for the first, then at most max_wait_ms for the rest."""
        urgent = self._drain(self.urgent)
        if urgent:
            return urgent
        try:
            first = self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait()
        except queue.Empty:
            return self._drain(self.urgent)
        messages = [first]
        budget = self._flush_bytes
        size = len(first.payload)
        deadline = time.monotonic() + self.options.max_wait_ms / 1000
        while len(messages) < self.options.max_batch and size < budget and self.urgent.empty():
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    message = self.queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if self._after_urgent(message):
                self.urgent.put(
                    message
                )  # it came after an alarm candidate of its gateway: it stays behind it
                break
            messages.append(message)
            size += len(message.payload)
        return messages

    def _after_urgent(self, message: Incoming) -> bool:
        """An alarm candidate of this message's gateway jumped the queue while we were taking this message."""
        if self.urgent.empty():
            return False
        with self.urgent.mutex:
            return any(waiting.topic == message.topic for waiting in self.urgent.queue)

    def _adapt(self, size: int, seconds: float) -> None:
        """Move the flush size towards what this flush's speed stores in flush_target_ms (smoothed)."""
        o = self.options
        if seconds <= 0 or size < BYTES_PER_READING * 100:
            return  # too small to say anything about the speed
        wanted = size / seconds * o.flush_target_ms / 1000
        ceiling = o.max_batch_readings * BYTES_PER_READING
        smoothed = 0.7 * self._flush_bytes + 0.3 * wanted
        self._flush_bytes = int(min(ceiling, max(BYTES_PER_READING * 500, smoothed)))

    def _drain(self, source: queue.Queue) -> list[Incoming]:
        messages: list[Incoming] = []
        while len(messages) < self.options.max_batch:
            try:
                messages.append(source.get_nowait())
            except queue.Empty:
                break
        return messages

    def process(self, messages: list[Incoming]) -> bool:
        """Store the messages, then acknowledge them. False (nothing acknowledged) if stopped while the
        database was unavailable: the broker delivers them again later."""
        started = time.perf_counter()
        steps = self._with_retry(lambda: self._plan(messages))
        if steps is None:
            return False
        index = 0
        backoff = self.options.retry_first_s
        while index < len(steps):
            step = steps[index]
            try:
                self._execute(step)
                index += 1
                backoff = self.options.retry_first_s
            except RETRYABLE as exc:
                if not self._wait_for_database(exc, backoff):
                    return False
                backoff = min(backoff * 2, self.options.retry_max_s)
            except Exception as exc:  # a message that breaks ingest must not stop the others
                steps[index : index + 1] = self._isolate(step, exc)
        self._adapt(sum(len(m.payload) for m in messages), time.perf_counter() - started)
        if self.options.ack_delay_ms:
            time.sleep(self.options.ack_delay_ms / 1000)
        self._ack(messages)
        self.stats.add(messages=len(messages))
        return True

    def pump(self, until: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Process messages in the calling thread until `until()` is true (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.collect(0.05)
            if messages:
                self.process(messages)
            if until():
                return True
        return until()

    def run(self) -> None:
        """The worker thread: store and acknowledge until stopped, then drain what was received."""
        o = self.options
        next_log = time.monotonic() + o.log_every_s
        # The watchdog (stale data, lost gateways, expiries, escalation) runs beside the worker, never in it: a
        # flood of no-data alarms must not hold up the readings, and the alarms, queued behind it.
        threading.Thread(target=self._maintenance_loop, name="ingest-watchdog", daemon=True).start()
        try:
            while not self.stopping.is_set():
                messages = self.collect(0.25)
                if messages and not self.process(messages):
                    break
                now = time.monotonic()
                if now >= next_log:
                    log.info("ingest: %s", self.stats.line(self.queue.qsize()))
                    next_log = now + o.log_every_s
            else:
                while messages := self.collect(0):  # what already arrived is stored and acknowledged
                    if not self.process(messages):
                        break
            log.info("ingest stopped: %s", self.stats.line(self.queue.qsize()))
        finally:
            connections.close_all()

    # ------------------------------------------------------------------ planning: parse, no writes

    def _plan(self, messages: list[Incoming]) -> list:
        self._refresh_gateways()
        directory.all()  # reload the sensor directory now if due, not in the middle of decoding
        steps: list = []
        for message in messages:
            for step in self._parse(message):
                last = steps[-1] if steps else None
                if isinstance(step, _Ingest) and isinstance(last, _Ingest) and last.channel == step.channel:
                    last.items.extend(step.items)
                else:
                    steps.append(step)
        return steps

    def _parse(self, message: Incoming) -> list:
        topic = message.topic
        is_sparkplug = topic.startswith(NAMESPACE + "/")
        channel = "sparkplug" if is_sparkplug else JSON_CHANNEL
        if len(message.payload) > self.options.max_bytes:
            gateway = self._topic_gateway(topic)
            detail = (
                f"message of {len(message.payload)} bytes on {topic} exceeds {self.options.max_bytes} bytes"
            )
            return [_Quarantine(gateway, detail, message, channel)]
        if is_sparkplug:
            return self._parse_sparkplug(message)
        return self._parse_json(message)

    def _topic_gateway(self, topic: str) -> str:
        parts = topic.split("/")
        root = self.options.topic_root + "/"
        if topic.startswith(root):
            rest = topic[len(root) :].split("/")
            return rest[1] if len(rest) == 3 else ""
        if parts[0] == NAMESPACE and len(parts) >= 4:
            return self._nodes.get((parts[1], parts[3])) or f"{parts[1]}/{parts[3]}"
        return ""

    def _parse_json(self, message: Incoming) -> list:
        root = self.options.topic_root + "/"
        parts = message.topic[len(root) :].split("/") if message.topic.startswith(root) else []
        if len(parts) != 3 or parts[2] != "readings":
            return [_Quarantine("", f"unexpected topic {message.topic[:200]}", message, JSON_CHANNEL)]
        site, gateway = parts[0], parts[1]

        def bad(reason: str) -> list:
            return [_Quarantine(gateway, reason, message, JSON_CHANNEL)]

        body = message.body
        if body is None:
            try:
                body = orjson.loads(message.payload)
            except orjson.JSONDecodeError as exc:
                return bad(f"not JSON: {exc}")
        if not isinstance(body, dict):
            return bad("expected a JSON object with gateway, seq and readings")
        named = body.get("gateway")
        if named != gateway:
            return bad(f"gateway {named!r} in the message does not match the topic's gateway {gateway!r}")
        known_site = self._gateways.get(gateway)
        if known_site is not None and known_site != site:
            return bad(f"gateway {gateway} belongs to site {known_site}, not to the topic's site {site}")
        readings = body.get("readings")
        if not isinstance(readings, list):
            return bad("'readings' must be a list of {sensor, ts, value} objects")
        seq = body.get("seq")
        if seq is not None and (seq.__class__ is not int or not 0 <= seq < 2**63):
            return bad("'seq' must be a non-negative integer")
        batch = Batch(gateway, readings_tuples(readings), seq=seq, channel=JSON_CHANNEL)
        return [_Ingest(JSON_CHANNEL, [(batch, message)])]

    def _parse_sparkplug(self, message: Incoming) -> list:
        decoded = self.decoder.decode(message.topic, message.payload, received_ms=message.received_ms)
        if decoded.rebirth is not None:
            self._ask_rebirth(*decoded.rebirth)
        if decoded.ignored:
            return []
        if decoded.problem:
            return [_Quarantine(decoded.gateway_code, decoded.problem, message, "sparkplug")]
        if decoded.death is not None:
            return [_Death(decoded.death)]
        return [_Ingest("sparkplug", [(batch, message) for batch in decoded.batches])]

    def _ask_rebirth(self, group: str, node: str) -> None:
        now = time.monotonic()
        if now - self._rebirth_asked.get((group, node), -REBIRTH_EVERY_S) < REBIRTH_EVERY_S:
            return
        self._rebirth_asked[(group, node)] = now
        topic, payload = rebirth_request(group, node)
        self.client.publish(topic, payload, qos=0)
        log.warning("asked Sparkplug edge node %s/%s to rebirth (data with unknown aliases)", group, node)

    def _refresh_gateways(self, *, miss: bool = False) -> None:
        now = time.monotonic()
        if miss:
            if now - self._gateway_miss_at < GATEWAY_MISS_RETRY_S:
                return
            self._gateway_miss_at = now
        elif now - self._gateways_at < GATEWAY_RELOAD_S:
            return
        gateways, nodes = {}, {}
        for code, site, group, node in Gateway.objects.values_list(
            "code", "site__code", "sparkplug_group", "sparkplug_node"
        ):
            gateways[code] = site
            if node:
                nodes[(group, node)] = code
        self._gateways, self._nodes, self._gateways_at = gateways, nodes, now

    def _gateway_for_node(self, group: str, node: str) -> str | None:
        code = self._nodes.get((group, node))
        if code is None:
            self._refresh_gateways(miss=True)  # registered since the last load?
            code = self._nodes.get((group, node))
        return code

    # ------------------------------------------------------------------ executing: one transaction per step

    def _execute(self, step) -> None:
        if isinstance(step, _Ingest):
            results = services.ingest([batch for batch, _ in step.items])
            self.stats.add(
                stored=sum(r.stored for r in results),
                duplicates=sum(r.duplicates for r in results),
                quarantined=sum(sum(r.quarantined.values()) for r in results),
            )
        elif isinstance(step, _Quarantine):
            services.quarantine_message(
                gateway_code=step.gateway_code,
                detail=step.detail,
                raw=_printable(step.message),
                channel=step.channel,
            )
            self.stats.add(malformed=1)
            log.info("quarantined a message on %s: %s", step.message.topic, step.detail)
        elif isinstance(step, _Death):
            death = step.death
            if death.device:
                prefix = f"{death.device}/"
                sensor_ids = list(
                    Sensor.objects.filter(
                        gateway__code=death.gateway_code, sparkplug_metric__startswith=prefix
                    ).values_list("id", flat=True)
                )
                raised = services.sensors_offline(gateway_code=death.gateway_code, sensor_ids=sensor_ids)
                log.warning("device %s of %s died: %d stale alarms", death.device, death.gateway_code, raised)
            else:
                raised = services.gateway_death(gateway_code=death.gateway_code)
                log.warning("gateway %s died: %d stale alarms", death.gateway_code, raised)

    def _isolate(self, step, exc: Exception) -> list:
        """Ingest refused a step with an unexpected error: retry its messages one by one; a single message
        that still fails is quarantined with the error, so one bad message never blocks the stream."""
        if isinstance(step, _Ingest) and len(step.items) > 1:
            log.warning("a flush failed (%r): storing its %d messages one by one", exc, len(step.items))
            return [_Ingest(step.channel, [item]) for item in step.items]
        if isinstance(step, _Ingest):
            batch, message = step.items[0]
            if isinstance(exc, DatabaseError) and step.attempts < DATABASE_ERROR_ATTEMPTS:
                # A constraint, a schema not yet migrated during a deploy...: not the message's fault.
                # Retry it (unacknowledged) before giving up on it; readings are never dropped lightly.
                self._wait_for_database(exc, self.options.retry_first_s * 2**step.attempts)
                return [_Ingest(step.channel, step.items, attempts=step.attempts + 1)]
            log.exception("message on %s could not be stored: quarantined whole, to replay", message.topic)
            return [_Quarantine(batch.gateway_code, f"ingest failed: {exc!r}", message, step.channel)]
        if isinstance(step, _Death):
            log.exception("handling the death of %s failed", step.death.gateway_code)
            return []
        raise exc  # quarantining itself failed for a reason other than the database: a bug, stop loudly

    def _with_retry(self, work: Callable):
        backoff = self.options.retry_first_s
        while True:
            try:
                return work()
            except RETRYABLE as exc:
                if not self._wait_for_database(exc, backoff):
                    return None
                backoff = min(backoff * 2, self.options.retry_max_s)

    def _wait_for_database(self, exc: Exception, backoff: float) -> bool:
        self.stats.add(db_retries=1)
        log.warning(
            "database unavailable (%s); nothing acknowledged, retrying in %.1f s", _one_line(exc), backoff
        )
        if not connection.in_atomic_block:
            with contextlib.suppress(Exception):
                connection.close()  # reconnect on the next query
        return not self.stopping.wait(backoff)

    def _ack(self, messages: list[Incoming]) -> None:
        with self._link:
            live = self._live_generation
            if live is None:
                return  # disconnected: the broker delivers them again on the next connection
            for message in messages:
                if message.qos and message.generation == live:
                    # A message from an earlier connection is not acknowledged on this one (its packet id may
                    # name another message now): the broker delivers it again and ingest sees a duplicate.
                    self.client.ack(message.mid, message.qos)

    def _maintenance_loop(self) -> None:
        try:
            while not self.stopping.wait(self.options.scan_every_s):
                self._maintenance()
        finally:
            connections.close_all()

    def _maintenance(self) -> None:
        try:
            raised, expired = watchdog_tick()
        except RETRYABLE as exc:
            log.warning("stale scan skipped: database unavailable (%s)", _one_line(exc))
            if not connection.in_atomic_block:
                connection.close()
            return
        except Exception:
            log.exception("stale scan failed")
            return
        if raised or expired:
            log.info("stale scan: %d no-data alarms raised, %d shelvings expired", raised, expired)


def _printable(message: Incoming) -> str:
    """The payload as text for the quarantine — whole (it is at most --max-bytes), so it can be replayed."""
    head = message.payload
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(head).decode("ascii")  # binary (Sparkplug): whole, replayable


# ---------------------------------------------------------------------- command


def build_parser() -> argparse.ArgumentParser:
    from headframe.cli import OneLineParser

    env = os.environ.get
    parser = OneLineParser(
        prog="headframe ingest",
        description="Subscribe to the MQTT broker (persistent session) and store the "
        "readings of headframe JSON messages (headframe/v1/<site>/<gateway>/readings) and Sparkplug B "
        "gateways (spBv1.0/...). A message is acknowledged only once stored. Stop with SIGTERM or Ctrl-C.",
    )
    parser.add_argument(
        "--host", default=env("HEADFRAME_MQTT_HOST") or "127.0.0.1", help="broker (env HEADFRAME_MQTT_HOST)"
    )
    parser.add_argument(
        "--port", type=int, default=int(env("HEADFRAME_MQTT_PORT") or 1883), help="broker port (1883)"
    )
    parser.add_argument(
        "--client-id",
        default="",
        help="MQTT client id; the broker keeps this id's session while it is away "
        "(default headframe-ingest-<hostname>; give each process its own)",
    )
    parser.add_argument(
        "--share-group",
        default=env("HEADFRAME_MQTT_SHARE_GROUP", ""),
        metavar="NAME",
        help="spread the load over several ingest processes through the shared subscription $share/NAME/... "
        "(env HEADFRAME_MQTT_SHARE_GROUP; default none: one process with a plain subscription, which the broker "
        "persists and queues for across its own restart). CAVEAT: Mosquitto 2.0.x does not persist shared "
        "subscriptions: what gateways publish after a broker restart and before ingest re-subscribes is dropped "
        "by the broker, acknowledged or not. Use a group only with a broker that keeps shared subscriptions "
        "(EMQX, HiveMQ clusters) or where that gap is acceptable",
    )
    parser.add_argument(
        "--topic-root",
        default=env("HEADFRAME_MQTT_TOPIC_ROOT") or JSON_PREFIX,
        help=f"JSON readings arrive on <root>/<site>/<gateway>/readings ({JSON_PREFIX}); "
        "two headframe installations on one broker each keep their own root",
    )
    parser.add_argument(
        "--username",
        default=env("HEADFRAME_MQTT_USERNAME", ""),
        help="env HEADFRAME_MQTT_USERNAME; the password comes from env HEADFRAME_MQTT_PASSWORD only "
        "(see `headframe mqtt-config`)",
    )
    parser.add_argument(
        "--tls-cafile",
        default=env("HEADFRAME_MQTT_CAFILE", ""),
        metavar="PEM",
        help="connect over TLS and trust this CA certificate (env HEADFRAME_MQTT_CAFILE; use the TLS port, 8883)",
    )
    parser.add_argument("--max-batch", type=_positive, default=200, help="messages per transaction (200)")
    parser.add_argument(
        "--max-batch-readings",
        type=_positive,
        default=50_000,
        help="about this many readings per transaction at most (50000): an alarm waits for at most one flush",
    )
    parser.add_argument(
        "--flush-target-ms",
        type=_positive,
        default=100,
        help="size flushes to take about this long at the speed of the last ones (100): an alarm waits for one",
    )
    parser.add_argument(
        "--fast-path-backlog",
        type=_non_negative,
        default=2,
        help="with this many messages waiting, a message that may raise an alarm jumps the queue together with "
        "its gateway's earlier messages, in order (2; 0 = never)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=_non_negative,
        default=20,
        help="wait at most this long to fill a batch (20; it bounds the alarm latency, so keep it small)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive,
        default=1024 * 1024,
        help="larger messages are quarantined unread (1048576)",
    )
    parser.add_argument(
        "--session-expiry",
        type=_non_negative,
        default=86_400,
        help="seconds the broker keeps messages for this client while it is away (86400)",
    )
    parser.add_argument("--scan-every", type=float, default=5.0, help="seconds between stale-data scans (5)")
    parser.add_argument("--log-every", type=float, default=10.0, help="seconds between progress lines (10)")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(INFO)"
    )
    parser.add_argument("--ack-delay-ms", type=_non_negative, default=0, help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("headframe.telemetry")
    logger.setLevel(level)
    if not any(getattr(h, "_headframe_ingest", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._headframe_ingest = True
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    options = Options(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        share_group=args.share_group,
        topic_root=args.topic_root.strip("/") or JSON_PREFIX,
        username=args.username,
        password=os.environ.get("HEADFRAME_MQTT_PASSWORD", ""),
        tls_cafile=args.tls_cafile,
        max_batch=args.max_batch,
        max_batch_readings=args.max_batch_readings,
        max_wait_ms=args.max_wait_ms,
        fast_path_backlog=args.fast_path_backlog,
        flush_target_ms=args.flush_target_ms,
        max_bytes=args.max_bytes,
        session_expiry_s=args.session_expiry,
        scan_every_s=args.scan_every,
        log_every_s=args.log_every,
        ack_delay_ms=args.ack_delay_ms,
    )
    worker = IngestWorker(options)
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        log.info("%s: finishing the current batch and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if options.share_group:
        log.warning(
            "shared subscription (group %s): Mosquitto 2.0.x drops what is published between its own restart "
            "and the re-subscription; without --share-group nothing is lost",
            options.share_group,
        )
    log.info(
        "ingest starting: broker %s:%s, client id %s, share group %s, batches of %d messages / %d ms",
        options.host,
        options.port,
        options.client_id,
        options.share_group or "none (plain subscription)",
        options.max_batch,
        options.max_wait_ms,
    )
    thread = threading.Thread(target=worker.run, name="ingest-worker", daemon=True)
    worker.start_network()
    thread.start()
    start_notifier()  # alarm e-mails and webhooks from their own thread: a dead channel never holds up ingest
    crashed = False
    while not stop.wait(0.5):
        if not thread.is_alive():
            log.error("the ingest worker stopped unexpectedly")
            crashed = True
            break
    worker.stopping.set()
    thread.join()
    worker.close_network()  # after the worker's last acknowledgements, which are queued before DISCONNECT
    connections.close_all()
    return 1 if crashed else 0


__all__ = ["IngestWorker", "Options", "main"]


def _one_line(exc: BaseException) -> str:
    """Driver messages span lines (psycopg adds hints); a log line must stay one line for grep and journald."""
    return " ".join(str(exc).split())
