"""`headframe demo` starts live telemetry: ingest + simulator over MQTT when a broker answers, else the simulator
over HTTP with the demo gateway's token (in the environment, never on the command line); --no-telemetry skips."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from headframe import cli
from headframe.org.services import token_authenticate
from tests.demo_snapshot import demo_database


class FakePopen:
    started: list[FakePopen] = []

    def __init__(self, command, env=None):
        self.command, self.env, self.terminated = command, env, False
        FakePopen.started.append(self)

    def poll(self):
        return 0 if self.terminated else None

    def terminate(self):
        self.terminated = True

    def wait(self, timeout=None):
        return 0


@pytest.fixture
def popen(monkeypatch):
    import subprocess

    FakePopen.started = []
    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    return FakePopen.started


def test_with_a_broker_demo_starts_ingest_the_lamp_readers_and_the_mqtt_simulator_and_stops_them(
    popen, monkeypatch
):
    monkeypatch.setattr(cli.serving, "_mqtt_broker", lambda: ("127.0.0.1", 1883))
    telemetry = cli.DemoTelemetry(SimpleNamespace(host="127.0.0.1", port=8000))
    telemetry.start()
    ingest, lamp_readers, simulate = (p.command for p in popen)
    assert lamp_readers[3:8] == ["lamp-readers", "--host", "127.0.0.1", "--port", "1883"]
    assert lamp_readers[lamp_readers.index("--client-id") + 1].startswith("headframe-demo-lamp-")
    assert ingest[:4] == [sys.executable, "-m", "headframe", "ingest"]
    assert ingest[4:8] == ["--host", "127.0.0.1", "--port", "1883"]
    assert ingest[ingest.index("--client-id") + 1].startswith("headframe-demo-ingest-")
    assert "--share-group" not in ingest  # a shared subscription loses messages on a broker restart
    assert simulate[3:] == [
        "simulate",
        "--transport",
        "mqtt",
        "--host",
        "127.0.0.1",
        "--port",
        "1883",
        "--scenarios",
        "all",
    ]
    telemetry.stop()
    assert all(p.terminated for p in popen)


def test_without_a_broker_the_simulator_posts_to_the_served_app_with_the_gateway_token(
    db, popen, monkeypatch
):
    demo_database()
    monkeypatch.setattr(cli.serving, "_mqtt_broker", lambda: None)
    # run the "wait until the server listens" step inline: spawn at once
    monkeypatch.setattr(
        cli.DemoTelemetry, "_background", lambda self, _wait, _host, _port, c, env: self._spawn(c, env)
    )
    telemetry = cli.DemoTelemetry(SimpleNamespace(host="0.0.0.0", port=8123))
    telemetry.start()
    (simulate,) = popen
    assert simulate.command[3:] == [
        "simulate",
        "--transport",
        "http",
        "--url",
        "http://127.0.0.1:8123",
        "--scenarios",
        "all",
    ]
    token = simulate.env["HEADFRAME_TOKEN"]
    assert token not in " ".join(simulate.command)
    assert token_authenticate(token).username == "gateway"


def test_no_telemetry_flag_is_accepted_by_demo():
    args = cli.build_parser().parse_args(["demo", "--no-telemetry", "--no-serve"])
    assert args.no_telemetry and args.no_serve
