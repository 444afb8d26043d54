"""The live briefing room against a real uvicorn process (its SSE stream needs ASGI), on its own database seeded
by this module run as a script: a group meeting in session with two bridge points and October… figures.

- the stream itself, read with urllib: state events on connect, a focus change and a new directive arriving,
  and Last-Event-ID resuming after the last directive seen;
- two browser contexts in Debian's Chromium — the chair at the group and a company's bridge point: the bridge
  point joins, the chair moves everyone to the production section and raises a directive, and the bridge
  point's view follows without a reload. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.servers import seed_unit, serve, shot

pytestmark = pytest.mark.e2e

CHAIR, BRIDGE = "chu_tri", "diem_cau_a"


def seed() -> None:
    """Run in a subprocess against the server's database."""
    import datetime as dt

    import django

    django.setup()
    from django.utils import timezone

    from headframe.briefing import services as briefing
    from headframe.briefing.services import AgendaItemIn, BridgePointIn
    from headframe.org import services as org
    from headframe.production import services as production
    from headframe.production.services import ActualRow
    from tests.factories import PASSWORD

    seed_unit("G", "Tập đoàn Than", "group")
    for company, name in (("A", "Công ty Than A"), ("B", "Công ty Than B")):
        seed_unit(company, name, "company", "G")
        seed_unit(f"{company}-M1", f"Mỏ than hầm lò {company}1", "site", company, site_type="underground")
        seed_unit(f"{company}-M1-K1", "Phân xưởng khai thác 1", "area", f"{company}-M1")
        seed_unit(
            f"{company}-M1-K1-F1",
            "Lò chợ 11-1",
            "position",
            f"{company}-M1-K1",
            position_kind="longwall_face",
        )
    chair = org.user_create(actor=None, username=CHAIR, grants=[("planner", "G")], password=PASSWORD)
    org.user_create(actor=None, username=BRIDGE, grants=[("admin", "A")], password=PASSWORD)
    _, token = org.token_create(actor=None, user=chair, name="e2e")
    org.bridge_point_create(actor=None, code="DC-G", name_vi="Điểm cầu Tập đoàn", unit_code="G")
    org.bridge_point_create(actor=None, code="DC-A", name_vi="Điểm cầu Công ty Than A", unit_code="A")
    today = timezone.localdate()
    end = today - dt.timedelta(days=1)
    start = end.replace(day=1)
    for code, annual in (("A-M1", 400_000), ("B-M1", 700_000)):
        production.plan_version_create(
            actor=None,
            unit_code=code,
            year=end.year,
            effective_from=dt.date(end.year, 1, 1),
            values={"raw_coal_t": annual},
        )
    rows = []
    day = dt.date(end.year, 1, 1)
    while day <= end:
        rows.append(ActualRow("A-M1-K1-F1", "raw_coal_t", day, 0, 1_150 + day.day))
        rows.append(ActualRow("B-M1-K1-F1", "raw_coal_t", day, 0, 1_800 + day.day % 5))
        day += dt.timedelta(days=1)
    production.actuals_upsert(actor=None, rows=rows, source="api")
    meeting = briefing.meeting_create(
        actor=chair,
        unit_code="G",
        title=f"Giao ban tháng {end.month}/{end.year}",
        starts_at=timezone.now(),
        period_start=start,
        period_end=end,
        chair=chair,
        bridge_points=[
            BridgePointIn("DC-G", "Lãnh đạo Tập đoàn"),
            BridgePointIn("DC-A", "Giám đốc Công ty A"),
        ],
        agenda=[
            AgendaItemIn("Khai mạc, tóm tắt", "other", "Chủ trì"),
            AgendaItemIn("Tình hình sản xuất", "production", "Ban Điều khiển sản xuất"),
            AgendaItemIn("An toàn", "safety", "Ban An toàn"),
            AgendaItemIn("Kết luận", "directives", "Chủ trì"),
        ],
    )
    briefing.meeting_start(actor=chair, meeting=meeting)
    print(json.dumps({"meeting": meeting.pk, "token": token}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory.mktemp("briefing-room"), "tests.e2e.test_briefing_room")


def _api(server, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server['url']}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server['token']}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _session(server, username: str) -> urllib.request.OpenerDirector:
    from tests.factories import PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server['url']}/accounts/login/", timeout=10).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    request = urllib.request.Request(
        f"{server['url']}/accounts/login/",
        data=form.encode(),
        headers={"Referer": f"{server['url']}/accounts/login/"},
    )
    opener.open(request, timeout=10).read()
    assert any(c.name == "sessionid" for c in jar)
    return opener


class Stream:
    """Reads server-sent events off a live response."""

    def __init__(self, opener, url: str, last_event_id: int | None = None):
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = opener.open(urllib.request.Request(url, headers=headers), timeout=15)
        assert self.response.headers["Content-Type"].startswith("text/event-stream")

    def next_event(self) -> dict:
        event: dict = {}
        while True:
            line = self.response.readline().decode()
            if line in ("\n", "\r\n", ""):
                if "event" in event:
                    return event
                event = {}
                continue
            field, _, value = line.rstrip("\n").partition(": ")
            if field == "data":
                event["data"] = json.loads(value)
            elif field in ("event", "id"):
                event[field] = value

    def until(self, name: str, predicate=lambda data: True, limit: int = 50) -> dict:
        for _ in range(limit):
            event = self.next_event()
            if event["event"] == name and predicate(event["data"]):
                return event
        raise AssertionError(f"no {name} event")

    def close(self) -> None:
        self.response.close()


def test_room_stream_sends_state_then_focus_changes_and_directives_and_resumes_after_the_last_id(server):
    meeting = server["meeting"]
    stream_url = f"{server['url']}/briefing/meetings/{meeting}/room/stream"
    viewer = _session(server, BRIDGE)
    stream = Stream(viewer, stream_url)
    try:
        first = [stream.next_event() for _ in range(3)]
        assert [e["event"] for e in first] == ["focus", "status", "points"]
        assert first[1]["data"]["status"] == "in_session"
        assert {p["code"] for p in first[2]["data"]} == {"DC-A", "DC-G"}
        _api(server, f"/api/v1/briefing/meetings/{meeting}/focus", {"section": "safety"})
        assert stream.until("focus", lambda d: d["section"] == "safety")["data"]["section"] == "safety"
        raised = _api(
            server,
            "/api/v1/directives",
            {
                "text": "Kiểm tra hệ thống quan trắc khí mỏ A1",
                "owner_unit": "A",
                "deadline": "2099-12-31",
                "meeting": meeting,
            },
        )
        event = stream.until("directive")
        assert (
            event["id"] == str(raised["id"])
            and event["data"]["text"] == "Kiểm tra hệ thống quan trắc khí mỏ A1"
        )
    finally:
        stream.close()
    # A browser reconnecting with the last id it saw gets the state again, not the directive it already has.
    again = Stream(viewer, stream_url, last_event_id=raised["id"] - 1)
    try:
        assert again.until("directive")["id"] == str(raised["id"])
    finally:
        again.close()
    resumed = Stream(viewer, stream_url, last_event_id=raised["id"])
    try:
        events = [resumed.next_event()["event"] for _ in range(3)]
        assert "directive" not in events
    finally:
        resumed.close()


def _log_in(page, url: str, username: str, next_path: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{url}/accounts/login/?next={next_path}")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(f"{url}{next_path}")


def test_chair_moves_the_bridge_points_view_and_raises_a_directive_live(browser, server):
    url, meeting = server["url"], server["meeting"]
    room_path = f"/briefing/meetings/{meeting}/room"
    chair_context = browser.new_context(viewport={"width": 1600, "height": 1000})
    bridge_context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        chair, bridge = chair_context.new_page(), bridge_context.new_page()
        _log_in(chair, url, CHAIR, room_path)
        _log_in(bridge, url, BRIDGE, room_path)
        for page in (chair, bridge):
            expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")

        # The bridge point at company A joins; the chair sees it come online.
        bridge.get_by_test_id("join-point").select_option("DC-A")
        bridge.get_by_test_id("join").click()
        expect(bridge.get_by_test_id("joined-as")).to_contain_text("Điểm cầu Công ty Than A")
        expect(chair.get_by_test_id("point-DC-A")).to_have_class("online", timeout=10_000)

        # The chair moves everyone to the production section: the bridge point follows without a reload.
        bridge.evaluate("window.__sameDocument = true")
        chair.get_by_test_id("focus-production").click()
        expect(bridge.get_by_test_id("room")).to_have_attribute("data-section", "production", timeout=10_000)
        expect(bridge.locator("#sec-production")).to_be_visible()
        expect(bridge.locator("#sec-summary")).to_be_hidden()
        expect(bridge.get_by_test_id("figures-A")).to_be_visible()  # the company's own figures
        expect(bridge.get_by_test_id("figures-G")).to_have_count(0)  # not the group's
        expect(chair.get_by_test_id("figures-G")).to_be_visible()
        expect(chair.locator('[data-testid="figures-G"] td[data-k="month_actual"]').first).to_contain_text(
            "."
        )

        # Agenda item 2 from the chair's list: the current item follows on both screens.
        chair.get_by_test_id("focus-agenda-2").click()
        expect(bridge.get_by_test_id("now-agenda")).to_have_text("2. Tình hình sản xuất", timeout=10_000)

        # A directive raised by the chair appears at the bridge point.
        chair.get_by_test_id("directive-text").fill("Công ty A lập phương án tăng sản lượng lò chợ 11-1")
        chair.get_by_test_id("directive-owner").select_option("A")
        chair.get_by_test_id("directive-submit").click()
        expect(chair.get_by_test_id("directive-msg")).to_have_text("Đã ghi kết luận, chỉ đạo.")
        expect(bridge.get_by_test_id("directive-list")).to_contain_text(
            "Công ty A lập phương án tăng sản lượng lò chợ 11-1", timeout=10_000
        )
        assert bridge.evaluate("window.__sameDocument === true")  # never reloaded
        bridge.wait_for_timeout(300)
        shot(chair, "briefing-room-chair")
        shot(bridge, "briefing-room-bridge")

        # The pack page, projector-friendly, for the chair.
        chair.goto(f"{url}/briefing/meetings/{meeting}/pack")
        expect(chair.get_by_test_id("narrative")).to_contain_text("toàn Tập đoàn sản xuất")
        shot(chair, "briefing-pack")
    finally:
        chair_context.close()
        bridge_context.close()


if __name__ == "__main__":
    seed()
