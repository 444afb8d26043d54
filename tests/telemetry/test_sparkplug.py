"""Sparkplug B: the schema built from the specification decodes real payloads; births give aliases and
datatypes to data messages; historical metrics go to their own batch; deaths and gaps are recognised."""

from types import SimpleNamespace

import pytest

from headframe.telemetry.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    M,
    Payload,
    SparkplugDecoder,
    decode_payload,
    encode_payload,
    metric_value,
    parse_topic,
    rebirth_request,
)

T = 1_800_000_000_000
NODE = "spBv1.0/Mine-A/{kind}/EDGE-1"
DEVICE = "spBv1.0/Mine-A/{kind}/EDGE-1/Face-Box"
SENSORS = {"CH4/Face": "A1-CH4-01", "Face-Box/CO": "A1-CO-01"}


@pytest.fixture
def decoder():
    def gateway(group, node):
        return "GW-A1" if (group, node) == ("Mine-A", "EDGE-1") else None

    def metric(gateway_code, key):
        code = SENSORS.get(key) if gateway_code == "GW-A1" else None
        return SimpleNamespace(code=code) if code else None

    return SparkplugDecoder(gateway, metric_lookup=metric)


def _birth(decoder, seq=0, bd_seq=0):
    raw = encode_payload(
        [M("bdSeq", bd_seq, DataType.INT64), M("CH4/Face", 0.3, DataType.DOUBLE, alias=1)],
        timestamp=T,
        seq=seq,
    )
    return decoder.decode(NODE.format(kind="NBIRTH"), raw)


def test_schema_field_numbers_follow_the_specification():
    fields = {f.name: (f.number, f.type) for f in Payload.DESCRIPTOR.fields}
    assert {name: number for name, (number, _) in fields.items()} == {
        "timestamp": 1,
        "metrics": 2,
        "seq": 3,
        "uuid": 4,
        "body": 5,
    }
    metric = Payload.DESCRIPTOR.nested_types_by_name["Metric"]
    numbers = {f.name: f.number for f in metric.fields}
    assert numbers == {
        "name": 1,
        "alias": 2,
        "timestamp": 3,
        "datatype": 4,
        "is_historical": 5,
        "is_transient": 6,
        "is_null": 7,
        "int_value": 10,
        "long_value": 11,
        "float_value": 12,
        "double_value": 13,
        "boolean_value": 14,
        "string_value": 15,
    }
    assert Payload.DESCRIPTOR.full_name == "org.eclipse.tahu.protobuf.Payload"


def test_values_of_every_numeric_datatype_round_trip():
    values = [
        M("i8", -1, DataType.INT8),
        M("i16", -300, DataType.INT16),
        M("i32", -5, DataType.INT32),
        M("i64", -7, DataType.INT64),
        M("u32", 2**32 - 1, DataType.UINT32),
        M("f", 0.5, DataType.FLOAT),
        M("d", 3.4, DataType.DOUBLE),
        M("b", True, DataType.BOOLEAN),
        M("b0", False, DataType.BOOLEAN),
        M("s", "on", DataType.STRING),
        M("n", None, DataType.DOUBLE),
    ]
    payload = decode_payload(encode_payload(values, timestamp=T, seq=7))
    assert (payload.timestamp, payload.seq) == (T, 7)
    decoded = {m.name: metric_value(m, m.datatype) for m in payload.metrics}
    assert decoded == {
        "i8": -1,
        "i16": -300,
        "i32": -5,
        "i64": -7,
        "u32": 2**32 - 1,
        "f": 0.5,
        "d": 3.4,
        "b": 1.0,
        "b0": 0.0,
        "s": "on",
        "n": None,
    }


def test_negative_small_ints_sign_extended_to_32_bits_decode_too():
    payload = Payload()
    metric = payload.metrics.add(name="i8", datatype=DataType.INT8)
    metric.int_value = 0xFFFFFFFE  # how Java edge nodes send -2
    assert metric_value(metric, DataType.INT8) == -2


def test_unknown_fields_of_other_implementations_are_skipped():
    raw = encode_payload([M("CH4/Face", 0.4, DataType.DOUBLE)], timestamp=T, seq=1)
    raw += b"\x32\x03abc"  # a field 6 we do not describe (wire type 2)
    payload = decode_payload(raw)
    assert metric_value(payload.metrics[0], DataType.DOUBLE) == 0.4


def test_bytes_that_are_not_a_payload_are_refused():
    with pytest.raises(ValueError, match="not a Sparkplug B payload"):
        decode_payload(b"\xff\xff\xff\xff")


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("spBv1.0/G/NDATA/N", ("G", "NDATA", "N", "")),
        ("spBv1.0/G/DDATA/N/D", ("G", "DDATA", "N", "D")),
        ("spBv1.0/G/NCMD/N", ("G", "", "", "")),
        ("spBv1.0/STATE/host-1", ("STATE", "", "", "")),
        ("spBv1.0/G/DDATA/N", None),  # device message without a device
        ("spBv1.0/G/NDATA/N/D", None),
        ("spBv1.0/G/XDATA/N", None),
        ("spBv1.0/G/NDATA/", None),
        ("headframe/v1/A/B/readings", None),
    ],
)
def test_topics(topic, expected):
    parsed = parse_topic(topic)
    assert (None if parsed is None else (parsed.group, parsed.kind, parsed.node, parsed.device)) == expected


def test_data_with_aliases_uses_names_and_datatypes_from_the_births(decoder):
    birth = _birth(decoder)
    assert [b.readings for b in birth.batches] == [[("A1-CH4-01", T, 0.3)]]
    raw = encode_payload(
        [M("CO", 4, DataType.INT32, alias=2)], timestamp=T, seq=1
    )  # DBIRTH: device metric CO is Int32
    decoder.decode(DEVICE.format(kind="DBIRTH"), raw)
    data = decoder.decode(
        DEVICE.format(kind="DDATA"),
        encode_payload([M(None, -3, alias=2)], timestamp=T + 1000, seq=2, with_datatypes=False),
    )
    assert not data.problem
    assert [b.readings for b in data.batches] == [[("A1-CO-01", T + 1000, -3)]]
    node = decoder.decode(
        NODE.format(kind="NDATA"),
        encode_payload([M(None, 0.35, alias=1, timestamp=T + 500)], timestamp=T + 2000, seq=3),
    )
    assert [(b.gateway_code, b.seq, b.readings) for b in node.batches] == [
        ("GW-A1", 3, [("A1-CH4-01", T + 500, 0.35)])
    ]
    assert decoder.seq_gaps == 0


def test_historical_metrics_go_to_their_own_batch(decoder):
    _birth(decoder)
    raw = encode_payload(
        [M("CH4/Face", 0.4, timestamp=T + 1000), M("CH4/Face", 0.9, timestamp=T + 500, is_historical=True)],
        seq=1,
    )
    batches = decoder.decode(NODE.format(kind="NDATA"), raw).batches
    assert [(b.historical, b.readings) for b in batches] == [
        (False, [("A1-CH4-01", T + 1000, 0.4)]),
        (True, [("A1-CH4-01", T + 500, 0.9)]),
    ]


def test_alias_without_a_birth_is_a_problem_and_asks_for_a_rebirth(decoder):
    raw = encode_payload([M(None, 0.4, alias=1)], timestamp=T, seq=5)
    decoded = decoder.decode(NODE.format(kind="NDATA"), raw)
    assert decoded.batches == []
    assert "alias 1 used without a known NBIRTH for Mine-A/EDGE-1" in decoded.problem
    assert decoded.rebirth == ("Mine-A", "EDGE-1")


def test_a_new_node_birth_forgets_the_device_births(decoder):
    _birth(decoder)
    decoder.decode(DEVICE.format(kind="DBIRTH"), encode_payload([M("CO", 4, alias=2)], timestamp=T, seq=1))
    _birth(decoder, bd_seq=1)
    decoded = decoder.decode(
        DEVICE.format(kind="DDATA"), encode_payload([M(None, 5, alias=2)], timestamp=T, seq=1)
    )
    assert "without a known DBIRTH" in decoded.problem


def test_unmapped_metrics_go_on_to_be_quarantined_and_housekeeping_metrics_are_skipped(decoder):
    raw = encode_payload(
        [M("Node Control/Rebirth", False), M("bdSeq", 3), M("Pump/Speed", 12.5)], timestamp=T, seq=0
    )
    decoded = decoder.decode(NODE.format(kind="NBIRTH"), raw)
    assert [b.readings for b in decoded.batches] == [[("spB:Pump/Speed", T, 12.5)]]


def test_unknown_edge_node_is_a_problem(decoder):
    decoded = decoder.decode("spBv1.0/Mine-A/NDATA/EDGE-9", encode_payload([M("x", 1.0)]))
    assert "no gateway registered" in decoded.problem and decoded.gateway_code == "Mine-A/EDGE-9"


def test_sequence_gaps_are_counted(decoder):
    _birth(decoder, seq=0)
    for seq in (1, 2, 4):
        decoder.decode(NODE.format(kind="NDATA"), encode_payload([M("CH4/Face", 0.3)], timestamp=T, seq=seq))
    decoder.decode(NODE.format(kind="NDATA"), encode_payload([M("CH4/Face", 0.3)], timestamp=T, seq=5))
    assert decoder.seq_gaps == 1


def test_sequence_numbers_wrap_after_255(decoder):
    _birth(decoder, seq=0)
    for seq in [*range(1, 256), 0, 1]:
        decoder.decode(NODE.format(kind="NDATA"), encode_payload([], timestamp=T, seq=seq))
    assert decoder.seq_gaps == 0


def test_death_of_the_current_session_counts_and_a_stale_will_is_ignored(decoder):
    _birth(decoder, bd_seq=4)
    stale = decoder.decode(NODE.format(kind="NDEATH"), encode_payload([M("bdSeq", 3, DataType.INT64)]))
    assert stale.ignored and stale.death is None
    death = decoder.decode(NODE.format(kind="NDEATH"), encode_payload([M("bdSeq", 4, DataType.INT64)]))
    assert (death.death.gateway_code, death.death.device) == ("GW-A1", "")
    device = decoder.decode(DEVICE.format(kind="DDEATH"), encode_payload([], timestamp=T, seq=1))
    assert (device.death.gateway_code, device.death.device) == ("GW-A1", "Face-Box")


def test_rebirth_request_is_a_boolean_node_control_metric():
    topic, raw = rebirth_request("Mine-A", "EDGE-1", now_ms=T)
    payload = decode_payload(raw)
    assert topic == "spBv1.0/Mine-A/NCMD/EDGE-1"
    metric = payload.metrics[0]
    assert (metric.name, metric.datatype, metric.boolean_value) == (REBIRTH_METRIC, DataType.BOOLEAN, True)
