"""The network side of the ingest worker: the paho client, subscriptions, and the callbacks of paho's network
thread, which only put messages on the queue."""

from __future__ import annotations

import time

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from headframe.telemetry.directory import directory
from headframe.telemetry.mqtt._common import (
    LEGACY_SHARE_GROUP,
    Incoming,
    log,
)
from headframe.telemetry.sparkplug import NAMESPACE


class NetworkMixin:
    """IngestWorker's MQTT client and callbacks (run on paho's network thread)."""

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
