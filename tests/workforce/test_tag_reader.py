"""Lamp-room tag readers over MQTT: a tag read checks the person in or out through the lamp-room services and the
reader gets an answer on <topic>/result (ok, or refused / error with every reason's code and Vietnamese text):
malformed payloads and unknown tags are answered too, a refusal cannot be overridden, a duplicate (same reader
and seq) is answered again and applied once. Against a real Mosquitto of the test's own."""

from __future__ import annotations

import datetime as dt
import threading

import orjson
import pytest
import time_machine

from headframe.telemetry.mqtt import Options
from headframe.workforce.models import Presence
from headframe.workforce.mqtt import TagReaderBridge, handle
from tests.telemetry.test_broker_security import INGEST, Client, SecuredBroker
from tests.telemetry.test_mqtt import Mosquitto, connect_client, publish
from tests.workforce.conftest import NOW, roster

AT = NOW.isoformat()  # 2027-02-10T08:00:00+07:00
TOPIC = "headframe/lamp/A-M1/R-GIENG-1"


@pytest.fixture(autouse=True)
def _readers_clock():
    """The readers' reads at 08:00 on 10/02/2027 (the fixtures' day) arrive a minute later: a read from the
    future is refused (test_a_read_from_the_future_is_refused)."""
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=True):
        yield


def _message(tag="T-A1", direction="in", at=AT, seq=1) -> bytes:
    return orjson.dumps({"tag": tag, "direction": direction, "at": at, "seq": seq})


class Reader:
    """A reader's MQTT client: publishes tag reads and collects the answers on its result topic."""

    def __init__(self, port: int) -> None:
        self.answers: list[dict] = []
        self.subscribed = threading.Event()
        self.client = connect_client(port)
        self.client.on_message = lambda c, u, msg: self.answers.append(orjson.loads(msg.payload))
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.subscribe(f"{TOPIC}/result", qos=1)
        assert self.subscribed.wait(10)

    def send(self, payload: bytes) -> None:
        publish(self.client, TOPIC, payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def reader_and_bridge(tmp_path):
    broker = Mosquitto(tmp_path).start()
    bridge = TagReaderBridge(Options(port=broker.port, client_id="test-lamp-readers"))
    bridge.start_network()
    assert bridge.subscribed.wait(10)
    reader = Reader(broker.port)
    yield reader, bridge
    reader.close()
    bridge.close_network()
    broker.stop()


def _answer(reader, bridge, count):
    assert bridge.pump(lambda: len(reader.answers) >= count), reader.answers
    return reader.answers[count - 1]


def test_over_mqtt_a_check_in_is_stored_refusals_and_bad_messages_are_answered(wf, reader_and_bridge):
    reader, bridge = reader_and_bridge
    roster(wf.ann, wf.a_m1_k1_f1)
    reader.send(_message(seq=17))
    ok = _answer(reader, bridge, 1)
    presence = Presence.objects.get(worker=wf.ann)
    assert presence.site == wf.a_m1 and presence.checked_in_at == NOW and presence.checked_out_at is None
    assert ok["status"] == "ok" and ok["seq"] == 17 and ok["presence"] == presence.pk
    assert ok["text"] == "Đã vào lò: Nguyễn Văn An (A001)" and ok["reasons"] == [] and not ok["duplicate"]

    reader.send(_message(seq=17))  # the reader sent it again: answered, not applied twice
    again = _answer(reader, bridge, 2)
    assert again["status"] == "ok" and again["duplicate"] is True
    assert Presence.objects.filter(worker=wf.ann).count() == 1

    wf.binh.health_class = 5  # not rostered, and health class V
    wf.binh.save()
    reader.send(_message(tag="T-A2", seq=18))
    refused = _answer(reader, bridge, 3)
    assert refused["status"] == "refused" and refused["seq"] == 18
    assert [r["code"] for r in refused["reasons"]] == ["not_rostered", "health_class"]
    assert "Trần Văn Bình" in refused["reasons"][0]["text"] and "V" in refused["reasons"][1]["text"]
    assert not Presence.objects.filter(worker=wf.binh).exists()

    reader.send(b"{not json")
    malformed = _answer(reader, bridge, 4)
    assert malformed["status"] == "error" and [r["code"] for r in malformed["reasons"]] == ["malformed"]
    assert malformed["reasons"][0]["text"] == "Bản tin không phải là một đối tượng JSON."

    reader.send(_message(tag="T-A3", direction="out", seq=19))  # out without in
    out = _answer(reader, bridge, 5)
    assert out["status"] == "refused" and [r["code"] for r in out["reasons"]] == ["not_underground"]
    assert "Lê Văn Cường" in out["reasons"][0]["text"]


def test_an_unknown_or_another_companys_tag_is_refused_with_its_reason(wf):
    answer, written = handle("A-M1", _message(tag="T-B1"))  # Phạm Văn Bảo works for company B
    assert (answer["status"], written) == ("refused", False)
    assert [r["code"] for r in answer["reasons"]] == ["unknown_tag"]
    assert "T-B1" in answer["reasons"][0]["text"] and "Phạm" not in answer["text"]
    nowhere, _ = handle("NO-MINE", _message())
    assert nowhere["status"] == "refused" and [r["code"] for r in nowhere["reasons"]] == ["not_found"]


def test_every_field_error_of_a_message_is_named(wf):
    answer, _ = handle(
        "A-M1", orjson.dumps({"tag": "", "direction": "up", "at": "10/02/2027 08:00", "seq": -1})
    )
    assert answer["status"] == "error"
    assert [r["code"] for r in answer["reasons"]] == ["tag", "direction", "at", "seq"]
    naive, _ = handle("A-M1", _message(at="2027-02-10T08:00:00"))
    assert [r["code"] for r in naive["reasons"]] == ["at"]
    assert all(r["text"] and "must" not in r["text"] for r in answer["reasons"])  # Vietnamese, not English


def test_a_check_out_over_mqtt_and_its_redelivery_after_a_restart_are_applied_once(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    handle("A-M1", _message())
    out_at = (NOW + dt.timedelta(hours=6)).isoformat()
    with time_machine.travel(NOW + dt.timedelta(hours=6, minutes=1), tick=True):
        answer, written = handle("A-M1", _message(direction="out", at=out_at, seq=2))
        assert (answer["status"], written) == ("ok", True)
        assert answer["text"] == "Đã ra lò: Nguyễn Văn An (A001)"
        again, written = handle("A-M1", _message(direction="out", at=out_at, seq=2))  # no memory of the seq
    assert (again["status"], again["duplicate"], written) == ("ok", True, False)
    assert Presence.objects.get().checked_out_at == NOW + dt.timedelta(hours=6)


def test_a_reader_cannot_override_a_lapsed_training(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    wf.ann.certificates.all().delete()
    answer, _ = handle("A-M1", orjson.dumps({"tag": "T-A1", "direction": "in", "at": AT, "override": "x"}))
    assert answer["status"] == "refused" and [r["code"] for r in answer["reasons"]] == ["training_lapsed"]
    assert not Presence.objects.exists()


def test_a_mines_readers_publish_under_their_own_mine_only(wf, tmp_path):
    """`headframe mqtt-config --lamp-readers`: one account per underground mine (lamp-<site>); the bridge logs in
    as the ingest user. A-M1's readers cannot check anyone in at B-M1."""
    broker = SecuredBroker(tmp_path)
    assert broker.generate("--lamp-readers") == 0
    broker.start()
    passwords = broker.passwords()
    assert {"lamp-A-M1", "lamp-B-M1", INGEST} <= set(passwords)
    options = Options(port=broker.port, client_id="t-lamp", username=INGEST, password=passwords[INGEST])
    bridge = TagReaderBridge(options)
    bridge.start_network()
    reader = Client(broker.port, "lamp-A-M1", passwords["lamp-A-M1"]).subscribe("headframe/lamp/+/+/result")
    try:
        assert bridge.subscribed.wait(10)
        roster(wf.ann, wf.a_m1_k1_f1)
        roster(wf.bob, wf.b_m1_k1_f1)
        reader.publish("headframe/lamp/B-M1/R-1", _message(tag="T-B1"))  # refused by the broker's ACL
        reader.publish("headframe/lamp/A-M1/R-1", _message(tag="T-A1"))
        assert bridge.pump(lambda: reader.received == ["headframe/lamp/A-M1/R-1/result"])
        assert list(Presence.objects.values_list("worker__employee_no", flat=True)) == ["A001"]
    finally:
        reader.close()
        bridge.close_network()
        broker.stop()


def test_a_read_from_the_future_is_refused(wf):
    """A reader whose clock runs ahead (local time sent as UTC) would check people in "later" than they come
    out: refused with the field named, nothing stored."""
    answer, _ = handle("A-M1", _message(at=(NOW + dt.timedelta(hours=7)).isoformat()))
    assert answer["status"] == "error" and [r["code"] for r in answer["reasons"]] == ["at"]
    assert not Presence.objects.exists()
