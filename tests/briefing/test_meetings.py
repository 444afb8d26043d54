"""Meetings: lifecycle (planned → in session → closed), closing freezes the pack, a closed meeting is frozen,
the live room's focus and attendance, scope, and the API."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.briefing import selectors, services
from headframe.briefing.models import AgendaItem, Meeting, MeetingStatus
from headframe.briefing.services import AgendaItemIn, BridgePointIn, meetings
from headframe.core.errors import Conflict, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from tests.briefing.helpers_meetings import at, bridge_points, meeting, run
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def points(tree):
    bridge_points(tree)
    return tree


def test_a_meeting_is_created_with_its_bridge_points_attendees_and_agenda(points, users):
    m = meeting(actor=users.planner_g)
    assert m.status == MeetingStatus.PLANNED
    assert [(p.bridge_point.code, p.attendees) for p in selectors.bridge_points_of(m)] == [
        ("DC-A", "Giám đốc A"),
        ("DC-B", "Giám đốc B"),
        ("DC-G", "Lãnh đạo Tập đoàn"),
    ]
    assert [(a.order, a.section) for a in selectors.agenda_of(m)] == [
        (1, "production"),
        (2, "safety"),
        (3, "directives"),
    ]
    assert AuditEntry.objects.filter(
        object_type="briefing.meeting", object_id=str(m.pk), action="create"
    ).exists()


def test_start_then_close_freezes_the_meeting(points, users):
    m = meeting()
    services.meeting_start(actor=users.planner_g, meeting=m)
    m.refresh_from_db()
    assert m.status == MeetingStatus.IN_SESSION
    assert m.current_agenda_item.order == 1 and m.current_section == "production"
    services.meeting_close(actor=users.planner_g, meeting=m)
    m.refresh_from_db()
    assert m.status == MeetingStatus.CLOSED
    assert m.closed_by == users.planner_g and m.closed_at is not None


def test_closing_twice_is_a_conflict_naming_when_it_was_closed(points):
    m = run(meeting())
    with pytest.raises(Conflict, match="already closed") as exc:
        services.meeting_close(actor=None, meeting=m)
    assert exc.value.items[0].type == "meeting_closed"


def test_a_planned_meeting_cannot_be_closed_before_it_starts(points):
    with pytest.raises(Conflict, match="has not started"):
        services.meeting_close(actor=None, meeting=meeting())


def test_starting_twice_is_a_conflict(points):
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    with pytest.raises(Conflict, match="only a planned meeting"):
        services.meeting_start(actor=None, meeting=m)


@pytest.mark.parametrize(
    "edit",
    [
        {"changes": {"narrative_vi": "Sửa sau khi đóng"}},
        {"changes": {"title": "Khác"}},
        {"agenda": [AgendaItemIn("Mới", "other")]},
        {"bridge_points": [BridgePointIn("DC-G")]},
    ],
)
def test_a_closed_meeting_cannot_be_edited(points, edit):
    m = run(meeting())
    with pytest.raises(Conflict, match="closed") as exc:
        services.meeting_update(actor=None, meeting=m, **edit)
    assert exc.value.status == 409
    m.refresh_from_db()
    assert m.narrative_vi == "" and m.agenda_items.count() == 3


def test_the_pack_cannot_be_written_through_update(points):
    m = meeting()
    with pytest.raises(ValidationFailed, match="pack cannot be changed"):
        services.meeting_update(actor=None, meeting=m, changes={"pack": {"x": 1}})


def test_closing_stores_the_pack_built_by_pack_build(points, monkeypatch):
    monkeypatch.setattr(meetings, "pack_build", lambda m: {"meeting": m.pk, "production": {"raw_coal_t": 1}})
    m = run(meeting())
    m.refresh_from_db()
    assert m.pack == {"meeting": m.pk, "production": {"raw_coal_t": 1}}


def test_a_meeting_whose_pack_cannot_be_built_is_not_closed_and_freezes_nothing(points, monkeypatch):
    # A failing read fails the close: the meeting stays in session with no pack, never a partial pack frozen.
    def broken(m):
        raise RuntimeError("safety read failed")

    monkeypatch.setattr(meetings, "pack_build", broken)
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    with pytest.raises(RuntimeError):
        services.meeting_close(actor=None, meeting=m)
    m.refresh_from_db()
    assert m.status == MeetingStatus.IN_SESSION and m.pack is None and m.closed_at is None


def test_the_narrative_is_editable_until_closing(points):
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    services.meeting_update(actor=None, meeting=m, changes={"narrative_vi": "Tháng 10, toàn Tập đoàn…"})
    m.refresh_from_db()
    assert m.narrative_vi == "Tháng 10, toàn Tập đoàn…"


def test_unknown_or_foreign_bridge_points_are_refused_by_position(points, users):
    with pytest.raises(ValidationFailed) as exc:
        meeting(unit="A", points=(("DC-A", ""), ("DC-B", ""), ("DC-X", "")))
    assert [(i.loc, i.type) for i in exc.value.items] == [
        (("body", "bridge_points", 1, "code"), "bridge_point_outside_unit"),
        (("body", "bridge_points", 2, "code"), "unknown_bridge_point"),
    ]


def test_the_period_must_not_end_before_it_starts(points):
    with pytest.raises(ValidationFailed) as exc:
        services.meeting_create(
            actor=None,
            unit_code="G",
            title="x",
            starts_at=at(dt.date(2027, 11, 5)),
            period_start=dt.date(2027, 10, 31),
            period_end=dt.date(2027, 10, 1),
        )
    assert exc.value.items[0].loc == ("body", "period_end")


def test_only_planners_of_the_unit_call_meetings(points, users):
    with pytest.raises(PermissionDenied):
        meeting(unit="G", actor=make_user("viewer_g", ("viewer", "G")))
    with pytest.raises(ValidationFailed, match="unknown unit"):  # a unit one cannot see is not revealed
        meeting(unit="G", actor=users.admin_a)
    with pytest.raises(PermissionDenied):
        meeting(unit="A", actor=users.viewer_a, points=(("DC-A", ""),))
    assert meeting(unit="A", actor=users.admin_a, points=(("DC-A", ""),)).unit.code == "A"


def test_the_chair_may_run_a_meeting_without_being_a_planner(points, users):
    m = meeting(chair=users.viewer_a, unit="A", points=(("DC-A", ""),))
    services.meeting_start(actor=users.viewer_a, meeting=m)
    services.meeting_close(actor=users.viewer_a, meeting=m)
    with pytest.raises(PermissionDenied):
        services.meeting_start(actor=users.reporter_a, meeting=meeting(unit="A", points=()))


def test_focus_moves_to_an_agenda_item_and_its_section(points):
    m = meeting()
    with pytest.raises(Conflict, match="not in session"):
        services.meeting_set_focus(actor=None, meeting=m, section="safety")
    services.meeting_start(actor=None, meeting=m)
    item = AgendaItem.objects.get(meeting=m, order=2)
    services.meeting_set_focus(actor=None, meeting=m, agenda_item_id=item.pk)
    m.refresh_from_db()
    assert (m.current_agenda_item_id, m.current_section) == (item.pk, "safety")
    services.meeting_set_focus(actor=None, meeting=m, section="key_tasks")
    m.refresh_from_db()
    assert m.current_section == "key_tasks"
    with pytest.raises(ValidationFailed) as exc:
        services.meeting_set_focus(actor=None, meeting=m, section="gossip")
    assert exc.value.items[0].loc == ("body", "section")
    other = meeting(title="khác")
    with pytest.raises(ValidationFailed):
        services.meeting_set_focus(actor=None, meeting=m, agenda_item_id=other.agenda_items.first().pk)


def test_a_bridge_point_joins_then_beats(points, users):
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    t0 = at(dt.date(2027, 11, 5), 8)
    joined = services.bridge_point_join(actor=users.viewer_a, meeting=m, bridge_point_code="DC-A", now=t0)
    assert joined.joined_at == t0
    later = t0 + dt.timedelta(seconds=30)
    beat = services.bridge_point_heartbeat(
        actor=users.viewer_a, meeting=m, bridge_point_code="DC-A", now=later
    )
    assert (beat.joined_at, beat.last_seen_at) == (t0, later)
    with pytest.raises(PermissionDenied):
        services.bridge_point_join(actor=users.viewer_a, meeting=m, bridge_point_code="DC-B")
    with pytest.raises(ValidationFailed):
        services.bridge_point_join(
            actor=users.viewer_a, meeting=meeting(points=(("DC-G", ""),)), bridge_point_code="DC-A"
        )


def test_a_company_user_sees_its_company_meetings_and_the_group_meetings_it_takes_part_in(points, users):
    group_with_a = meeting(title="Tập đoàn, có A")
    group_without_a = meeting(title="Tập đoàn, không có A", points=(("DC-G", ""), ("DC-B", "")))
    own = meeting(unit="A", title="Công ty A", points=(("DC-A", ""),))
    other = meeting(unit="B", title="Công ty B", points=(("DC-B", ""),))
    seen = set(selectors.meetings_visible(users.viewer_a))
    assert seen == {group_with_a, own}
    assert other not in seen and group_without_a not in seen
    # Taking part does not open the group's pack: that needs a role on the group.
    assert selectors.can_see_pack(users.viewer_a, own)
    assert not selectors.can_see_pack(users.viewer_a, group_with_a)
    assert selectors.can_see_pack(users.planner_g, group_with_a)
    assert set(selectors.meetings_visible(users.planner_g)) == {group_with_a, group_without_a, own, other}


def test_a_company_taking_part_in_a_group_meeting_does_not_read_its_group_narrative(points, users, api):
    group = meeting(title="Tập đoàn, có A")
    services.meeting_update(actor=None, meeting=group, changes={"narrative_vi": "Công ty B chỉ đạt 61%…"})
    seen_by_a = api(users.viewer_a).get(f"/api/v1/briefing/meetings/{group.pk}")
    assert seen_by_a.status_code == 200 and seen_by_a.json()["narrative_vi"] is None
    seen_by_group = api(users.planner_g).get(f"/api/v1/briefing/meetings/{group.pk}").json()
    assert seen_by_group["narrative_vi"] == "Công ty B chỉ đạt 61%…"


# --- API -----------------------------------------------------------------------------------------------


def _body(**extra):
    return {
        "unit": "G",
        "type": "monthly",
        "title": "Giao ban tháng 10/2027",
        "starts_at": "2027-11-05T08:00:00+07:00",
        "period_start": "2027-10-01",
        "period_end": "2027-10-31",
        "bridge_points": [{"code": "DC-G", "attendees": "Lãnh đạo"}, {"code": "DC-A", "attendees": "GĐ A"}],
        "agenda": [
            {"title": "Sản xuất", "section": "production"},
            {"title": "Kết luận", "section": "directives"},
        ],
        **extra,
    }


def test_api_meeting_lifecycle(points, users, api):
    caller = api(users.planner_g)
    created = caller.post("/api/v1/briefing/meetings", _body())
    assert created.status_code == 201, created.json()
    mid = created.json()["id"]
    assert created.json()["status"] == "planned"
    assert [p["code"] for p in created.json()["bridge_points"]] == ["DC-A", "DC-G"]
    assert caller.post(f"/api/v1/briefing/meetings/{mid}/start").json()["status"] == "in_session"
    agenda = caller.get(f"/api/v1/briefing/meetings/{mid}").json()["agenda"]
    focus = caller.post(f"/api/v1/briefing/meetings/{mid}/focus", {"agenda_item": agenda[1]["id"]})
    assert focus.json()["current_section"] == "directives"
    join = api(users.viewer_a).post(f"/api/v1/briefing/meetings/{mid}/join", {"bridge_point": "DC-A"})
    assert join.status_code == 200, join.json()
    closed = caller.post(f"/api/v1/briefing/meetings/{mid}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = caller.post(f"/api/v1/briefing/meetings/{mid}/close")
    assert again.status_code == 409
    assert again.json()["detail"][0]["type"] == "meeting_closed"
    edit = caller.patch(f"/api/v1/briefing/meetings/{mid}", {"narrative_vi": "muộn"})
    assert edit.status_code == 409


def test_api_meeting_bad_input_and_scope(points, users, api):
    bad = api(users.planner_g).post("/api/v1/briefing/meetings", _body(unit="NOPE"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "unit"]
    refused = api(users.admin_a).post("/api/v1/briefing/meetings", _body())
    assert refused.status_code in (403, 422)
    m = meeting(unit="B", points=(("DC-B", ""),))
    assert api(users.viewer_a).get(f"/api/v1/briefing/meetings/{m.pk}").status_code == 404
    listed = api(users.viewer_a).get("/api/v1/briefing/meetings").json()
    assert all(item["unit"] != "B" for item in listed["items"])


def test_meetings_page_and_detail_render(points, users, client):
    m = meeting()
    client.force_login(users.planner_g)
    page = client.get("/briefing/")
    assert page.status_code == 200 and "Giao ban tháng 10/2027" in page.content.decode()
    detail = client.get(f"/briefing/meetings/{m.pk}/")
    assert detail.status_code == 200
    assert "DC-A" in detail.content.decode()


def test_meeting_rows_are_never_closed_without_a_time(points):
    m = meeting()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.filter(pk=m.pk).update(status="closed")
