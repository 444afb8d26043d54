"""`headframe mqtt-config`: the generated Mosquitto configuration, tested against a real broker started with it.

A gateway logs in with its own password and publishes under its own topics only: what it publishes as another
gateway (JSON readings, Sparkplug data or death, or a will naming another node) never reaches ingest; wrong
passwords and anonymous clients are refused; `headframe ingest` logs in as its own user, reads everything and may
ask a node to rebirth; re-running the command keeps passwords, and a reload (SIGHUP) applies a rotation.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from headframe.cli import main
from headframe.telemetry import mqtt as ingest_mqtt
from headframe.telemetry.broker_config import hash_password, read_password_file, verify_password
from headframe.telemetry.models import Gateway, Quarantine, Reading
from headframe.telemetry.sparkplug import M, encode_payload
from tests.telemetry.test_mqtt import Mosquitto, free_port, now_ms, wait_for

INGEST = "headframe-ingest"
GROUP = "MINE-A"


@pytest.fixture
def registry(mine):
    """GW-A1 (site A-M1) and GW-B1 (site B-M1), both Sparkplug edge nodes of group MINE-A."""
    Gateway.objects.filter(code="GW-A1").update(sparkplug_group=GROUP, sparkplug_node="EDGE-A1")
    Gateway.objects.filter(code="GW-B1").update(sparkplug_group=GROUP, sparkplug_node="EDGE-B1")
    return mine


class SecuredBroker:
    """Mosquitto running the configuration `headframe mqtt-config` wrote (plus `user`, so that a root test run
    keeps its own user and can read the files)."""

    def __init__(self, folder: Path, *extra: str) -> None:
        (folder / "broker").mkdir()
        self.mosquitto = Mosquitto(folder / "broker")  # its free port, log file and start/stop
        self.port = self.mosquitto.port
        self.out = folder / "mqtt"
        self.extra = extra

    def generate(self, *extra: str) -> int:
        args = ["mqtt-config", str(self.out), "--port", str(self.port), *self.extra, *extra]
        return main([*args, "--persistence-location", str(self.mosquitto.folder)])

    def start(self) -> SecuredBroker:
        config = (self.out / "mosquitto.conf").read_text()
        self.mosquitto.config.write_text(config + f"user {getpass.getuser()}\n")
        self.mosquitto.start()
        return self

    def passwords(self) -> dict[str, str]:
        lines = (self.out / "credentials.txt").read_text().splitlines()
        return dict(line.split() for line in lines if line and not line.startswith("#"))

    def stop(self) -> None:
        self.mosquitto.stop()


@pytest.fixture
def secured(registry, tmp_path):
    broker = SecuredBroker(tmp_path)
    assert broker.generate() == 0
    broker.start()
    yield broker
    broker.stop()


class Client:
    """An MQTT 5 client logged in as `user`; `result` is the broker's CONNACK reason code."""

    def __init__(self, port: int, user: str | None, password: str | None, *, will: str | None = None, **tls):
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if will:
            self.client.will_set(will, encode_payload([M("bdSeq", 0)], timestamp=now_ms()), qos=1)
        if tls:
            self.client.tls_set(**tls)
        self.received: list[str] = []
        self.connack = threading.Event()
        self.suback = threading.Event()
        self.result: ReasonCode | None = None
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda client, userdata, message: self.received.append(message.topic)
        self.client.on_subscribe = lambda *args: self.suback.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connack.wait(10), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.result = reason_code
        self.connack.set()

    @property
    def accepted(self) -> bool:
        return self.result is not None and not self.result.is_failure

    def subscribe(self, *topics: str) -> Client:
        self.client.subscribe([(topic, 1) for topic in topics])
        assert self.suback.wait(10)
        return self

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self, *, with_will: bool = False) -> None:
        if with_will:  # MQTT 5: disconnect and still have the broker publish the will (as a lost link would)
            self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
        else:
            self.client.disconnect()
        self.client.loop_stop()


def readings(gateway: str, sensor: str, value: float) -> bytes:
    return orjson.dumps(
        {"gateway": gateway, "readings": [{"sensor": sensor, "ts": now_ms() - 500, "value": value}]}
    )


@pytest.fixture
def ingest_listener(secured):
    listener = Client(secured.port, INGEST, secured.passwords()[INGEST]).subscribe(
        "headframe/v1/#", "spBv1.0/#"
    )
    yield listener
    listener.close()


def test_a_gateway_publishes_under_its_own_topic_and_ingest_stores_it(secured):
    passwords = secured.passwords()
    options = ingest_mqtt.Options(
        port=secured.port,
        client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
        username=INGEST,
        password=passwords[INGEST],
        session_expiry_s=10,
    )
    worker = ingest_mqtt.IngestWorker(options)
    worker.start_network()
    gateway = Client(secured.port, "GW-A1", passwords["GW-A1"])
    commands = Client(secured.port, "GW-A1", passwords["GW-A1"]).subscribe(f"spBv1.0/{GROUP}/NCMD/EDGE-A1")
    try:
        assert worker.subscribed.wait(10), "ingest did not log in and subscribe"
        assert gateway.accepted
        gateway.publish("headframe/v1/A-M1/GW-A1/readings", readings("GW-A1", "A1-CH4-01", 0.42))
        assert worker.pump(lambda: Reading.objects.filter(sensor__code="A1-CH4-01").exists())
        # Sparkplug data with an alias ingest has no birth for: quarantined, and ingest may ask the node to rebirth.
        no_birth = encode_payload([M(None, 0.4, alias=9)], timestamp=now_ms(), seq=1, with_datatypes=False)
        gateway.publish(f"spBv1.0/{GROUP}/NDATA/EDGE-A1", no_birth)
        assert worker.pump(lambda: Quarantine.objects.filter(gateway_code="GW-A1").exists())
        assert wait_for(lambda: commands.received, 10), "the rebirth request did not reach the edge node"
    finally:
        gateway.close()
        commands.close()
        worker.stopping.set()
        worker.close_network()


def test_a_gateway_cannot_publish_as_another_gateway(secured, ingest_listener):
    gateway = Client(secured.port, "GW-A1", secured.passwords()["GW-A1"])
    forged = [
        ("headframe/v1/B-M1/GW-B1/readings", readings("GW-B1", "B1-CH4-01", 2.5)),  # B's topic
        ("headframe/v1/A-M1/GW-B1/readings", readings("GW-B1", "B1-CH4-01", 2.5)),  # B under A's site
        ("headframe/v1/B-M1/GW-A1/readings", readings("GW-A1", "A1-CH4-01", 2.5)),  # itself at another site
        (f"spBv1.0/{GROUP}/NDATA/EDGE-B1", encode_payload([M("CH4", 2.5)], seq=0)),
        (f"spBv1.0/{GROUP}/NDEATH/EDGE-B1", encode_payload([M("bdSeq", 0)])),  # another node's death
        (f"spBv1.0/{GROUP}/NCMD/EDGE-B1", encode_payload([M("Node Control/Rebirth", True)])),
    ]
    own = [
        ("headframe/v1/A-M1/GW-A1/readings", readings("GW-A1", "A1-CH4-01", 0.3)),
        (f"spBv1.0/{GROUP}/NDEATH/EDGE-A1", encode_payload([M("bdSeq", 0)])),  # its own death
    ]
    try:
        for topic, payload in forged + own:
            gateway.publish(topic, payload)
        marker = "headframe/v1/A-M1/GW-A1/status"
        gateway.publish(marker, b"online")  # the broker keeps one publisher's order: it comes last
        assert wait_for(lambda: marker in ingest_listener.received, 10)
    finally:
        gateway.close()
    assert ingest_listener.received == [topic for topic, _ in own] + [marker]


def test_a_gateway_will_cannot_announce_another_gateways_death(secured, ingest_listener):
    password = secured.passwords()["GW-A1"]
    own_death, other_death = f"spBv1.0/{GROUP}/NDEATH/EDGE-A1", f"spBv1.0/{GROUP}/NDEATH/EDGE-B1"
    own = Client(secured.port, "GW-A1", password, will=own_death)
    assert own.accepted
    own.close(with_will=True)
    assert wait_for(lambda: own_death in ingest_listener.received, 10), (
        "its own NDEATH will was not delivered"
    )
    forger = Client(secured.port, "GW-A1", password, will=other_death)
    if forger.accepted:  # Mosquitto may refuse the connection outright, or accept it and drop the will
        forger.close(with_will=True)
    else:
        forger.client.loop_stop()
    marker = Client(secured.port, "GW-A1", password)
    marker.publish("headframe/v1/A-M1/GW-A1/status", b"online")
    marker.close()
    assert wait_for(lambda: "headframe/v1/A-M1/GW-A1/status" in ingest_listener.received, 10)
    assert other_death not in ingest_listener.received


def test_wrong_passwords_and_anonymous_clients_are_refused(secured):
    passwords = secured.passwords()
    attempts = {
        "wrong password": ("GW-A1", passwords["GW-A1"] + "x"),
        "another gateway's password": ("GW-A1", passwords["GW-B1"]),
        "unknown user": ("GW-ZZ", passwords["GW-A1"]),
        "anonymous": (None, None),
    }
    for what, (user, password) in attempts.items():
        client = Client(secured.port, user, password)
        client.client.loop_stop()
        assert not client.accepted, f"{what} was let in"
        assert client.result.getName() in ("Not authorized", "Bad user name or password"), what
    ok = Client(secured.port, "GW-A1", passwords["GW-A1"])
    assert ok.accepted
    ok.close()


def test_rerunning_keeps_passwords_adds_new_gateways_drops_removed_ones_and_a_reload_applies_a_rotation(
    secured, registry
):
    before = read_password_file(secured.out / "passwd")
    old = secured.passwords()
    Gateway.objects.create(code="GW-A2", site=registry.site)
    Gateway.objects.filter(code="GW-B1").delete()
    (secured.out / "credentials.txt").unlink()  # handed out and deleted, as the README says
    # The rotation is hashed in Python (--hasher builtin): Mosquitto must accept that format too.
    assert secured.generate("--rotate", "GW-A1", "--hasher", "builtin") == 0
    after = read_password_file(secured.out / "passwd")
    assert set(after) == {INGEST, "GW-A1", "GW-A2"}
    assert after[INGEST] == before[INGEST]
    assert after["GW-A1"] != before["GW-A1"]
    new = secured.passwords()
    assert set(new) == {"GW-A1", "GW-A2"}  # only the passwords made by this run are in clear
    assert (secured.out / "passwd").stat().st_mode & 0o077 == 0
    assert (secured.out / "credentials.txt").stat().st_mode & 0o077 == 0

    secured.mosquitto.process.send_signal(signal.SIGHUP)  # what `systemctl reload mosquitto` does

    def login(user: str, password: str) -> bool:
        client = Client(secured.port, user, password)
        client.close() if client.accepted else client.client.loop_stop()
        return client.accepted

    assert wait_for(lambda: login("GW-A2", new["GW-A2"]), 10, 0.1), "the reload did not apply"
    assert login("GW-A1", new["GW-A1"])
    assert not login("GW-A1", old["GW-A1"])
    assert not login("GW-B1", old["GW-B1"])
    assert login(INGEST, old[INGEST])


def test_builtin_hash_is_the_mosquitto_passwd_format(tmp_path):
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed")
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "gw", "s3cret-pass"], check=True)
    encoded = read_password_file(path)["gw"]
    assert verify_password("s3cret-pass", encoded)
    assert not verify_password("s3cret-pasS", encoded)
    _, _, iterations, salt, _ = encoded.split("$")
    import base64

    assert hash_password("s3cret-pass", salt=base64.b64decode(salt), iterations=int(iterations)) == encoded


def test_names_that_cannot_go_into_an_acl_are_refused_in_one_line(registry, tmp_path, capsys):
    assert main(["mqtt-config", str(tmp_path / "out"), "--ingest-user", "GW-A1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ingest user" in err
    assert main(["mqtt-config", str(tmp_path / "out"), "--topic-root", "headframe/#"]) == 1
    assert "topic root" in capsys.readouterr().err
    out = str(tmp_path / "out")
    assert main(["mqtt-config", out, "--bridge-to", "group.example:1883", "--site", "NO-SUCH"]) == 1
    assert "no such site" in capsys.readouterr().err
    assert main(["mqtt-config", out, "--site", "A-M1"]) == 1  # --bridge-to missing
    assert main(["mqtt-config", out, "--bridge-to", "group.example:port", "--site", "A-M1"]) == 1
    assert not (tmp_path / "out" / "bridge.conf").exists()


def test_tls_listener_serves_gateways_and_ingest_with_the_ca(registry, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pki = tmp_path / "pki"
    pki.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=pki, check=True, capture_output=True)

    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test CA")
    openssl("req", *ec, "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=127.0.0.1")
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "broker.crt", "-days", "2", "-extfile", "san.ext",
    )  # fmt: skip
    tls_port = free_port()
    broker = SecuredBroker(tmp_path, "--tls-port", str(tls_port))
    tls = ["--tls-cafile", str(pki / "ca.crt"), "--tls-certfile", str(pki / "broker.crt")]
    assert broker.generate(*tls, "--tls-keyfile", str(pki / "broker.key")) == 0
    broker.start()
    passwords = broker.passwords()
    options = ingest_mqtt.Options(
        port=tls_port,
        client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
        username=INGEST,
        password=passwords[INGEST],
        tls_cafile=str(pki / "ca.crt"),
        session_expiry_s=10,
    )
    worker = ingest_mqtt.IngestWorker(options)
    worker.start_network()
    gateway = Client(tls_port, "GW-A1", passwords["GW-A1"], ca_certs=str(pki / "ca.crt"))
    try:
        assert worker.subscribed.wait(10), "ingest did not connect over TLS"
        assert gateway.accepted
        gateway.publish("headframe/v1/A-M1/GW-A1/readings", readings("GW-A1", "A1-CO-01", 3.0))
        assert worker.pump(lambda: Reading.objects.filter(sensor__code="A1-CO-01").exists())
    finally:
        gateway.close()
        worker.stopping.set()
        worker.close_network()
        broker.stop()


def test_a_mine_bridge_logs_in_with_its_account_and_relays_its_own_site_only(registry, tmp_path):
    """The group broker runs `mqtt-config --bridge-accounts`; the mine's broker runs the bridge.conf that
    `--bridge-to HOST:PORT --site A-M1` wrote, its two credential placeholders filled in as an operator would."""
    group = SecuredBroker(tmp_path, "--bridge-accounts")
    assert group.generate("--bridge-to", f"127.0.0.1:{group.port}", "--site", "A-M1") == 0
    group.start()
    passwords = group.passwords()
    bridge = (group.out / "bridge.conf").read_text()
    bridge = bridge.replace("#remote_username bridge-A-M1", "remote_username bridge-A-M1").replace(
        "#remote_password CHANGE-ME", f"remote_password {passwords['bridge-A-M1']}"
    )
    assert (
        f"topic spBv1.0/{GROUP}/NDATA/# out 1" in bridge.splitlines()
    )  # GW-A1 is a Sparkplug node of MINE-A
    (tmp_path / "mine").mkdir()
    mine = Mosquitto(tmp_path / "mine")
    mine.config.write_text(mine.config.read_text() + bridge)
    mine.start()
    listener = Client(group.port, INGEST, passwords[INGEST]).subscribe("headframe/v1/#", "spBv1.0/#")
    gateway = Client(mine.port, None, None)  # the mine's broker of the test lets anyone in
    forger = Client(group.port, "bridge-A-M1", passwords["bridge-A-M1"])
    own, marker = "headframe/v1/A-M1/GW-A1/readings", "headframe/v1/A-M1/GW-A1/status"
    try:
        assert wait_for(
            lambda: gateway.publish(own, readings("GW-A1", "A1-CH4-01", 0.3)) or own in listener.received,
            15,
            0.3,
        ), f"nothing came over the bridge:\n{mine.log.read_text()[-2000:]}"
        gateway.publish(
            "headframe/v1/B-M1/GW-B1/readings", readings("GW-B1", "B1-CH4-01", 2.5)
        )  # not bridged
        gateway.publish(f"spBv1.0/{GROUP}/NDATA/EDGE-A1", encode_payload([M("CH4", 0.3)], seq=0))
        assert forger.accepted  # the bridge's account, used directly: still its own site only
        forger.publish("headframe/v1/B-M1/GW-B1/readings", readings("GW-B1", "B1-CH4-01", 2.5))
        gateway.publish(marker, b"online")
        assert wait_for(lambda: marker in listener.received, 10)
    finally:
        for client in (gateway, forger, listener):
            client.close()
        mine.stop()
        group.stop()
    assert f"spBv1.0/{GROUP}/NDATA/EDGE-A1" in listener.received
    assert not [topic for topic in listener.received if "B-M1" in topic]
