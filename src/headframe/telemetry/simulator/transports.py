"""Messages and transports: one JSON batch per gateway per message, printed, over MQTT QoS 1 or the HTTP API."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict, deque
from collections.abc import Callable, Iterable

import orjson
import paho.mqtt.client as mqtt

from headframe.telemetry.simulator._common import MAX_BATCH, READINGS_PATH, TOPIC, SimSensor, SimulatorError


def messages_of(
    readings: Iterable[tuple[SimSensor, int, float]], *, batch: int = MAX_BATCH
) -> list[tuple[str, str, list[dict]]]:
    """(site, gateway, readings as JSON objects) per gateway, at most `batch` readings each."""
    by_gateway: dict[str, list[tuple[SimSensor, int, float]]] = defaultdict(list)
    for item in readings:
        by_gateway[item[0].gateway].append(item)
    out = []
    for gateway in sorted(by_gateway):
        items = by_gateway[gateway]
        site = items[0][0].site
        for i in range(0, len(items), batch):
            out.append(
                (
                    site,
                    gateway,
                    [{"sensor": s.code, "ts": ts, "value": v} for s, ts, v in items[i : i + batch]],
                )
            )
    return out


class Transport:
    """Sends one gateway message; keeps what could not be delivered and resends it (never drops silently)."""

    name = "transport"

    def __init__(self, out=None) -> None:
        self.out = out or sys.stdout
        self.sent_messages = 0
        self.sent_readings = 0

    def say(self, text: str) -> None:
        print(f"simulate: {text}", file=self.out, flush=True)

    def send(self, site: str, gateway: str, seq: int, readings: list[dict]) -> None:
        raise NotImplementedError

    def pump(self) -> None:
        """Retry what is buffered (called every tick)."""

    @property
    def buffered(self) -> int:
        return 0

    def close(self, timeout: float = 10.0) -> int:
        """Flush; returns how many messages could not be delivered."""
        return 0


class PrintTransport(Transport):
    """--transport print: the MQTT topic and JSON payload on stdout, one message per line (for a look)."""

    name = "print"

    def send(self, site, gateway, seq, readings) -> None:
        payload = orjson.dumps({"gateway": gateway, "seq": seq, "readings": readings}).decode()
        print(TOPIC.format(site=site, gateway=gateway), payload, file=self.out, flush=True)
        self.sent_messages += 1
        self.sent_readings += len(readings)


class MqttTransport(Transport):
    """paho-mqtt, QoS 1. paho keeps every unacknowledged QoS 1 message and resends it after a reconnect; above
    MAX_UNACKED (mids are 16-bit) the rest wait here. On exit we wait for the broker's acks."""

    name = "mqtt"
    MAX_UNACKED = 20_000

    def __init__(self, host: str, port: int, client_id: str = "", out=None, keepalive: int = 30) -> None:
        super().__init__(out)
        self._mqtt = mqtt
        self.host, self.port = host, port
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"headframe-sim-{os.getpid()}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self.published = 0
        self.acked = 0
        self.backlog: deque[tuple[str, bytes, int]] = deque()
        self.connected = threading.Event()
        self._ever_connected = False
        self._closing = False
        self.client.connect_async(host, port, keepalive=keepalive)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self.say(f"broker {self.host}:{self.port} refused the connection: {reason_code}")
            return
        unacked = self.unacked
        if self._ever_connected:
            self.say(
                f"broker back: resending {unacked} unconfirmed message(s) and {len(self.backlog)} buffered"
            )
        else:
            self.say(f"connected to MQTT broker {self.host}:{self.port} (QoS 1)")
        self._ever_connected = True
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self.connected.is_set() and not self._closing:
            self.say(f"broker connection lost ({reason_code}): buffering, will resend")
        self.connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._lock:
            self.acked += 1

    @property
    def unacked(self) -> int:
        with self._lock:
            return self.published - self.acked

    @property
    def buffered(self) -> int:
        return len(self.backlog) + self.unacked

    def _publish(self, topic: str, payload: bytes, n: int) -> bool:
        if self.unacked >= self.MAX_UNACKED:
            return False
        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_NO_CONN):
            return False  # e.g. queue full: keep it here
        with self._lock:
            self.published += 1
        self.sent_messages += 1
        self.sent_readings += n
        return True

    def send(self, site, gateway, seq, readings) -> None:
        topic = TOPIC.format(site=site, gateway=gateway)
        payload = orjson.dumps({"gateway": gateway, "seq": seq, "readings": readings})
        if self.backlog or not self._publish(topic, payload, len(readings)):
            self.backlog.append((topic, payload, len(readings)))
        self.pump()

    def pump(self) -> None:
        while self.backlog and self._publish(*self.backlog[0]):
            self.backlog.popleft()

    def close(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.backlog or self.unacked):
            self.pump()
            time.sleep(0.05)
        left = len(self.backlog) + self.unacked
        if left:
            self.say(f"{left} message(s) not confirmed by the broker at exit (it may not have them)")
        self._closing = True
        self.client.disconnect()
        self.client.loop_stop()
        return left


PostFn = Callable[[str, bytes, dict], tuple[int, bytes]]


def urllib_post(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST; returns (status, body). Raises OSError when the server cannot be reached."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class HttpTransport(Transport):
    """POST /api/v1/telemetry/readings with the gateway's bearer token; unreachable server or 5xx: the
    message waits in the buffer and is resent in order (backing off up to 30 s); 401/403: stop with one line."""

    name = "http"
    RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

    def __init__(self, url: str, token: str, *, post: PostFn | None = None, out=None, clock=time.monotonic):
        super().__init__(out)
        self.url = url.rstrip("/") + READINGS_PATH
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.post = post or urllib_post
        self.clock = clock
        self.backlog: deque[tuple[bytes, int, str]] = deque()
        self.retry_at = 0.0
        self.failures = 0
        self.outage_reported = False
        self.stored = 0
        self.duplicates = 0
        self.quarantined: dict[str, int] = defaultdict(int)
        self.refused = 0

    @property
    def buffered(self) -> int:
        return len(self.backlog)

    def send(self, site, gateway, seq, readings) -> None:
        self.backlog.append(
            (orjson.dumps({"gateway": gateway, "seq": seq, "readings": readings}), len(readings), gateway)
        )
        self.pump()

    def pump(self) -> None:
        while self.backlog and self.clock() >= self.retry_at:
            body, n, gateway = self.backlog[0]
            try:
                status, answer = self.post(self.url, body, self.headers)
            except OSError as exc:
                self._failed(f"server {self.url} unreachable ({getattr(exc, 'reason', exc)})")
                return
            if status in self.RETRYABLE:
                self._failed(f"server answered {status}")
                return
            if status in (401, 403, 404):
                raise SimulatorError(f"{self.url} refused gateway {gateway}: HTTP {status} {_detail(answer)}")
            self.backlog.popleft()
            if self.outage_reported:
                self.say(f"server back: resending {len(self.backlog) + 1} buffered message(s)")
            self.failures, self.outage_reported = 0, False
            if status >= 400:
                self.refused += 1  # the payload itself is wrong: resending would not help; say so loudly
                self.say(f"message from {gateway} refused: HTTP {status} {_detail(answer)}")
                continue
            self.sent_messages += 1
            self.sent_readings += n
            self._account(answer)

    def _failed(self, why: str) -> None:
        self.failures += 1
        self.retry_at = self.clock() + min(30.0, 0.5 * 2 ** min(self.failures, 6))
        if not self.outage_reported:
            self.say(f"{why}: buffering, will resend")
            self.outage_reported = True

    def _account(self, answer: bytes) -> None:
        try:
            result = orjson.loads(answer)
        except ValueError:
            return
        self.stored += result.get("stored", 0)
        self.duplicates += result.get("duplicates", 0)
        for reason, n in (result.get("quarantined") or {}).items():
            if not self.quarantined.get(reason):
                self.say(f"server quarantined readings: {reason} (see the gateway health page)")
            self.quarantined[reason] += n

    def close(self, timeout: float = 10.0) -> int:
        if self.outage_reported:
            timeout = min(timeout, 2.0)  # the server is already gone (e.g. `headframe demo` shutting down)
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline:
            self.retry_at = 0.0
            self.pump()
            if self.backlog:
                time.sleep(0.5)
        if self.backlog:
            self.say(f"{len(self.backlog)} message(s) could not be delivered before exit")
        return len(self.backlog)


def _detail(answer: bytes) -> str:
    try:
        detail = orjson.loads(answer).get("detail")
    except (ValueError, AttributeError):
        return answer[:200].decode("utf-8", "replace")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail))
    return str(detail)
