"""The alarm console in Debian's Chromium at 1366×768 (a control-room PC) and 390×844 (a phone), served by a
real uvicorn process with its stale-data watchdog running, on its own database seeded by this module run as a
script. A simulator thread posts both gateways' readings to the HTTP API every two seconds, as gateways would.

Methane trips at the face and is acknowledged (ticked, "acknowledge selected", one comment); it falls back, the
trip stays latched and says it can be reset; a new excursion re-annunciates it in the banner. Then gateway GW-A2
goes silent: the watchdog raises ONE "gateway lost" alarm, its sensors' no-data alarms are suppressed by that
rule and listed as such, not in the alarm table. Every action an operator touches stays inside the screen's
width, and nothing scrolls sideways. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.servers import seed_unit, serve, shot

pytestmark = pytest.mark.e2e

DISPATCHER = "dieu_do_a"
SAFETY = "an_toan_a"

# code -> (gateway, baseline, wobble)
FED = {
    "A1-CH4-01": ("GW-A1", 0.42, 0.03),
    "A1-CO-01": ("GW-A1", 6.0, 1.0),
    "A1-O2-01": ("GW-A1", 20.6, 0.1),
    "A1-CH4-02": ("GW-A1", 0.31, 0.04),
    "A1-V-01": ("GW-A1", 1.8, 0.1),
    "A1-WL-01": ("GW-A1", 3.25, 0.01),  # above the sump's 3,0 m: its alarm is shelved in the seed
    "A1-PUMP-01": ("GW-A1", 1.0, 0.0),
    "A2-CH4-01": ("GW-A2", 0.36, 0.03),
    "A2-CO-01": ("GW-A2", 5.0, 1.0),
    "A2-O2-01": ("GW-A2", 20.7, 0.1),
    "A2-CH4-02": ("GW-A2", 0.28, 0.03),
}
# Silent this long, the gateway is lost (the watchdog looks every 5 s): under its sensors' 30 s stale time, so the
# outage is one "gateway lost" alarm, and over the time the server takes to start after the seed wrote the last
# readings — 6 s was not, on a slow machine (its first scan found GW-A2 lost before the simulator's first post).
GW_A2_TIMEOUT_S = 15


def _value(code: str, t_ms: int, levels: dict) -> float:
    base, wobble = levels.get(code, FED[code][1]), FED[code][2]
    return round(base + wobble * math.sin(t_ms / 97_000 + len(code)), 3)


def seed() -> None:
    """Run in a subprocess against the server's database: tree, people, two gateways, an hour of readings, a
    shelved water-level alarm and a sensor out of service."""
    import django

    django.setup()
    from headframe.org import services as org
    from headframe.telemetry import services
    from headframe.telemetry.models import AlarmCondition, Gateway
    from tests.factories import PASSWORD

    seed_unit("G", "Tập đoàn Than", "group")
    seed_unit("A", "Công ty Than A", "company", "G")
    site = seed_unit("A-M1", "Mỏ than hầm lò A1", "site", "A", site_type="underground")
    seed_unit("A-M1-K1", "Phân xưởng khai thác 1", "area", "A-M1")
    face = seed_unit("A-M1-K1-F1", "Lò chợ 11-1", "position", "A-M1-K1", position_kind="longwall_face")
    heading = seed_unit(
        "A-M1-K1-D1", "Lò chuẩn bị 11-2", "position", "A-M1-K1", position_kind="development_heading"
    )
    seed_unit("A-M1-K2", "Phân xưởng cơ điện – thoát nước", "area", "A-M1")
    pumps = seed_unit("A-M1-K2-P1", "Trạm bơm mức -150", "position", "A-M1-K2", position_kind="pump_station")
    seed_unit("A-M1-K3", "Phân xưởng khai thác 3", "area", "A-M1")
    face_3 = seed_unit("A-M1-K3-F1", "Lò chợ 13-1", "position", "A-M1-K3", position_kind="longwall_face")
    dispatcher = org.user_create(
        actor=None, username=DISPATCHER, grants=[("dispatcher", "A-M1"), ("viewer", "G")], password=PASSWORD
    )
    safety = org.user_create(
        actor=None, username=SAFETY, grants=[("safety_officer", "A-M1"), ("viewer", "G")], password=PASSWORD
    )
    gateway_user = org.user_create(actor=None, username="gw", grants=[("gateway", "G")], password=PASSWORD)
    _, token = org.token_create(actor=None, user=gateway_user, name="simulator")

    gw_1 = Gateway.objects.create(code="GW-A1", site=site, name="Trạm trung tâm A1")
    gw_2 = Gateway.objects.create(code="GW-A2", site=site, name="Trạm khu 3", timeout_s=GW_A2_TIMEOUT_S)
    sensors = {}
    for code, kind, position, location, gateway in [
        ("A1-CH4-01", "ch4_pct", face, "face_return", gw_1),
        ("A1-CO-01", "co_ppm", face, "face_return", gw_1),
        ("A1-O2-01", "o2_pct", face, "face_return", gw_1),
        ("A1-CO-02", "co_ppm", face, "face_return", gw_1),
        ("A1-CH4-02", "ch4_pct", heading, "development_heading", gw_1),
        ("A1-V-01", "air_velocity_ms", heading, "development_heading", gw_1),
        ("A1-WL-01", "water_level_m", pumps, "sump", gw_1),
        ("A1-PUMP-01", "pump_running", pumps, "sump", gw_1),
        ("A2-CH4-01", "ch4_pct", face_3, "face_return", gw_2),
        ("A2-CO-01", "co_ppm", face_3, "face_return", gw_2),
        ("A2-O2-01", "o2_pct", face_3, "face_return", gw_2),
        ("A2-CH4-02", "ch4_pct", face_3, "face_return", gw_2),
    ]:
        sensors[code] = services.sensor_create(
            actor=None, code=code, kind=kind, position=position, location=location, gateway=gateway
        )

    now = int(time.time() * 1000)
    live = {"GW-A1": [], "GW-A2": []}
    for i in range(120, 0, -1):
        ts = now - i * 10_000
        for code, (gateway, _base, _wobble) in FED.items():
            live[gateway].append((code, ts, _value(code, ts, {})))
        live["GW-A1"].append(("A1-CO-02", ts, 5.0))
    services.ingest([services.Batch(gw, rows) for gw, rows in live.items()], now_ms=now)

    water = AlarmCondition.objects.get(sensor=sensors["A1-WL-01"], limit_code="water_sump_high")
    services.alarm_shelve(
        actor=dispatcher,
        condition_id=water.id,
        minutes=240,
        reason="Đang chạy bơm dự phòng, theo dõi tại chỗ",
    )
    services.sensor_out_of_service(
        actor=safety, sensor=sensors["A1-CO-02"], reason="Hiệu chuẩn định kỳ đầu đo CO", hours=8
    )
    print(json.dumps({"token": token}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn with its watchdog (gateway timeouts, no-data alarms), on its own seeded database."""
    yield from serve(tmp_path_factory.mktemp("alarm-console"), "tests.e2e.test_alarm_console")


class Simulator(threading.Thread):
    """Posts every fed sensor's reading to the API every two seconds, like the mine's gateways; a gateway in
    `silent` sends nothing (an outage)."""

    def __init__(self, url: str, token: str):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.levels: dict[str, float] = {}
        self.silent: set[str] = set()
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def post(self) -> None:
        now = int(time.time() * 1000)
        for gateway in ("GW-A1", "GW-A2"):
            if gateway in self.silent:
                continue
            readings = [
                {"sensor": code, "ts": now, "value": _value(code, now, self.levels)}
                for code, (gw, _b, _w) in FED.items()
                if gw == gateway
            ]
            if gateway == "GW-A1":
                readings.append({"sensor": "A1-CO-02", "ts": now, "value": 5.0})
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


@pytest.fixture(scope="module")
def simulator(server):
    sim = Simulator(server["url"], server["token"])
    sim.start()
    yield sim
    sim.stopped.set()
    sim.join(timeout=15)


def _log_in(page, url: str, username: str, then: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{url}/accounts/login/?next={then}")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(f"{url}{then}")


# Everything an operator touches on the console, and the page's own controls.
ACTIONABLE = "button, summary, input:not([type=hidden]), select, a.button"


def assert_fits_the_screen(page, where: str = "#alarm-console") -> int:
    """No horizontal scrolling, and every visible control of `where` lies inside the window's width (open the
    shelve panels first so their controls count too). Returns how many controls were checked."""
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    boxes = page.evaluate(
        """([where, selector]) => Array.from(document.querySelectorAll(where + ' ' + selector.split(', ')
              .join(', ' + where + ' ')))
            .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
            .map(e => { const r = e.getBoundingClientRect();
                        return {what: e.dataset.testid || e.name || e.textContent.trim().slice(0, 30),
                                left: r.left + scrollX, right: r.right + scrollX, width: r.width}; })""",
        [where, ACTIONABLE],
    )
    outside = [b for b in boxes if b["left"] < 0 or b["right"] > width + 0.5 or b["width"] < 8]
    assert not outside, f"controls outside the {width} px window: {outside}"
    return len(boxes)


def _open_shelve_panels(page) -> None:
    for summary in page.locator("#alarm-console details.shelve > summary").all():
        summary.click()


def test_the_console_at_1366_and_on_a_phone(page, server, simulator):
    url = server["url"]
    page.set_viewport_size({"width": 1366, "height": 768})
    _log_in(page, url, DISPATCHER, "/telemetry/A-M1/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("no-alarms")).to_be_visible()
    expect(page.get_by_test_id("alarm-banner")).to_be_hidden()
    # What hides alarms is listed where the operator looks: who, why, until when.
    shelved = page.get_by_test_id("shelved-list")
    expect(shelved).to_contain_text("Mực nước cao")
    expect(shelved).to_contain_text("Đang chạy bơm dự phòng")
    expect(shelved).to_contain_text("Bởi dieu_do_a, đến ")
    oos = page.get_by_test_id("oos-A1-CO-02")
    expect(oos).to_contain_text("Hiệu chuẩn định kỳ đầu đo CO")
    expect(oos).to_contain_text("Bởi an_toan_a, đến ")
    expect(page.get_by_test_id("return-A1-CO-02")).to_have_count(0)  # a dispatcher is no safety officer

    # Methane trips at the face.
    simulator.levels["A1-CH4-01"] = 1.2
    trip = page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_trip")
    expect(trip).to_be_visible(timeout=15_000)
    trip_id = trip.get_attribute("data-condition")
    banner = page.get_by_test_id("alarm-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_test_id(f"banner-{trip_id}")).to_contain_text("CH₄ ngắt điện")
    expect(banner).to_have_attribute("data-sounding", "1")
    expect(trip.get_by_test_id("latch-note")).to_have_text(
        "Đã chốt — chờ giá trị xuống dưới ngưỡng để đặt lại"
    )
    expect(page.get_by_test_id(f"shelve-open-{trip_id}")).to_have_count(0)  # no operator override
    warn = page.get_by_test_id("alarm-A1-CH4-01-ch4_face_return_warn")
    expect(warn).to_be_visible(timeout=25_000)
    _open_shelve_panels(page)
    assert assert_fits_the_screen(page) >= 8
    shot(page, "alarm-console-1366")

    # Acknowledge the trip alone: tick it, one comment, "acknowledge selected".
    page.get_by_test_id(f"select-{trip_id}").check()
    page.get_by_test_id("ack-many-comment").fill("Đã cắt điện lò chợ, rút người ra gió sạch")
    page.get_by_test_id("ack-selected").click()
    expect(trip.get_by_test_id("alarm-state")).to_have_text("Đang hoạt động, đã xác nhận")
    expect(trip.get_by_test_id("acked-note")).to_contain_text("Đã cắt điện lò chợ")
    expect(warn).to_have_attribute("data-unacked", "1")
    expect(banner.get_by_test_id(f"banner-{trip_id}")).to_have_count(0)

    # Methane falls back: the trip stays latched, acknowledged, and says it can be reset now.
    simulator.levels["A1-CH4-01"] = 0.3
    expect(trip.get_by_test_id("latch-note")).to_have_text("Đã chốt — có thể đặt lại", timeout=15_000)
    expect(trip.get_by_test_id("alarm-state")).to_have_text("Đã chốt, cần đặt lại")
    expect(page.get_by_test_id(f"reset-{trip_id}")).to_be_visible()
    # Acknowledge everything shown (the warning, back to normal or not).
    page.get_by_test_id("ack-many-comment").fill("Đã kiểm tra thông gió")
    page.get_by_test_id("ack-visible").click()
    expect(banner).to_be_hidden()

    # A new excursion while latched and acknowledged: a NEW unacknowledged alarm, in the banner, sounding.
    simulator.levels["A1-CH4-01"] = 2.2
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner.get_by_test_id(f"banner-{trip_id}")).to_contain_text("CH₄ ngắt điện: CH₄ 2,")
    expect(banner).to_have_attribute("data-sounding", "1")
    expect(trip).to_have_attribute("data-unacked", "1")
    expect(trip.get_by_test_id("alarm-state")).to_have_text("Đang hoạt động, chưa xác nhận")
    box = banner.bounding_box()
    table = page.get_by_test_id("alarm-list").bounding_box()
    assert box["y"] + box["height"] <= table["y"], "the banner must not cover the alarm list"
    assert_fits_the_screen(page)
    shot(page, "methane-reannunciated-1366")

    # Gateway GW-A2 goes silent: ONE "gateway lost" alarm; its sensors' no-data alarms are suppressed by rule.
    simulator.silent.add("GW-A2")
    lost = page.get_by_test_id("alarm-GW-A2-gateway_lost")
    expect(lost).to_be_visible(timeout=30_000)
    expect(lost).to_contain_text("Mất kết nối trạm thu thập GW-A2")
    expect(lost).to_contain_text("4 cảm biến không có số liệu")
    expect(page.get_by_test_id(f"shelve-open-{lost.get_attribute('data-condition')}")).to_have_count(0)
    expect(banner).to_contain_text("GW-A2")
    page.wait_for_timeout(12_000)  # the sensors' own stale time passes: still no flood
    expect(page.locator("#alarm-list tr[data-condition]").filter(has_text="GW-A2")).to_have_count(1)
    expect(page.locator('#alarm-list tr[data-testid$="-stale"]')).to_have_count(0)
    suppressed = page.get_by_test_id("suppressed-group-GW-A2")
    expect(suppressed).to_contain_text("4 cảnh báo bị chặn")
    expect(suppressed).to_contain_text("cho đến khi trạm thu thập GW-A2 kết nối lại")
    suppressed.locator("summary").click()
    for code in ("A2-CH4-01", "A2-CO-01", "A2-O2-01", "A2-CH4-02"):
        expect(page.get_by_test_id(f"suppressed-{code}")).to_be_visible()
    expect(page.get_by_test_id("sensor-A2-CH4-01")).to_have_class("sensor st-stale is-stale")
    assert_fits_the_screen(page)
    page.get_by_test_id("hidden-alarms").scroll_into_view_if_needed()
    shot(page, "gateway-outage-1366")

    # A tablet's width: too narrow for the columns, so every alarm is a card.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")
    _open_shelve_panels(page)
    assert_fits_the_screen(page)
    shot(page, "alarm-console-1024")

    # The same console on a phone: stacked cards, every button reachable, nothing sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")
    expect(banner).to_be_visible()
    _open_shelve_panels(page)
    assert assert_fits_the_screen(page) >= 8
    lost_id = lost.get_attribute("data-condition")
    page.get_by_test_id(f"ack-comment-{lost_id}").fill("Đã báo tổ cơ điện kiểm tra trạm")
    page.get_by_test_id(f"ack-{lost_id}").click()
    expect(lost.get_by_test_id("acked-note")).to_contain_text("Đã báo tổ cơ điện")
    shot(page, "alarm-console-390")

    # The group page, on the phone and on the PC.
    page.goto(f"{url}/telemetry/")
    expect(page.get_by_test_id("mine-A-M1")).to_have_attribute("data-worst", "alarm")
    expect(page.get_by_test_id("gateways-lost-A-M1")).to_be_visible()
    assert_fits_the_screen(page, "main")
    shot(page, "group-390")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.reload()
    assert_fits_the_screen(page, "main")
    shot(page, "group-1366")

    # Back online: the gateway alarm returns and goes once acknowledged (it was), the suppression ends.
    simulator.silent.discard("GW-A2")
    page.goto(f"{url}/telemetry/A-M1/")
    expect(page.get_by_test_id("alarm-GW-A2-gateway_lost")).to_have_count(0, timeout=20_000)
    expect(page.get_by_test_id("suppressed-group-GW-A2")).to_have_count(0, timeout=20_000)
    assert not simulator.errors, simulator.errors


def test_a_safety_officer_takes_a_sensor_out_of_service_and_reads_its_history_by_dates(
    page, server, simulator
):
    url = server["url"]
    page.set_viewport_size({"width": 1366, "height": 768})
    _log_in(page, url, SAFETY, "/telemetry/sensor/A1-CH4-02/")
    page.get_by_test_id("oos-form").locator("summary").click()
    expect(page.get_by_test_id("oos-hours")).to_have_value("8")
    page.get_by_test_id("oos-reason").fill("Thay đầu đo CH₄ lò chuẩn bị")
    page.get_by_test_id("oos-hours").select_option("4")
    page.get_by_test_id("oos-submit").click()
    notice = page.get_by_test_id("out-of-service")
    expect(notice).to_contain_text("Thay đầu đo CH₄ lò chuẩn bị")
    expect(notice).to_contain_text("Bởi an_toan_a, đến ")
    expect(page.get_by_test_id("in-service")).to_have_text("không")

    # The history by calendar dates: today, written the Vietnamese way.
    today = page.evaluate(
        "new Intl.DateTimeFormat('en-GB', {timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit',"
        " year: 'numeric'}).format(new Date())"
    )
    page.get_by_test_id("period-from").fill(today)
    page.get_by_test_id("period-to").fill(today)
    page.get_by_test_id("period-show").click()
    expect(page.get_by_test_id("period-shown")).to_have_text(
        f"Từ {today} 00:00 đến {today} 24:00 (giờ Việt Nam)"
    )
    expect(page.locator("#history-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("history-step")).to_contain_text("phút")  # a whole day: per-minute
    assert_fits_the_screen(page, "main")
    shot(page, "sensor-out-of-service-1366")

    # On the mine page it is listed as out of service, and the safety officer returns it from there.
    page.goto(f"{url}/telemetry/A-M1/")
    item = page.get_by_test_id("oos-A1-CH4-02")
    expect(item).to_contain_text("Thay đầu đo CH₄ lò chuẩn bị")
    expect(page.get_by_test_id("sensor-A1-CH4-02")).to_have_class("sensor st-oos")
    page.get_by_test_id("return-A1-CH4-02").click()
    expect(item).to_have_count(0)
    expect(page.get_by_test_id("oos-A1-CO-02")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/telemetry/sensor/A1-CH4-02/")
    assert_fits_the_screen(page, "main")
    shot(page, "sensor-history-390")


if __name__ == "__main__":  # the server fixture seeds its database by running this module
    seed()
