"""Hardening of meetings, directives, key tasks and the pack (issue 11): links into another unit check and audit
both places, the pack workbook writes people's text as text, edge dates answer a JSON 422 instead of an HTML
500, and names and texts refuse NUL, right-to-left overrides and zero-width characters."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from headframe.briefing import services
from headframe.briefing.models import Directive, KeyTask, KeyTaskKpi, Meeting
from headframe.briefing.services import AgendaItemIn, BridgePointIn
from headframe.core.errors import ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from tests.briefing.helpers_meetings import at, bridge_points
from tests.factories import make_user

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/","x")'
RLO, NUL, ZWSP = "\u202e", "\x00", "\u200b"
OCT = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
LATER = "2030-01-31"  # a deadline ahead of any test run


@pytest.fixture
def points(tree):
    bridge_points(tree)
    return tree


def _detail(response) -> list[dict]:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return response.json()["detail"]


def _meeting_body(**overrides) -> dict:
    return {
        "unit": "A",
        "title": "Giao ban tháng 10",
        "starts_at": "2026-11-05T08:00:00+07:00",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        **overrides,
    }


# --- defect 4: the pack workbook writes text as text -------------------------------------------------------


def test_pack_workbook_writes_titles_narrative_directives_and_kpis_as_text(api, points, users):
    m = services.meeting_create(
        actor=users.planner_g,
        unit_code="G",
        title=FORMULA,
        starts_at=at(dt.date(2026, 11, 5)),
        period_start=OCT[0],
        period_end=OCT[1],
        chair=users.planner_g,
        bridge_points=[BridgePointIn("DC-G", "")],
        agenda=[AgendaItemIn("Sản xuất", "production")],
    )
    services.meeting_update(
        actor=users.planner_g, meeting=m, changes={"narrative_vi": FORMULA, "narrative_en": FORMULA}
    )
    services.directive_create(
        actor=users.planner_g,
        text=FORMULA,
        owner_unit_code="A",
        deadline=dt.date(2026, 10, 20),
        today=dt.date(2026, 10, 5),
        now=at(dt.date(2026, 10, 5), 9),
    )
    task = services.key_task_create(actor=users.planner_g, year=2026, title_vi=FORMULA, owner_unit_code="G")
    services.kpi_create(actor=users.planner_g, key_task=task, name_vi=FORMULA, kind="manual")

    response = api(users.planner_g).get(f"/api/v1/briefing/meetings/{m.pk}/pack.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    found = {
        (sheet.title, c.coordinate): c.data_type
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
        if c.value == FORMULA
    }
    sheets = {title for title, _cell in found}
    # meeting title + narrative (summary), directive text, key-task title and KPI name
    assert {"Tóm tắt", "Kết luận, chỉ đạo", "Nhiệm vụ trọng tâm"} <= sheets, found
    assert len(found) >= 5, found
    assert set(found.values()) == {"s"}
    formulas = [
        c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


# --- defect 5: edge dates are field errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/directives/reminders", {"on": "9999-12-31"}, "on"),
        ("/api/v1/directives/reminders", {"on": "0001-01-01"}, "on"),
        ("/api/v1/key-tasks", {"on": "9999-12-31"}, "on"),
        ("/api/v1/briefing/pack", {"unit": "A", "from": "0001-01-01", "to": "0001-01-31"}, "from"),
    ],
)
def test_reads_with_a_date_outside_the_calendar_are_a_field_error(api, users, url, params, field):
    response = api(users.admin_a).get(url, **params)
    assert response.status_code == 422, response.content
    item = _detail(response)[0]
    assert (item["loc"], item["type"]) == (["query", field], "date_out_of_range")


def test_writes_with_a_date_outside_the_calendar_are_refused(api, points, users):
    caller = api(users.admin_a)
    meeting = caller.post(
        "/api/v1/briefing/meetings", _meeting_body(period_start="9999-12-01", period_end="9999-12-31")
    )
    assert meeting.status_code == 422
    assert _detail(meeting)[0]["type"] == "date_out_of_range"
    directive = caller.post(
        "/api/v1/directives", {"text": "x", "owner_unit": "A-M1", "deadline": "9999-12-31"}
    )
    assert directive.status_code == 422 and _detail(directive)[0]["loc"] == ["body", "deadline"]
    assert not Meeting.objects.exists() and not Directive.objects.exists()
    with pytest.raises(ValidationFailed):  # the same through the service (the web form)
        services.directive_create(
            actor=users.admin_a, text="x", owner_unit_code="A-M1", deadline=dt.date(9999, 12, 31)
        )


# --- defect 9: hidden characters in names and texts ---------------------------------------------------------


@pytest.mark.parametrize("bad", [RLO, NUL, ZWSP])
def test_names_and_texts_with_hidden_characters_are_refused(api, points, users, bad):
    caller = api(users.admin_a)
    meeting = caller.post("/api/v1/briefing/meetings", _meeting_body(title=f"Giao ban{bad}"))
    assert meeting.status_code == 422
    assert (_detail(meeting)[0]["loc"], _detail(meeting)[0]["type"]) == (
        ["body", "title"],
        "hidden_character",
    )
    agenda = caller.post(
        "/api/v1/briefing/meetings",
        _meeting_body(agenda=[{"title": f"Sản xuất{bad}", "section": "production"}]),
    )
    assert agenda.status_code == 422 and _detail(agenda)[0]["loc"] == ["body", "agenda", 0, "title"]
    directive = caller.post(
        "/api/v1/directives", {"text": f"Khắc phục{bad}", "owner_unit": "A-M1", "deadline": LATER}
    )
    assert directive.status_code == 422 and _detail(directive)[0]["loc"] == ["body", "text"]
    task = caller.post("/api/v1/key-tasks", {"year": 2026, "title_vi": f"Nhiệm vụ{bad}", "owner_unit": "A"})
    assert task.status_code == 422 and _detail(task)[0]["loc"] == ["body", "title_vi"]
    assert not Meeting.objects.exists() and not Directive.objects.exists() and not KeyTask.objects.exists()

    ok = caller.post("/api/v1/key-tasks", {"year": 2026, "title_vi": "Nhiệm vụ", "owner_unit": "A"})
    assert ok.status_code == 201
    kpi = caller.post(f"/api/v1/key-tasks/{ok.json()['id']}/kpis", {"name_vi": f"Mốc{bad}", "kind": "manual"})
    assert kpi.status_code == 422 and _detail(kpi)[0]["loc"] == ["body", "name_vi"]
    assert not KeyTaskKpi.objects.exists()


def test_the_narrative_keeps_line_breaks_but_not_hidden_characters(api, points, users):
    caller = api(users.admin_a)
    created = caller.post("/api/v1/briefing/meetings", _meeting_body())
    assert created.status_code == 201
    url = f"/api/v1/briefing/meetings/{created.json()['id']}"
    refused = caller.patch(url, {"narrative_vi": f"Tháng 10{ZWSP}"})
    assert refused.status_code == 422 and _detail(refused)[0]["loc"] == ["body", "narrative_vi"]
    kept = caller.patch(url, {"narrative_vi": "Dòng một\nDòng hai"})
    assert kept.status_code == 200 and kept.json()["narrative_vi"] == "Dòng một\nDòng hai"


@pytest.mark.parametrize("field", ["period_start", "period_end", "starts_at", "title"])
def test_emptying_a_meetings_period_or_time_is_a_422_not_a_500(api, points, users, field):
    caller = api(users.admin_a)
    created = caller.post("/api/v1/briefing/meetings", _meeting_body())
    url = f"/api/v1/briefing/meetings/{created.json()['id']}"
    before = caller.get(url).json()[field]
    refused = caller.patch(url, {field: None})
    assert refused.status_code == 422, refused.content
    assert _detail(refused)[0]["loc"] == ["body", field]
    assert caller.get(url).json()[field] == before


def test_a_progress_comment_with_a_nul_is_refused(points, users):
    d = services.directive_create(
        actor=users.admin_a, text="x", owner_unit_code="A-M1", deadline=dt.date(2030, 1, 1)
    )
    with pytest.raises(ValidationFailed) as exc:
        services.directive_update_status(
            actor=users.admin_a, directive=d, status="in_progress", comment=f"a{NUL}"
        )
    assert exc.value.items[0].loc == ("body", "comment")
    assert not d.comments.exists()


# --- defect 1: a link into another unit checks (and audits) both places ------------------------------------


@pytest.fixture
def task_b(tree):
    return services.key_task_create(actor=None, year=2026, title_vi="Nhiệm vụ của B", owner_unit_code="B")


def test_a_directive_cannot_serve_another_companys_key_task(api, points, users, task_b):
    # A's planner who may also read B: sees B's key task, may not write into B.
    mixed = api(make_user("ke_hoach_a_xem_b", ("planner", "A"), ("viewer", "B")))
    response = mixed.post(
        "/api/v1/directives", {"text": "x", "owner_unit": "A-M1", "deadline": LATER, "key_task": task_b.pk}
    )
    assert response.status_code == 403
    assert _detail(response)[0]["loc"] == ["body", "key_task"]
    # One who may not even see it gets the answer an unknown id gets.
    unseen = api(users.admin_a).post(
        "/api/v1/directives", {"text": "x", "owner_unit": "A-M1", "deadline": LATER, "key_task": task_b.pk}
    )
    missing = api(users.admin_a).post(
        "/api/v1/directives", {"text": "x", "owner_unit": "A-M1", "deadline": LATER, "key_task": 999_999}
    )
    assert unseen.status_code == missing.status_code == 422
    assert _detail(unseen)[0]["type"] == _detail(missing)[0]["type"] == "unknown_key_task"
    assert not Directive.objects.exists()
    assert not AuditEntry.objects.filter(object_type="briefing.directive").exists()


def test_a_directive_serving_a_key_task_below_it_is_audited_there_too(points, users):
    task = services.key_task_create(
        actor=users.planner_g, year=2026, title_vi="Lò chợ K1", owner_unit_code="A-M1"
    )
    d = services.directive_create(
        actor=users.planner_g, text="x", owner_unit_code="A", deadline=dt.date(2030, 1, 1), key_task=task
    )
    paths = set(
        AuditEntry.objects.filter(object_type="briefing.directive", object_id=str(d.pk)).values_list(
            "unit_path", flat=True
        )
    )
    assert paths == {Unit.objects.get(code="A").path, Unit.objects.get(code="A-M1").path}


def test_a_key_task_off_the_owners_line_is_refused_even_to_a_group_planner(points, users, task_b):
    with pytest.raises(ValidationFailed) as exc:
        services.directive_create(
            actor=users.planner_g,
            text="x",
            owner_unit_code="A",
            deadline=dt.date(2030, 1, 1),
            key_task=task_b,
        )
    assert exc.value.items[0].type == "key_task_outside_owner"
    group_task = services.key_task_create(actor=None, year=2026, title_vi="Tập đoàn", owner_unit_code="G")
    # The group's own key task may be served by a company's directive: the group encloses it.
    d = services.directive_create(
        actor=users.planner_g,
        text="x",
        owner_unit_code="A",
        deadline=dt.date(2030, 1, 1),
        key_task=group_task,
    )
    assert d.key_task == group_task
    assert Directive.objects.count() == 1


def test_the_chair_must_be_a_user_of_the_meeting_unit(api, points, users):
    caller = api(users.admin_a)
    foreign = caller.post("/api/v1/briefing/meetings", _meeting_body(chair="admin_b"))
    nobody = caller.post("/api/v1/briefing/meetings", _meeting_body(chair="nobody"))
    assert foreign.status_code == nobody.status_code == 422
    assert _detail(foreign)[0]["type"] == _detail(nobody)[0]["type"] == "unknown_user"
    assert not Meeting.objects.exists()
    created = caller.post("/api/v1/briefing/meetings", _meeting_body(chair="viewer_a"))
    assert created.status_code == 201 and created.json()["chair"] == "viewer_a"
    patched = caller.patch(f"/api/v1/briefing/meetings/{created.json()['id']}", {"chair": "admin_b"})
    assert patched.status_code == 422
    assert Meeting.objects.get().chair.username == "viewer_a"


def test_a_bridge_point_out_of_sight_is_refused_like_an_unknown_one(api, points, users):
    response = api(users.admin_a).post(
        "/api/v1/briefing/meetings",
        _meeting_body(bridge_points=[{"code": "DC-A"}, {"code": "DC-B"}, {"code": "DC-X"}]),
    )
    assert response.status_code == 422
    assert [(i["loc"], i["type"]) for i in _detail(response)] == [
        (["body", "bridge_points", 1, "code"], "unknown_bridge_point"),
        (["body", "bridge_points", 2, "code"], "unknown_bridge_point"),
    ]
    assert not Meeting.objects.exists()
