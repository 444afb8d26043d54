"""Planning a flush: topics and payloads (headframe JSON, Sparkplug B) decoded into steps, without writes."""

from __future__ import annotations

import time

import orjson

from headframe.telemetry.directory import directory
from headframe.telemetry.models import Gateway
from headframe.telemetry.mqtt._common import (
    GATEWAY_MISS_RETRY_S,
    GATEWAY_RELOAD_S,
    JSON_CHANNEL,
    REBIRTH_EVERY_S,
    Incoming,
    _Death,
    _Ingest,
    _Quarantine,
    log,
)
from headframe.telemetry.payloads import readings_tuples
from headframe.telemetry.services import Batch
from headframe.telemetry.sparkplug import NAMESPACE, rebirth_request


class DecodingMixin:
    """IngestWorker's message decoding: parse, no writes."""

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
