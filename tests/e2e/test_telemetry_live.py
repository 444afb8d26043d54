"""The live monitoring page in Debian's Chromium, served by a real uvicorn process (the SSE stream needs ASGI;
pytest-django's live_server is threaded WSGI). The server gets its own database, seeded by this module run as
a script; a small simulator thread posts gateway readings to the API every two seconds, as a gateway would.

A dispatcher opens the mine page, methane rises at the face, the alarm row and the banner appear without a
reload, the dispatcher acknowledges with a comment, and the state changes. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.servers import seed_unit, serve, shot

pytestmark = pytest.mark.e2e

DISPATCHER = "dieu_do_a"

# Sensors the simulator feeds: code -> (gateway, baseline value, wobble)
FED = {
    "A1-CH4-01": ("GW-A1", 0.42, 0.03),
    "A1-CO-01": ("GW-A1", 6.0, 1.0),
    "A1-O2-01": ("GW-A1", 20.6, 0.1),
    "A1-CH4-02": ("GW-A1", 0.31, 0.04),
    "A1-V-01": ("GW-A1", 1.8, 0.1),
    "A1-WL-01": ("GW-A1", 2.35, 0.02),
    "A1-PUMP-01": ("GW-A1", 1.0, 0.0),
    "A1-FAN-01": ("GW-A1", 1.0, 0.0),
    "B1-CH4-01": ("GW-B1", 0.25, 0.02),
}


def _value(code: str, t_ms: int, levels: dict) -> float:
    base, wobble = levels.get(code, FED[code][1]), FED[code][2]
    return round(base + wobble * math.sin(t_ms / 97_000 + len(code)), 3)


def seed() -> None:
    """Run in a subprocess against the server's database: the tree, people, sensors and a week of readings."""
    import django

    django.setup()
    import datetime as dt

    from django.utils import timezone

    from headframe.org import services as org
    from headframe.telemetry import services
    from headframe.telemetry.models import Gateway, Limit, Sensor, SiteLimitSetting
    from tests.factories import PASSWORD

    seed_unit("G", "Tập đoàn Than", "group")
    seed_unit("A", "Công ty Than A", "company", "G")
    seed_unit("B", "Công ty Than B", "company", "G")
    site_a = seed_unit("A-M1", "Mỏ than hầm lò A1", "site", "A", site_type="underground")
    seed_unit("A-M1-K1", "Phân xưởng khai thác 1", "area", "A-M1")
    face = seed_unit("A-M1-K1-F1", "Lò chợ 11-1", "position", "A-M1-K1", position_kind="longwall_face")
    heading = seed_unit(
        "A-M1-K1-D1", "Lò chuẩn bị 11-2", "position", "A-M1-K1", position_kind="development_heading"
    )
    seed_unit("A-M1-K2", "Phân xưởng cơ điện – thoát nước", "area", "A-M1")
    pumps = seed_unit("A-M1-K2-P1", "Trạm bơm mức -150", "position", "A-M1-K2", position_kind="pump_station")
    fan = seed_unit("A-M1-K2-Q1", "Trạm quạt gió chính", "position", "A-M1-K2", position_kind="main_fan")
    site_b = seed_unit("B-M1", "Mỏ than hầm lò B1", "site", "B", site_type="underground")
    seed_unit("B-M1-K1", "Phân xưởng khai thác 1", "area", "B-M1")
    face_b = seed_unit("B-M1-K1-F1", "Lò chợ 21-1", "position", "B-M1-K1", position_kind="longwall_face")
    org.user_create(
        actor=None, username=DISPATCHER, grants=[("dispatcher", "A-M1"), ("viewer", "G")], password=PASSWORD
    )
    gateway_user = org.user_create(actor=None, username="gw", grants=[("gateway", "G")], password=PASSWORD)
    _, token = org.token_create(actor=None, user=gateway_user, name="simulator")

    gw_a = Gateway.objects.create(code="GW-A1", site=site_a, name="Trạm trung tâm A1")
    gw_b = Gateway.objects.create(code="GW-B1", site=site_b, name="Trạm trung tâm B1")
    for code, kind, position, location, gateway, extra in [
        ("A1-CH4-01", "ch4_pct", face, "face_return", gw_a, {"name": "CH₄ gió thải lò chợ"}),
        ("A1-CO-01", "co_ppm", face, "face_return", gw_a, {}),
        ("A1-O2-01", "o2_pct", face, "face_return", gw_a, {}),
        ("A1-CO-02", "co_ppm", face, "face_return", gw_a, {}),
        ("A1-CH4-02", "ch4_pct", heading, "development_heading", gw_a, {}),
        ("A1-CH4-03", "ch4_pct", heading, "development_heading", gw_a, {}),
        ("A1-V-01", "air_velocity_ms", heading, "development_heading", gw_a, {}),
        ("A1-WL-01", "water_level_m", pumps, "sump", gw_a, {}),
        ("A1-PUMP-01", "pump_running", pumps, "sump", gw_a, {}),
        ("A1-FAN-01", "fan_running", fan, "fan_house", gw_a, {}),
        ("B1-CH4-01", "ch4_pct", face_b, "face_return", gw_b, {}),
    ]:
        services.sensor_create(
            actor=None, code=code, kind=kind, position=position, location=location, gateway=gateway, **extra
        )

    # The site's own setting (audited in real use): its early warning returns as soon as methane is clear, so
    # the test need not wait for the profile's 30 s off-delay.
    SiteLimitSetting.objects.create(
        site=site_a,
        limit=Limit.objects.get(profile__is_default=True, code="ch4_face_return_warn"),
        off_delay_s=0,
        reason="phản hồi nhanh cho kiểm thử",
    )
    # Out of service for calibration, as a safety officer's action leaves it: a reason and an expiry.
    Sensor.objects.filter(code="A1-CO-02").update(
        in_service=False,
        out_of_service_until=timezone.now() + dt.timedelta(hours=8),
        out_of_service_reason="hiệu chuẩn",
    )
    now = int(time.time() * 1000)
    # Six and a half days of history every 5 minutes (stored only), then the last hour every 10 s (live).
    history = []
    for i in range(int(6.5 * 288), 12, -1):
        ts = now - i * 300_000
        daily = 0.12 * math.sin(ts / 86_400_000 * 2 * math.pi)
        history.append(("A1-CH4-01", ts, round(0.42 + daily + 0.03 * math.sin(ts / 1_700_000), 3)))
    services.ingest([services.Batch("GW-A1", history, historical=True)], now_ms=now)
    live = {"GW-A1": [], "GW-B1": []}
    for i in range(360, 0, -1):
        ts = now - i * 10_000
        for code, (gateway, _base, _wobble) in FED.items():
            live[gateway].append((code, ts, _value(code, ts, {})))
    live["GW-A1"] += [("A1-CH4-03", now - 3_500_000 + i * 10_000, 0.28) for i in range(30)]  # then silent
    live["GW-A1"].sort(key=lambda r: r[1])
    services.ingest([services.Batch(gw, rows) for gw, rows in live.items()], now_ms=now)
    print(json.dumps({"token": token}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn serving headframe on its own database, migrated and seeded; stopped after the module."""
    # No stale-data watchdog in this server: A1-CH4-03 is silent on purpose (its grey tile is checked) and its
    # "no data" alarm would otherwise join the methane alarms at a time of the watchdog's choosing.
    yield from serve(
        tmp_path_factory.mktemp("telemetry-live"),
        "tests.e2e.test_telemetry_live",
        serve_args=["--no-watchdog"],
    )


class Simulator(threading.Thread):
    """Posts every fed sensor's reading to the API every two seconds, like the mine's gateways."""

    def __init__(self, url: str, token: str):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.levels: dict[str, float] = {}
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def post(self) -> None:
        now = int(time.time() * 1000)
        for gateway in ("GW-A1", "GW-B1"):
            readings = [
                {"sensor": code, "ts": now, "value": _value(code, now, self.levels)}
                for code, (gw, _b, _w) in FED.items()
                if gw == gateway
            ]
            request = urllib.request.Request(
                f"{self.url}/api/v1/telemetry/readings",
                data=json.dumps({"gateway": gateway, "readings": readings}).encode(),
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    body = json.loads(answer.read())
                    if body.get("stored") != len(readings):
                        self.errors.append(json.dumps(body))
            except OSError as exc:
                self.errors.append(str(exc))

    def run(self) -> None:
        while not self.stopped.is_set():
            self.post()
            self.stopped.wait(2)


@pytest.fixture
def simulator(server):
    sim = Simulator(server["url"], server["token"])
    sim.start()
    yield sim
    sim.stopped.set()
    sim.join(timeout=15)


def _log_in(page, url: str, username: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{url}/accounts/login/?next=/telemetry/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(f"{url}/telemetry/")


def test_methane_alarm_appears_live_and_is_acknowledged_from_the_page(page, server, simulator):
    url = server["url"]
    page.set_viewport_size({"width": 1440, "height": 1000})
    _log_in(page, url, DISPATCHER)
    expect(page.get_by_test_id("mine-A-M1")).to_have_attribute("data-worst", "stale")  # A1-CH4-03 is silent
    expect(page.get_by_test_id("mine-B-M1")).to_have_attribute("data-worst", "normal")

    page.get_by_test_id("open-A-M1").click()
    expect(page).to_have_url(f"{url}/telemetry/A-M1/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("no-alarms")).to_be_visible()
    expect(page.get_by_test_id("alarm-banner")).to_be_hidden()
    expect(page.get_by_test_id("value-A1-O2-01")).to_contain_text(",")  # 20,6 — Vietnamese decimals
    expect(page.get_by_test_id("sensor-A1-CH4-03")).to_have_class("sensor st-stale is-stale")
    expect(page.get_by_test_id("sensor-A1-CO-02")).to_have_class("sensor st-oos")
    expect(page.locator("#trend canvas")).to_have_count(1)

    # Methane rises at the face: the trip (≥ 1,0 %) raises at once, the warning (≥ 0,8 %) after its 10 s delay.
    simulator.levels["A1-CH4-01"] = 1.25
    trip = page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_trip")
    expect(trip).to_be_visible(timeout=15_000)
    banner = page.get_by_test_id("alarm-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("A1-CH4-01")
    expect(banner).to_have_attribute("data-sounding", "1")
    expect(page.get_by_test_id("sensor-A1-CH4-01")).to_have_class("sensor st-alarm flash selected")
    expect(page.get_by_test_id("value-A1-CH4-01")).to_contain_text("1,2")
    warn = page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_warn")
    expect(warn).to_be_visible(timeout=25_000)
    page.wait_for_timeout(2500)  # a few live points on the trend
    shot(page, "telemetry-live-alarm")

    # Acknowledge both from the page, with a comment; the banner goes once nothing high/urgent is unacked.
    trip_id = trip.get_attribute("data-condition")
    page.get_by_test_id(f"ack-comment-{trip_id}").fill("Đã cắt điện lò chợ, rút người ra gió sạch")
    page.get_by_test_id(f"ack-{trip_id}").click()
    expect(trip.get_by_test_id("alarm-state")).to_have_text("Đang hoạt động, đã xác nhận")
    expect(page.get_by_test_id(f"ack-{trip_id}")).to_have_count(0)
    expect(banner).to_be_visible()  # the warning is still unacknowledged
    warn_id = warn.get_attribute("data-condition")
    page.get_by_test_id(f"ack-comment-{warn_id}").fill("Tăng cường thông gió")
    page.get_by_test_id(f"ack-{warn_id}").click()
    expect(warn.get_by_test_id("alarm-state")).to_have_text("Đang hoạt động, đã xác nhận")
    expect(banner).to_be_hidden()
    expect(page.get_by_test_id("sensor-A1-CH4-01")).to_have_class("sensor st-alarm selected")
    shot(page, "telemetry-live-acked")

    # The journal has the acknowledgement with who and why.
    journal = page.request.get(f"{url}/api/v1/telemetry/alarms/journal?site=A-M1").json()
    acks = [e for e in journal if e["event"] == "acked" and e["limit"] == "ch4_face_return_trip"]
    assert acks and acks[0]["user"] == DISPATCHER
    assert acks[0]["comment"] == "Đã cắt điện lò chợ, rút người ra gió sạch"

    page.goto(f"{url}/telemetry/")
    expect(page.get_by_test_id("mine-A-M1")).to_have_attribute("data-worst", "alarm")
    expect(page.get_by_test_id("active-A-M1")).to_have_text("2")
    expect(page.get_by_test_id("unacked-A-M1")).to_have_text("0")
    shot(page, "telemetry-group")
    updated = page.get_by_test_id("mines-updated").inner_text()
    expect(page.get_by_test_id("mines-updated")).not_to_have_text(updated, timeout=10_000)  # htmx polls
    expect(page.get_by_test_id("active-A-M1")).to_have_text("2")

    page.goto(f"{url}/telemetry/sensor/A1-CH4-01/")
    expect(page.locator("#history-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("history-step")).to_contain_text("phút")  # 7 days: per-minute aggregates
    expect(page.get_by_test_id("journal")).to_contain_text("Đã cắt điện lò chợ")
    page.wait_for_timeout(500)
    shot(page, "telemetry-history")
    # Zoomed to the last few hours, the chart loads every reading for that window.
    page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('history-chart'))"
        ".dispatchAction({type: 'dataZoom', start: 97.5, end: 100})"
    )
    expect(page.get_by_test_id("history-step")).to_contain_text("từng giá trị đo")

    # The same live page in English.
    page.goto(f"{url}/telemetry/A-M1/")
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("connection")).to_have_text("live")
    expect(page.get_by_test_id("value-A1-O2-01")).to_contain_text(".")
    expect(page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_trip")).to_contain_text(
        "Active, acknowledged"
    )
    shot(page, "telemetry-live-en")

    # Methane back to normal: the acknowledged warning closes; the trip stays latched until it is reset.
    simulator.levels["A1-CH4-01"] = 0.42
    expect(page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_warn")).to_have_count(0, timeout=15_000)
    page.get_by_test_id(f"reset-{trip_id}").click()
    expect(page.get_by_test_id("no-alarms")).to_be_visible()
    expect(page.get_by_test_id("sensor-A1-CH4-01")).to_have_class("sensor st-normal selected")
    assert not simulator.errors, simulator.errors


if __name__ == "__main__":  # the server fixture seeds its database by running this module
    seed()
