"""The briefing pack: its figures are the production selectors' own, for the group and each company; best and
worst units; directives carried over; a closed meeting serves its frozen pack; scope of pages and API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from headframe.briefing import services as briefing
from headframe.briefing.pack import num, pack_build, pack_for, pack_restrict
from headframe.org.models import Unit
from headframe.production import selectors
from headframe.production.services import ActualRow, actuals_upsert
from tests.briefing import pack_fixtures
from tests.briefing.pack_fixtures import END, NOW, START
from tests.factories import make_user

pytestmark = pytest.mark.django_db
figures, group_meeting = pack_fixtures.figures, pack_fixtures.group_meeting  # the shared fixtures

KEYS = {
    "month_actual": lambda s: s.mtd.actual,
    "month_plan_to_date": lambda s: s.mtd.plan,
    "month_pct_to_date": lambda s: s.mtd.pct,
    "month_plan": lambda s: s.month_plan,
    "ytd_actual": lambda s: s.ytd.actual,
    "ytd_plan": lambda s: s.ytd.plan,
    "year_pct_to_date": lambda s: s.ytd.pct,  # v1 called it ytd_pct
    "year_plan": lambda s: s.year_plan,
    "last_year_mtd": lambda s: s.last_year_mtd,
    "last_year_ytd": lambda s: s.last_year_ytd,
    "ytd_change_pct": lambda s: s.ytd_change_pct,
    "required_daily_year": lambda s: s.required_daily_year,
    "forecast_year_end": lambda s: s.forecast_year_end,
}


def _by_unit(pack: dict) -> dict:
    return {b["unit"]["code"]: b for b in pack["blocks"]}


def test_pack_figures_are_the_production_selectors_figures_for_group_and_each_company(figures):
    pack = pack_for(Unit.objects.get(code="G"), START, END)
    blocks = _by_unit(pack)
    assert list(blocks) == ["G", "A", "B"]
    key = selectors.indicators_for(key_only=True)
    for code, block in blocks.items():
        expected = {
            s.indicator.code: s for s in selectors.unit_summary(Unit.objects.get(code=code), END, key)
        }
        rows = {r["indicator"]: r for r in block["production"]["rows"]}
        assert "raw_coal_t" in rows
        for indicator, row in rows.items():
            s = expected[indicator]
            for name, read in KEYS.items():
                assert row[name] == num(read(s)), (code, indicator, name)
            # % of the whole month's and year's plan: the selectors' own figures
            assert row["month_pct"] == num(s.month_pct)
            assert row["year_pct"] == num(s.year_pct)
    json.dumps(pack)  # JSON-able as it is


def test_indicators_a_unit_has_no_figures_for_are_left_out(figures):
    blocks = _by_unit(pack_for(Unit.objects.get(code="G"), START, END))
    assert "roadway_m" in {r["indicator"] for r in blocks["A"]["production"]["rows"]}
    assert "roadway_m" not in {r["indicator"] for r in blocks["B"]["production"]["rows"]}


def test_best_and_worst_company_against_the_pro_rata_plan(figures):
    group = _by_unit(pack_for(Unit.objects.get(code="G"), START, END))["G"]["production"]
    raw = next(r for r in group["ranking"] if r["indicator"] == "raw_coal_t")
    split = selectors.children_summaries(
        Unit.objects.get(code="G"),
        END,
        selectors.indicators_by_codes(["raw_coal_t"]),
        list(Unit.objects.filter(code__in=["A", "B"]).order_by("code")),
    )
    assert raw["best"]["code"] == "A" and raw["best"]["pct"] == num(split["A"][0].mtd.pct)
    assert raw["worst"]["code"] == "B" and raw["worst"]["pct"] == num(split["B"][0].mtd.pct)
    assert raw["best"]["pct"] > 100 > raw["worst"]["pct"]


def test_early_warnings_are_the_selectors_warnings(figures):
    # Since pack v2 the group itself is checked too (issue 12, defect 4): the root is passed with the companies.
    group = Unit.objects.get(code="G")
    blocks = _by_unit(pack_for(group, START, END))
    companies = list(Unit.objects.filter(code__in=["A", "B"]).order_by("code"))
    expected = selectors.early_warnings(
        group, END, [group, *companies], selectors.indicators_for(key_only=True)
    )
    assert [
        (w["unit"], w["indicator"], w["required_daily"]) for w in blocks["G"]["production"]["early_warnings"]
    ] == [(w.unit.code, w.indicator.code, num(w.required_daily)) for w in expected]
    assert any(w.unit.code == "B" for w in expected)  # B's faces run below what the year still needs


def test_chart_series_is_the_month_day_by_day(figures):
    chart = _by_unit(pack_for(Unit.objects.get(code="G"), START, END))["A"]["production"]["chart"]
    assert chart["indicator"] == "raw_coal_t"
    assert len(chart["days"]) == 31
    assert chart["actual"][0] == 1_051 + 50  # the face's figure on 1/10 (the only face of A)


def test_a_period_ending_mid_month_reads_figures_as_of_that_day(figures):
    mid = dt.date(2026, 10, 15)
    rows = _by_unit(pack_for(Unit.objects.get(code="G"), START, mid))["A"]["production"]["rows"]
    raw = next(r for r in rows if r["indicator"] == "raw_coal_t")
    assert raw["month_actual"] == sum(1_100 + d for d in range(1, 16))


def test_directives_carried_into_the_pack_as_they_stood_at_the_period_end(group_meeting):
    pack = pack_build(group_meeting.meeting)
    d = pack["directives"]
    assert d["available"]
    assert [x["number"] for x in d["overdue"]] == [group_meeting.overdue.number]
    assert [x["number"] for x in d["due"]] == [group_meeting.due.number]
    assert [x["number"] for x in d["done"]] == [group_meeting.done.number]
    assert d["overdue"][0]["owner"] == "B" and d["overdue"][0]["status"] == "overdue"
    assert "1 quá hạn, 1 đang đến hạn" in pack["narrative"]["vi"]  # counts as a person writes them


def test_a_company_pack_is_its_own_block_and_its_own_directives(group_meeting):
    pack = pack_build(group_meeting.meeting)
    company = pack_restrict(pack, "A")
    assert company["unit"]["code"] == "A"
    assert [b["unit"]["code"] for b in company["blocks"]] == ["A"]
    assert company["blocks"][0] == _by_unit(pack)["A"]
    assert company["directives"]["overdue"] == []  # B's
    assert [x["owner"] for x in company["directives"]["due"]] == ["A"]
    assert company["narrative"]["vi"].startswith("Tháng 10/2026, Đơn vị A sản xuất")
    assert pack_restrict(pack, "NOPE") is None


def test_an_open_meeting_shows_the_chairs_edit_and_a_closed_one_its_frozen_pack(group_meeting, users):
    m = group_meeting.meeting
    briefing.meeting_update(actor=users.planner_g, meeting=m, changes={"narrative_vi": "Tóm tắt đã sửa."})
    m.refresh_from_db()
    live = pack_build(m)
    assert live["narrative_edited"]["vi"] == "Tóm tắt đã sửa."
    assert live["meeting"]["id"] == m.pk and not live["frozen"]
    briefing.meeting_start(actor=users.planner_g, meeting=m)
    briefing.meeting_close(actor=users.planner_g, meeting=m)
    m.refresh_from_db()
    frozen = pack_build(m)
    assert frozen["frozen"]
    before = _by_unit(frozen)["A"]["production"]["rows"][0]["month_actual"]
    # A late correction after the meeting changes the figures, not the frozen pack.
    actuals_upsert(
        actor=None,
        rows=[
            ActualRow("A-M1-K1-F1", "raw_coal_t", dt.date(2026, 10, 3), 0, 99_999, confirm_implausible=True)
        ],
        source="api",
        now=NOW,
    )
    m.refresh_from_db()
    assert _by_unit(pack_build(m))["A"]["production"]["rows"][0]["month_actual"] == before
    assert _by_unit(pack_for(m.unit, START, END))["A"]["production"]["rows"][0]["month_actual"] != before


def test_telemetry_alarms_of_the_period_are_counted_per_site(figures, monkeypatch):
    from headframe.telemetry import selectors as telemetry

    calls = []

    def fake_kpis(*, site_path, start, end):
        calls.append((site_path, start, end))
        return telemetry.AlarmKpis(3, 0.5, [(start, 12)], [("S1", "ch4", 3)], [], [])

    from headframe.telemetry.models import Gateway

    Gateway.objects.create(code="GW-A1", site=Unit.objects.get(code="A-M1"), name="Trạm A1")
    monkeypatch.setattr(telemetry, "alarm_kpis", fake_kpis)
    blocks = _by_unit(pack_for(Unit.objects.get(code="G"), START, END))
    site = blocks["G"]["safety"]["sites"][0]
    assert site["code"] == "A-M1" and site["alarms"] == 3 and site["flood_periods"] == 1
    assert blocks["A"]["safety"]["alarms"] == 3 and blocks["B"]["safety"]["alarms"] == 0
    (path, start, end), *_ = calls
    assert path == "/G/A/A-M1/"
    assert (start.isoformat(), end.isoformat()) == ("2026-10-01T00:00:00+07:00", "2026-11-01T00:00:00+07:00")


def test_a_failing_safety_read_fails_the_pack_instead_of_vanishing_from_it(figures, monkeypatch):
    # Was: the safety app "may be missing", so a failing read was logged and left out of the pack. Every app
    # is always installed (DESIGN §1) and a meeting freezes its pack: a pack missing its safety figures
    # without a word is worse than no pack (issue 12).
    from headframe.safety import selectors as safety

    def broken(*args, **kwargs):
        raise RuntimeError("safety read failed")

    monkeypatch.setattr(safety, "incident_counts", broken)
    with pytest.raises(RuntimeError):
        pack_for(Unit.objects.get(code="G"), START, END)


def test_a_period_that_ends_before_it_starts_is_refused(figures):
    from headframe.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        pack_for(Unit.objects.get(code="G"), END, START)


# ---------------------------------------------------------------- API and pages: scope


def test_group_pack_api_for_a_group_user(group_meeting, users, api):
    r = api(users.planner_g).get(f"/api/v1/briefing/meetings/{group_meeting.meeting.pk}/pack")
    assert r.status_code == 200
    assert [b["unit"]["code"] for b in r.json()["blocks"]] == ["G", "A", "B"]


def test_a_company_user_sees_its_company_pack_and_not_the_group_pack(group_meeting, users, api):
    pk = group_meeting.meeting.pk
    caller = api(users.admin_a)
    assert caller.get(f"/api/v1/briefing/meetings/{pk}/pack").status_code == 404
    own = caller.get(f"/api/v1/briefing/meetings/{pk}/pack", unit="A")
    assert own.status_code == 200 and [b["unit"]["code"] for b in own.json()["blocks"]] == ["A"]
    assert caller.get(f"/api/v1/briefing/meetings/{pk}/pack", unit="B").status_code == 404
    assert caller.get(f"/api/v1/briefing/meetings/{pk}/pack.pdf").status_code == 404
    assert caller.get(f"/api/v1/briefing/meetings/{pk}/pack.xlsx", unit="B").status_code == 404
    assert caller.get("/api/v1/briefing/pack", unit="G").status_code == 404


def test_a_group_viewer_of_a_company_may_also_ask_for_the_company_pack(group_meeting, api):
    viewer = make_user("viewer_g", ("viewer", "G"))
    r = api(viewer).get(f"/api/v1/briefing/meetings/{group_meeting.meeting.pk}/pack", unit="B")
    assert r.status_code == 200 and r.json()["unit"]["code"] == "B"


def test_adhoc_pack_api_with_a_period(figures, users, api):
    r = api(users.viewer_a).get(
        "/api/v1/briefing/pack", unit="A", **{"from": "2026-10-01", "to": "2026-10-31"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == {"start": "2026-10-01", "end": "2026-10-31", "kind": "month"}  # kind: pack v2
    assert body["unit"]["code"] == "A"
    bad = api(users.viewer_a).get(
        "/api/v1/briefing/pack", unit="A", **{"from": "2026-10-31", "to": "2026-10-01"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "to"]


def test_pack_page_and_room_render_for_the_chair(group_meeting, users, client):
    client.force_login(users.planner_g)
    pk = group_meeting.meeting.pk
    page = client.get(f"/briefing/meetings/{pk}/pack")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="narrative"' in html and "toàn Tập đoàn sản xuất" in html
    assert 'data-testid="narrative-edit"' in html  # the chair may edit the summary before closing
    room = client.get(f"/briefing/meetings/{pk}/room")
    assert room.status_code == 200
    assert 'data-testid="focus-production"' in room.content.decode()


def test_pack_page_of_a_company_user_shows_the_company_only(group_meeting, users, client):
    client.force_login(users.admin_a)
    html = client.get(f"/briefing/meetings/{group_meeting.meeting.pk}/pack").content.decode()
    assert 'data-testid="figures-A"' in html and 'data-testid="figures-G"' not in html
    assert client.get(f"/briefing/meetings/{group_meeting.meeting.pk}/pack?unit=B").status_code == 404
    stranger = make_user("stranger", ("viewer", "B-M1"))
    client.force_login(stranger)
    assert client.get(f"/briefing/meetings/{group_meeting.meeting.pk}/room").status_code == 404


def test_key_tasks_of_the_year_carry_their_kpi_values_from_the_briefing_selectors(figures, users):
    from headframe.briefing.selectors import key_task_status

    task = briefing.key_task_create(
        actor=users.planner_g, year=2026, title_vi="Hoàn thành kế hoạch than nguyên khai", owner_unit_code="G"
    )
    briefing.kpi_create(
        actor=users.planner_g,
        key_task=task,
        name_vi="Than nguyên khai ≥ 100% kế hoạch",
        kind="indicator_vs_plan",
        indicator_code="raw_coal_t",
        unit_code="G",
        target=100,
    )
    items = pack_for(Unit.objects.get(code="G"), START, END)["key_tasks"]["items"]
    expected = key_task_status(task, END)
    assert [t["title_vi"] for t in items] == ["Hoàn thành kế hoạch than nguyên khai"]
    kpi = items[0]["kpis"][0]
    assert kpi["value"] == num(expected.kpis[0].value) and kpi["state"] == expected.kpis[0].state
    assert items[0]["status"] == expected.status
    company = pack_for(Unit.objects.get(code="A"), START, END)["key_tasks"]["items"]
    assert [t["number"] for t in company] == [task.number]  # the group's key tasks apply to its companies


def test_a_company_pack_never_carries_the_chairs_group_summary(group_meeting, users, api, client):
    """The chair's edited summary speaks for the whole group: a company's pack (live or frozen, API or page)
    shows the draft of its own block instead, and the group pack still shows the edit."""
    from headframe.briefing.pack.narrative import narrative_of

    m = group_meeting.meeting
    secret_vi, secret_en = "Công ty B chỉ đạt 61% kế hoạch, thua xa A", "B only 61%, far behind A"
    briefing.meeting_update(
        actor=users.planner_g, meeting=m, changes={"narrative_vi": secret_vi, "narrative_en": secret_en}
    )
    m.refresh_from_db()

    def check():
        whole = pack_build(m)
        assert narrative_of(whole, "vi") == secret_vi and narrative_of(whole, "en") == secret_en
        company = pack_restrict(whole, "A")
        assert not company.get("narrative_edited")
        assert narrative_of(company, "vi").startswith("Tháng 10/2026, Đơn vị A sản xuất")
        assert "61%" not in json.dumps(company, ensure_ascii=False)
        r = api(users.admin_a).get(f"/api/v1/briefing/meetings/{m.pk}/pack", unit="A")
        assert r.status_code == 200 and "61%" not in r.content.decode()
        client.force_login(users.admin_a)
        page = client.get(f"/briefing/meetings/{m.pk}/pack")
        assert page.status_code == 200 and "61%" not in page.content.decode()
        assert 'data-testid="figures-A"' in page.content.decode()

    check()
    briefing.meeting_start(actor=users.planner_g, meeting=m)
    briefing.meeting_close(actor=users.planner_g, meeting=m)
    m.refresh_from_db()
    assert m.pack["narrative_edited"]["vi"] == secret_vi  # frozen with the edit, restricted when served
    check()


def test_the_frozen_pack_says_the_meeting_is_closed_and_when(group_meeting, users):
    m = group_meeting.meeting
    assert pack_build(m)["meeting"]["closed_at"] is None
    briefing.meeting_start(actor=users.planner_g, meeting=m)
    m.refresh_from_db()
    assert pack_build(m)["meeting"]["status"] == "in_session"
    closed = briefing.meeting_close(actor=users.planner_g, meeting=m, now=NOW)
    m.refresh_from_db()
    assert m.pack["meeting"]["status"] == "closed"
    assert m.pack["meeting"]["closed_at"] == timezone.localtime(NOW).isoformat()
    assert m.pack["meeting"]["closed_at"] == timezone.localtime(closed.closed_at).isoformat()
    frozen = pack_build(m)
    assert frozen["frozen"] and frozen["meeting"]["status"] == "closed"
    assert pack_restrict(frozen, "A")["meeting"]["status"] == "closed"


def test_a_sensor_out_of_service_stands_in_the_pack_page_and_narrative(figures, client):
    from headframe.telemetry import services as telemetry
    from headframe.telemetry.models import Gateway

    site = Unit.objects.get(code="A-M1")
    gateway = Gateway.objects.create(code="GW-A1", site=site, name="Trạm A1")
    position = Unit.objects.filter(path__startswith=site.path).exclude(pk=site.pk).first() or site
    sensor = telemetry.sensor_create(
        actor=None,
        code="A1-CH4-01",
        kind="ch4_pct",
        location="face_return",
        position=position,
        gateway=gateway,
    )
    officer = make_user("an_toan_a", ("safety_officer", "A-M1"))
    telemetry.sensor_out_of_service(actor=officer, sensor=sensor, reason="thay đầu đo", hours=4)
    pack = pack_for(Unit.objects.get(code="G"), START, END)
    blocks = _by_unit(pack)
    [item] = blocks["G"]["safety"]["out_of_service"]
    assert (item["sensor"], item["reason"]) == ("A1-CH4-01", "thay đầu đo") and item["until"]
    assert blocks["A"]["safety"]["out_of_service"] and not blocks["B"]["safety"]["out_of_service"]
    from headframe.briefing.pack.narrative import safety_sentence

    sentence = safety_sentence(blocks["G"])
    assert "1 cảm biến đang ngừng hoạt động (không được giám sát)" in sentence["vi"]
