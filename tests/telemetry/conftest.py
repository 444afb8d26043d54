"""A site with one gateway and a few sensors on the shared tree; the sensor directory reloads per test."""

from types import SimpleNamespace

import pytest

from headframe.org.models import Unit
from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import Gateway

NOW_MS = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC: a fixed "now" for ingest tests


@pytest.fixture
def mine(tree, limit_profiles):
    site = tree.a_m1
    face = tree.a_m1_k1_f1
    gateway = Gateway.objects.create(code="GW-A1", site=site, name="Trạm A1")
    other_gateway = Gateway.objects.create(code="GW-B1", site=Unit.objects.get(code="B-M1"))

    def sensor(code, kind, location, **extra):
        return services.sensor_create(
            actor=None, code=code, kind=kind, location=location, position=face, gateway=gateway, **extra
        )

    def add_sensor(code, kind="ch4_pct", location="face_return", **extra):
        """One more sensor at the face on GW-A1 (a methane head in the return air unless told), known to ingest."""
        created = sensor(code, kind, location, **extra)
        directory.invalidate()
        return created

    ns = SimpleNamespace(
        site=site,
        face=face,
        gateway=gateway,
        other_gateway=other_gateway,
        ch4=sensor("A1-CH4-01", "ch4_pct", "face_return", period_s=10),
        co=sensor("A1-CO-01", "co_ppm", "face_return", period_s=10),
        o2=sensor("A1-O2-01", "o2_pct", "face_return", period_s=10),
        pump=sensor("A1-PUMP-01", "pump_running", "sump", period_s=10),
        add_sensor=add_sensor,
    )
    directory.invalidate()
    return ns


@pytest.fixture
def send():
    """send([(sensor, ts, value), ...], gateway="GW-A1", now_ms=NOW_MS) -> IngestResult."""

    def _send(readings, gateway="GW-A1", now_ms=NOW_MS, seq=None, historical=False):
        batch = services.Batch(gateway, readings, seq=seq, historical=historical)
        return services.ingest([batch], now_ms=now_ms)[0]

    return _send


@pytest.fixture
def broker(tmp_path):
    """A Mosquitto of the test's own (free port, persistence on), so nothing reaches another ingest on the
    machine. test_mqtt.py shares one per module (its own fixture of the same name)."""
    from tests.telemetry.test_mqtt import Mosquitto

    instance = Mosquitto(tmp_path).start()
    yield instance
    instance.stop()
