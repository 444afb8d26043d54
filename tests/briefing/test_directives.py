"""Directives: fast creation and its bad inputs, numbering, progress with evidence, overdue derived from the
deadline, carry-over into the next meeting's pack, reminders per owner, scope, audit, API."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.briefing import selectors, services
from headframe.briefing.models import Directive, DirectiveComment, EffectiveStatus
from headframe.core.errors import Conflict, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org import services as org_services
from headframe.org.models import Unit
from tests.briefing.helpers_meetings import at, bridge_points, meeting, run

pytestmark = pytest.mark.django_db

NOV5 = dt.date(2027, 11, 5)


@pytest.fixture
def points(tree):
    bridge_points(tree)
    return tree


def raise_(owner="A", deadline=dt.date(2027, 11, 30), *, day=NOV5, actor=None, **kwargs) -> Directive:
    kwargs.setdefault("text", f"Chỉ đạo cho {owner}")
    return services.directive_create(
        actor=actor, owner_unit_code=owner, deadline=deadline, today=day, now=at(day, 9), **kwargs
    )


def done(d, day, evidence="Biên bản nghiệm thu", actor=None):
    return services.directive_update_status(
        actor=actor, directive=d, status="done", evidence=evidence, now=at(day, 15)
    )


# --- creation ------------------------------------------------------------------------------------------


def test_directives_are_numbered_within_the_year_they_are_raised(points):
    first, second = raise_(), raise_()
    assert (first.number, second.number) == ("1/2027", "2/2027")
    assert raise_(day=dt.date(2028, 1, 2), deadline=dt.date(2028, 2, 1)).number == "1/2028"


def test_a_deadline_in_the_past_is_refused_on_the_deadline_field(points):
    with pytest.raises(ValidationFailed) as exc:
        raise_(deadline=NOV5 - dt.timedelta(days=1))
    assert [(i.loc, i.type) for i in exc.value.items] == [(("body", "deadline"), "deadline_in_past")]
    assert raise_(deadline=NOV5).deadline == NOV5  # today itself is fine


def test_an_unknown_owner_is_refused_on_the_owner_field(points):
    with pytest.raises(ValidationFailed) as exc:
        raise_(owner="NOPE")
    assert [(i.loc, i.type) for i in exc.value.items] == [(("body", "owner_unit"), "unknown_unit")]


def test_every_bad_field_is_reported_at_once(points):
    with pytest.raises(ValidationFailed) as exc:
        raise_(owner="NOPE", deadline=dt.date(2020, 1, 1), text=" ", priority="urgent")
    assert {i.loc[-1] for i in exc.value.items} == {"owner_unit", "deadline", "text", "priority"}


def test_a_company_meeting_cannot_direct_another_company(points, users):
    m = meeting(unit="A", points=(("DC-A", ""),))
    services.meeting_start(actor=None, meeting=m)
    with pytest.raises(ValidationFailed) as exc:
        raise_(owner="B", meeting=m, actor=users.admin_a)
    assert exc.value.items[0].loc == ("body", "owner_unit")
    assert raise_(owner="A-M1", meeting=m, actor=users.admin_a).meeting == m


def test_only_planners_of_the_meeting_unit_raise_directives(points, users):
    m = meeting()
    with pytest.raises(PermissionDenied):
        raise_(owner="A", meeting=m, actor=users.admin_a)  # administers A, not the group holding the meeting
    with pytest.raises(PermissionDenied):
        raise_(owner="A-M1", actor=users.reporter_a)
    assert raise_(owner="A", meeting=m, actor=users.planner_g).created_by == users.planner_g


def test_no_directive_is_raised_in_a_closed_meeting(points):
    m = run(meeting())
    with pytest.raises(Conflict):
        raise_(meeting=m)


def test_the_person_in_charge_must_work_in_the_owner_unit(points):
    a_person = org_services.person_create(
        actor=None, employee_no="P-A", full_name="Nguyễn Văn An", unit_code="A-M1"
    )
    org_services.person_create(actor=None, employee_no="P-B", full_name="Trần Thị Bình", unit_code="B")
    assert raise_(owner="A", owner_person="P-A").owner_person == a_person
    with pytest.raises(ValidationFailed) as exc:
        raise_(owner="A", owner_person="P-B")
    assert exc.value.items[0].loc == ("body", "owner_person")


# --- progress and overdue ------------------------------------------------------------------------------


def test_done_needs_evidence(points):
    d = raise_()
    with pytest.raises(ValidationFailed) as exc:
        services.directive_update_status(actor=None, directive=d, status="done", comment="xong")
    assert exc.value.items[0].loc == ("body", "evidence")
    done(d, dt.date(2027, 11, 10))
    d.refresh_from_db()
    assert (
        d.status == "done"
        and d.evidence == "Biên bản nghiệm thu"
        and d.done_at == at(dt.date(2027, 11, 10), 15)
    )


def test_overdue_is_derived_never_set(points):
    d = raise_(deadline=dt.date(2027, 11, 10))
    with pytest.raises(ValidationFailed, match="follows from the deadline"):
        services.directive_update_status(actor=None, directive=d, status="overdue")
    assert d.effective_status_on(dt.date(2027, 11, 10)) == "open"
    assert d.effective_status_on(dt.date(2027, 11, 11)) == "overdue"
    services.directive_update_status(actor=None, directive=d, status="in_progress", comment="đang làm")
    d.refresh_from_db()
    assert d.effective_status_on(dt.date(2027, 11, 11)) == "overdue"
    done(d, dt.date(2027, 11, 12))
    d.refresh_from_db()
    assert d.effective_status_on(dt.date(2027, 12, 1)) == "done"


def test_the_register_filters_on_the_effective_status_in_the_database(points):
    late = raise_(deadline=dt.date(2027, 11, 10))
    ahead = raise_(deadline=dt.date(2027, 12, 10))
    cancelled = raise_(deadline=dt.date(2027, 11, 6))
    services.directive_update_status(actor=None, directive=cancelled, status="cancelled", comment="không cần")
    on = dt.date(2027, 11, 20)
    rows = {d.pk: d.effective_status for d in selectors.directives_list(None, on=on)}
    assert rows == {late.pk: "overdue", ahead.pk: "open", cancelled.pk: "cancelled"}
    assert [d.pk for d in selectors.directives_list(None, status="overdue", on=on)] == [late.pk]


def test_owners_report_progress_but_only_the_issuer_cancels(points, users):
    m = meeting()
    d = raise_(owner="A-M1", meeting=m)
    services.directive_update_status(
        actor=users.reporter_a, directive=d, status="in_progress", comment="bắt đầu"
    )
    with pytest.raises(PermissionDenied):
        services.directive_update_status(actor=users.reporter_a, directive=d, status="cancelled")
    with pytest.raises(PermissionDenied):
        services.directive_update_status(actor=users.admin_b, directive=d, status="in_progress", comment="x")
    services.directive_update_status(actor=users.planner_g, directive=d, status="cancelled", comment="thôi")


def test_progress_is_kept_as_comments_and_in_the_audit_log(points, users):
    d = raise_(owner="A-M1")
    services.directive_update_status(
        actor=users.reporter_a, directive=d, status="in_progress", comment="bắt đầu"
    )
    services.directive_update_status(
        actor=users.reporter_a, directive=d, status="in_progress", comment="50 %"
    )
    done(d, dt.date(2027, 11, 20), actor=users.reporter_a)
    history = list(DirectiveComment.objects.filter(directive=d).values_list("new_status", "text"))
    assert history == [("in_progress", "bắt đầu"), ("", "50 %"), ("done", "Biên bản nghiệm thu")]
    audited = AuditEntry.objects.filter(object_type="briefing.directive", object_id=str(d.pk))
    assert [e.action for e in audited.order_by("id")] == ["create", "update", "update"]
    assert audited.order_by("id").last().after["status"] == "done"


def test_resending_the_same_status_without_a_comment_is_refused(points):
    d = raise_()
    with pytest.raises(ValidationFailed) as exc:
        services.directive_update_status(actor=None, directive=d, status="open")
    assert exc.value.items[0].type == "no_change"


# --- carry-over into packs -----------------------------------------------------------------------------


def test_directives_carry_over_from_meeting_to_meeting(points):
    october = meeting(month=dt.date(2027, 10, 1))
    services.meeting_start(actor=None, meeting=october)
    fix_pump = raise_(owner="A", deadline=dt.date(2027, 11, 20), meeting=october, text="Sửa bơm mức -150")
    report = raise_(owner="B", deadline=dt.date(2027, 11, 10), meeting=october, text="Báo cáo sự cố băng tải")
    services.meeting_close(actor=None, meeting=october)
    november = meeting(month=dt.date(2027, 11, 1))
    later = raise_(owner="A-M1", deadline=dt.date(2027, 12, 15), day=dt.date(2027, 11, 20))
    done(fix_pump, dt.date(2027, 11, 15))

    pack = selectors.directives_for_pack(Unit.objects.get(code="G"), dt.date(2027, 11, 30))
    assert pack.previous_meeting == october and pack.since == dt.date(2027, 10, 31)
    assert [d.pk for d in pack.done] == [fix_pump.pk]
    assert [d.pk for d in pack.overdue] == [report.pk]  # carried over, still open after its deadline
    assert [d.pk for d in pack.due] == [later.pk]
    assert all(d.effective_status_db == "overdue" for d in pack.overdue)

    # A company's pack holds its own directives only.
    a_pack = selectors.directives_for_pack(Unit.objects.get(code="A"), dt.date(2027, 11, 30))
    assert ([d.pk for d in a_pack.done], a_pack.overdue, [d.pk for d in a_pack.due]) == (
        [fix_pump.pk],
        [],
        [later.pk],
    )

    # December: what was done in November is no longer news; what is still open is carried again.
    run(november)
    december = selectors.directives_for_pack(Unit.objects.get(code="G"), dt.date(2027, 12, 31))
    assert december.previous_meeting == november
    assert december.done == []
    assert {d.pk for d in december.overdue} == {report.pk, later.pk}


def test_a_pack_shows_the_register_as_it_stood_at_the_period_end(points):
    d = raise_(owner="A", deadline=dt.date(2027, 11, 20))
    done(d, dt.date(2027, 12, 3))
    raise_(owner="A", deadline=dt.date(2027, 12, 20), day=dt.date(2027, 12, 2))  # raised after the period
    pack = selectors.directives_for_pack(Unit.objects.get(code="G"), dt.date(2027, 11, 30))
    assert [x.pk for x in pack.overdue] == [
        d.pk
    ]  # done only in December: still overdue at the end of November
    assert pack.due == [] and pack.done == []


# --- reminders -----------------------------------------------------------------------------------------


def test_reminders_group_open_directives_per_owner_most_overdue_first(points):
    on = dt.date(2027, 11, 20)
    a1 = raise_(owner="A", deadline=dt.date(2027, 11, 22))
    a2 = raise_(owner="A", deadline=dt.date(2027, 12, 30))
    b1 = raise_(owner="B", deadline=dt.date(2027, 11, 10))
    b2 = raise_(owner="B", deadline=dt.date(2027, 11, 12))
    done(raise_(owner="B", deadline=dt.date(2027, 11, 30)), dt.date(2027, 11, 19))
    reminders = selectors.directives_by_owner(None, on=on)
    assert [r.owner_unit.code for r in reminders] == ["B", "A"]
    b, a = reminders
    assert ([d.pk for d in b.overdue], b.due_soon, b.later) == ([b1.pk, b2.pk], [], [])
    assert ([d.pk for d in a.due_soon], [d.pk for d in a.later]) == ([a1.pk], [a2.pk])


# --- scope and API -------------------------------------------------------------------------------------


def test_a_company_sees_its_own_directives_only(points, users):
    a, b = raise_(owner="A-M1"), raise_(owner="B")
    assert set(selectors.directives_visible(users.viewer_a)) == {a}
    assert set(selectors.directives_visible(users.planner_g)) == {a, b}


def test_api_directives(points, users, api):
    planner = api(users.planner_g)
    m = meeting()
    body = {
        "text": "Tăng cường thoát nước mùa mưa",
        "owner_unit": "A",
        "deadline": "2099-12-31",
        "meeting": m.pk,
    }
    created = planner.post("/api/v1/directives", body)
    assert created.status_code == 201, created.json()
    did = created.json()["id"]
    assert created.json()["status"] == "open" and created.json()["number"].endswith(
        f"/{dt.date.today().year}"
    )
    past = planner.post("/api/v1/directives", {**body, "deadline": "2020-01-01"})
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["body", "deadline"]
    unknown = planner.post("/api/v1/directives", {**body, "owner_unit": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "owner_unit"]
    no_evidence = planner.patch(f"/api/v1/directives/{did}", {"status": "done"})
    assert no_evidence.status_code == 422 and no_evidence.json()["detail"][0]["loc"] == ["body", "evidence"]
    finished = api(users.admin_a).patch(
        f"/api/v1/directives/{did}", {"status": "done", "evidence": "Đã lắp bơm"}
    )
    assert finished.status_code == 200 and finished.json()["status"] == "done"
    assert [c["new_status"] for c in finished.json()["comments"]] == ["done"]
    # A directive given long ago with a deadline now past reads as overdue.
    old = raise_(owner="A", day=dt.date(2026, 1, 5), deadline=dt.date(2026, 2, 1))
    listed = api(users.viewer_a).get("/api/v1/directives", owner="A", status="overdue").json()["items"]
    assert [d["id"] for d in listed] == [old.pk]
    assert api(users.admin_b).get(f"/api/v1/directives/{old.pk}").status_code == 404
    bad = planner.get("/api/v1/directives", status="late")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
    reminders = planner.get("/api/v1/directives/reminders").json()
    assert [(r["owner_unit"], len(r["overdue"])) for r in reminders] == [("A", 1)]


def test_directive_pages(points, users, client):
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    client.force_login(users.planner_g)
    response = client.post(
        f"/briefing/meetings/{m.pk}/directives/",
        {
            "text": "Kiểm tra khí mê-tan lò chợ",
            "owner_unit": "A",
            "deadline": "31/12/2099",
            "priority": "high",
        },
    )
    assert response.status_code == 302
    d = Directive.objects.get(meeting=m)
    assert d.priority == "high" and d.deadline == dt.date(2099, 12, 31)
    page = client.get(f"/briefing/meetings/{m.pk}/").content.decode()
    assert "Kiểm tra khí mê-tan lò chợ" in page
    register = client.get("/briefing/directives/", {"owner": "A"})
    assert register.status_code == 200 and d.number in register.content.decode()
    progress = client.post(f"/briefing/directives/{d.pk}/", {"status": "done", "evidence": ""})
    assert progress.status_code == 422  # re-shown with the error, next to its field
    d.refresh_from_db()
    assert d.status == "open"
    client.post(f"/briefing/directives/{d.pk}/", {"status": "done", "evidence": "Biên bản đo khí"})
    d.refresh_from_db()
    assert d.status == "done" and d.effective_status == EffectiveStatus.DONE
