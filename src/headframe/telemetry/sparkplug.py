"""Sparkplug B: the payload schema built from the specification, and the decoding of gateway messages into
ingest batches and events.

No third-party schema file or generated code is vendored: the `Payload` and `Payload.Metric` messages are
described here with a `FileDescriptorProto` (only the fields we read; protobuf skips the others, so payloads
from Eclipse Tahu and other implementations decode), and protobuf builds the classes at import.

Topics: `spBv1.0/<group>/<NBIRTH|NDATA|NDEATH|DBIRTH|DDATA|DDEATH>/<edge node>[/<device>]`. An edge node is a
`Gateway` (sparkplug_group, sparkplug_node); a metric is a `Sensor` by `sparkplug_metric`: `<metric>` for a node
metric, `<device>/<metric>` for a device metric. Births carry each metric's name, alias and datatype; data
messages may carry only aliases and omit datatypes, so births are remembered per edge node and device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from headframe.telemetry.directory import directory
from headframe.telemetry.services import Batch

log = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
PACKAGE = "org.eclipse.tahu.protobuf"
CHANNEL = "sparkplug"
REBIRTH_METRIC = "Node Control/Rebirth"
MESSAGE_TYPES = ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH")
# Metrics every edge node publishes that are not measurements: never mapped, never quarantined.
HOUSEKEEPING_PREFIXES = ("Node Control/", "Device Control/", "Node Info/", "Device Info/", "Properties/")
HOUSEKEEPING_NAMES = ("bdSeq",)


class DataType:
    """Sparkplug B metric datatypes (specification 3.0, §6.4.16)."""

    INT8, INT16, INT32, INT64 = 1, 2, 3, 4
    UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
    FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14


_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}


# ------------------------------------------------------------------ schema


def _build_payload_class():
    F = descriptor_pb2.FieldDescriptorProto
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(
        name="headframe/sparkplug_b_subset.proto", package=PACKAGE, syntax="proto2"
    )
    payload = file.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, kind in (
        ("name", 1, F.TYPE_STRING),
        ("alias", 2, F.TYPE_UINT64),
        ("timestamp", 3, F.TYPE_UINT64),
        ("datatype", 4, F.TYPE_UINT32),
        ("is_historical", 5, F.TYPE_BOOL),
        ("is_transient", 6, F.TYPE_BOOL),
        ("is_null", 7, F.TYPE_BOOL),
    ):
        metric.field.add(name=name, number=number, type=kind, label=opt)
    for name, number, kind in (
        ("int_value", 10, F.TYPE_UINT32),
        ("long_value", 11, F.TYPE_UINT64),
        ("float_value", 12, F.TYPE_FLOAT),
        ("double_value", 13, F.TYPE_DOUBLE),
        ("boolean_value", 14, F.TYPE_BOOL),
        ("string_value", 15, F.TYPE_STRING),
    ):
        metric.field.add(name=name, number=number, type=kind, label=opt, oneof_index=0)
    payload.field.add(name="timestamp", number=1, type=F.TYPE_UINT64, label=opt)
    payload.field.add(
        name="metrics", number=2, type=F.TYPE_MESSAGE, label=rep, type_name=f".{PACKAGE}.Payload.Metric"
    )
    payload.field.add(name="seq", number=3, type=F.TYPE_UINT64, label=opt)
    payload.field.add(name="uuid", number=4, type=F.TYPE_STRING, label=opt)
    payload.field.add(name="body", number=5, type=F.TYPE_BYTES, label=opt)
    pool = descriptor_pool.DescriptorPool()  # our own pool: never clashes with a Tahu module loaded elsewhere
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.Payload"))


Payload = _build_payload_class()


def decode_payload(raw: bytes):
    """Parse a Sparkplug B payload; raises ValueError if it is not one."""
    try:
        return Payload.FromString(raw)
    except DecodeError as exc:
        raise ValueError(f"not a Sparkplug B payload: {exc}") from None


@dataclass
class M:
    """A metric to encode: name and/or alias, a value and its datatype (default: inferred from the value)."""

    name: str | None = None
    value: object = None
    datatype: int | None = None
    alias: int | None = None
    timestamp: int | None = None
    is_historical: bool = False
    is_null: bool = False


def _infer_datatype(value) -> int:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INT64
    if isinstance(value, float):
        return DataType.DOUBLE  # exact: FLOAT would turn 3.4 into 3.4000000953674316
    return DataType.STRING


def encode_payload(
    metrics: Iterable[M | tuple],
    *,
    timestamp: int | None = None,
    seq: int | None = None,
    with_datatypes: bool = True,
) -> bytes:
    """A Sparkplug B payload (for tests, the simulator and the rebirth request). Metrics are `M` or
    (name, value) pairs; `with_datatypes=False` leaves datatypes out, as DATA messages usually do."""
    payload = Payload()
    if timestamp is not None:
        payload.timestamp = timestamp
    if seq is not None:
        payload.seq = seq
    for item in metrics:
        m = item if isinstance(item, M) else M(*item)
        metric = payload.metrics.add()
        if m.name is not None:
            metric.name = m.name
        if m.alias is not None:
            metric.alias = m.alias
        if m.timestamp is not None:
            metric.timestamp = m.timestamp
        if m.is_historical:
            metric.is_historical = True
        datatype = m.datatype if m.datatype is not None else _infer_datatype(m.value)
        if with_datatypes or m.datatype is not None:
            metric.datatype = datatype
        if m.is_null or m.value is None:
            metric.is_null = True
            continue
        _set_value(metric, datatype, m.value)
    return payload.SerializeToString()


def _set_value(metric, datatype: int, value) -> None:
    if datatype in (DataType.INT8, DataType.INT16, DataType.INT32):
        metric.int_value = int(value) & ((1 << _SIGNED_BITS[datatype]) - 1)  # two's complement of its width
    elif datatype in (DataType.UINT8, DataType.UINT16, DataType.UINT32):
        metric.int_value = int(value)
    elif datatype in (DataType.INT64, DataType.UINT64, DataType.DATETIME):
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype == DataType.FLOAT:
        metric.float_value = float(value)
    elif datatype == DataType.DOUBLE:
        metric.double_value = float(value)
    elif datatype == DataType.BOOLEAN:
        metric.boolean_value = bool(value)
    else:
        metric.string_value = str(value)


def metric_value(metric, datatype: int | None):
    """The metric's value as Python: numbers as int/float (signed types sign-extended), booleans as bool (a
    reading only of an on/off sensor: ingest refuses one for a measurement), strings as str, a null as None."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return None
    value = getattr(metric, which)
    if which == "boolean_value":
        return bool(value)
    bits = _SIGNED_BITS.get(datatype or 0)
    if bits and which in ("int_value", "long_value"):
        # Negative values arrive as two's complement: of the field's width (Java edge nodes sign-extend to
        # 32 bits) or of the type's width (Eclipse Tahu's Python core: -1 as Int8 is 255).
        width = 32 if which == "int_value" else 64
        if value >= 1 << (width - 1):
            value -= 1 << width
        elif bits < width and (1 << (bits - 1)) <= value < (1 << bits):
            value -= 1 << bits
    return value


# ------------------------------------------------------------------ topics


@dataclass(frozen=True)
class Topic:
    group: str
    kind: str  # NBIRTH, NDATA, ...; or "" for a topic we do not ingest (STATE, NCMD, DCMD)
    node: str
    device: str = ""


def parse_topic(topic: str) -> Topic | None:
    """None for a topic that is not Sparkplug at all or malformed; kind "" for valid topics we ignore."""
    parts = topic.split("/")
    if len(parts) < 2 or parts[0] != NAMESPACE:
        return None
    if parts[1] == "STATE" or (len(parts) >= 3 and parts[2] in ("NCMD", "DCMD", "STATE")):
        return Topic(parts[1], "", "")
    if len(parts) not in (4, 5) or parts[2] not in MESSAGE_TYPES or not all(parts):
        return None
    kind = parts[2]
    if kind.startswith("D") != (len(parts) == 5):
        return None
    return Topic(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else "")


# ------------------------------------------------------------------ decoding


@dataclass
class Death:
    """An edge node (device == "") or a device went offline."""

    gateway_code: str
    device: str = ""


@dataclass
class Decoded:
    """What one Sparkplug message means: batches to ingest, a death, or a whole-message problem."""

    batches: list[Batch] = field(default_factory=list)
    death: Death | None = None
    problem: str = ""  # quarantine the whole message with this reason
    gateway_code: str = ""
    rebirth: tuple[str, str] | None = None  # (group, node) to ask for a rebirth
    ignored: bool = False


@dataclass
class _Birth:
    aliases: dict[int, str] = field(default_factory=dict)
    datatypes: dict[str, int] = field(default_factory=dict)


class SparkplugDecoder:
    """Turns Sparkplug messages into batches, keeping the births (alias → name, datatypes) per edge node and
    device and the last sequence number per edge node. Not thread-safe: one decoder per worker thread."""

    def __init__(self, gateway_lookup: Callable[[str, str], str | None], metric_lookup=None) -> None:
        self._gateway_lookup = gateway_lookup  # (group, node) -> gateway code or None
        self._metric_lookup = metric_lookup or directory.by_metric
        self._births: dict[tuple[str, str, str], _Birth] = {}
        self._last_seq: dict[tuple[str, str], int] = {}
        self._bd_seq: dict[tuple[str, str], int] = {}
        self.seq_gaps = 0
        self._lock = threading.Lock()

    def decode(self, topic_text: str, raw: bytes, *, received_ms: int | None = None) -> Decoded:
        topic = parse_topic(topic_text)
        if topic is None:
            return Decoded(problem=f"not a Sparkplug B topic: {topic_text[:200]}")
        if not topic.kind:
            return Decoded(ignored=True)
        gateway = self._gateway_lookup(topic.group, topic.node)
        if gateway is None:
            return Decoded(
                problem=f"no gateway registered for Sparkplug group {topic.group!r}, edge node {topic.node!r}",
                gateway_code=f"{topic.group}/{topic.node}",
            )
        try:
            payload = decode_payload(raw)
        except ValueError as exc:
            return Decoded(problem=str(exc), gateway_code=gateway)
        node_key = (topic.group, topic.node)
        seq = payload.seq if payload.HasField("seq") else None
        kind = topic.kind
        if kind == "NDEATH":
            return self._node_death(topic, payload, gateway)
        self._check_seq(node_key, seq, kind)
        if kind == "DDEATH":
            self._births.pop((topic.group, topic.node, topic.device), None)
            return Decoded(death=Death(gateway, topic.device), gateway_code=gateway)
        birth_key = (topic.group, topic.node, topic.device)
        if kind == "NBIRTH":
            for key in [k for k in self._births if k[:2] == node_key]:
                del self._births[key]  # a new node session: its devices must be born again too
        if kind.endswith("BIRTH"):
            birth = self._births[birth_key] = _Birth()
            for metric in payload.metrics:
                if metric.HasField("name"):
                    if metric.HasField("alias"):
                        birth.aliases[metric.alias] = metric.name
                    if metric.HasField("datatype"):
                        birth.datatypes[metric.name] = metric.datatype
                    if kind == "NBIRTH" and metric.name == "bdSeq":
                        self._bd_seq[node_key] = int(metric_value(metric, metric.datatype) or 0)
        else:
            birth = self._births.get(birth_key)
        return self._readings(topic, payload, gateway, birth, seq, received_ms)

    def _check_seq(self, node_key, seq: int | None, kind: str) -> None:
        if seq is None:
            return
        last = self._last_seq.get(node_key)
        self._last_seq[node_key] = seq
        if kind == "NBIRTH" or last is None:
            return
        expected = (last + 1) % 256
        if seq != expected:
            self.seq_gaps += 1
            log.warning(
                "Sparkplug sequence gap on %s/%s: expected %d, got %d (messages lost or reordered upstream)",
                *node_key,
                expected,
                seq,
            )

    def _node_death(self, topic: Topic, payload, gateway: str) -> Decoded:
        node_key = (topic.group, topic.node)
        bd_seq = None
        for metric in payload.metrics:
            if metric.name == "bdSeq":
                bd_seq = metric_value(metric, metric.datatype)
        known = self._bd_seq.get(node_key)
        if bd_seq is not None and known is not None and int(bd_seq) != known:
            # The will of an older session, delivered after the node was born again: not a death.
            log.info("ignoring NDEATH of %s/%s with stale bdSeq %s (current %s)", *node_key, bd_seq, known)
            return Decoded(ignored=True, gateway_code=gateway)
        for key in [k for k in self._births if k[:2] == node_key]:
            del self._births[key]
        self._last_seq.pop(node_key, None)
        return Decoded(death=Death(gateway), gateway_code=gateway)

    def _readings(self, topic: Topic, payload, gateway: str, birth: _Birth | None, seq, received_ms):
        default_ts = payload.timestamp if payload.HasField("timestamp") else received_ms
        if default_ts is None:
            default_ts = int(time.time() * 1000)
        prefix = f"{topic.device}/" if topic.device else ""
        live: list[tuple] = []
        historical: list[tuple] = []
        for metric in payload.metrics:
            if metric.HasField("name"):
                name = metric.name
            elif metric.HasField("alias") and birth is not None and metric.alias in birth.aliases:
                name = birth.aliases[metric.alias]
            else:
                where = f"{topic.group}/{topic.node}" + (f"/{topic.device}" if topic.device else "")
                reason = (
                    f"metric alias {metric.alias} used without a known {'D' if topic.device else 'N'}BIRTH "
                    f"for {where}"
                    if metric.HasField("alias")
                    else "metric without name or alias"
                )
                return Decoded(problem=reason, gateway_code=gateway, rebirth=(topic.group, topic.node))
            if name in HOUSEKEEPING_NAMES or name.startswith(HOUSEKEEPING_PREFIXES):
                continue
            datatype = metric.datatype if metric.HasField("datatype") else None
            if datatype is None and birth is not None:
                datatype = birth.datatypes.get(name)
            key = prefix + name
            info = self._metric_lookup(gateway, key)
            # Unmapped metrics go on under a code no sensor can have, so ingest quarantines them as unknown.
            code = info.code if info is not None else f"spB:{key}"
            ts = metric.timestamp if metric.HasField("timestamp") else default_ts
            reading = (code, ts, metric_value(metric, datatype))
            (historical if metric.is_historical else live).append(reading)
        batches = []
        if live or not historical:
            batches.append(Batch(gateway, live, seq=seq, channel=CHANNEL))
        if historical:
            batches.append(Batch(gateway, historical, seq=seq, historical=True, channel=CHANNEL))
        return Decoded(batches=batches, gateway_code=gateway)


def rebirth_request(group: str, node: str, *, now_ms: int | None = None) -> tuple[str, bytes]:
    """The NCMD topic and payload asking an edge node to publish its births again."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    payload = encode_payload([M(REBIRTH_METRIC, True, DataType.BOOLEAN, timestamp=now_ms)], timestamp=now_ms)
    return f"{NAMESPACE}/{group}/NCMD/{node}", payload


__all__ = [
    "CHANNEL",
    "DataType",
    "Death",
    "Decoded",
    "M",
    "Payload",
    "SparkplugDecoder",
    "decode_payload",
    "encode_payload",
    "metric_value",
    "parse_topic",
    "rebirth_request",
]
