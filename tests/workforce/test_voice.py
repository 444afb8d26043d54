"""Workers' voice: grievances recorded (anonymous: no worker stored), answered, closed; bad input refused;
overdue ones escalate one step per overdue period, once each, through the notify app; the counts and key task
6's "answered on time"; company B never sees A's."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.notify.models import Notification, OnCallEntry
from headframe.workforce.models import Grievance, GrievanceStatus
from headframe.workforce.selectors.voice import grievance_counts, grievances_on_time, grievances_visible
from headframe.workforce.services.voice import (
    RESPONSE_DAYS,
    escalation_step,
    grievance_answer,
    grievance_close,
    grievance_create,
    grievances_escalate,
)
from tests.factories import make_user
from tests.workforce.conftest import NOW, TODAY


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make(wf, **extra) -> Grievance:
    extra.setdefault("unit_code", "A-M1-K1")
    extra.setdefault("text", "Nhà tắm ca 3 thiếu nước nóng")
    extra.setdefault("category", "welfare")
    return grievance_create(actor=wf.personnel_a, **extra)


def test_a_grievance_is_due_fifteen_days_after_it_was_received(wf):
    grievance = make(wf, employee_no="A001", received_on=dt.date(2027, 2, 1))
    assert grievance.worker == wf.ann and not grievance.anonymous
    assert grievance.due_on == dt.date(2027, 2, 1) + dt.timedelta(days=RESPONSE_DAYS) == dt.date(2027, 2, 16)
    assert grievance.status == GrievanceStatus.OPEN
    assert AuditEntry.objects.filter(object_type="workforce.grievance", action="create").count() == 1


def test_an_anonymous_grievance_stores_no_worker_even_when_one_is_named(wf):
    grievance = make(wf, employee_no="A001", anonymous=True)
    grievance.refresh_from_db()
    assert grievance.anonymous and grievance.worker is None and grievance.received_on == TODAY
    entry = AuditEntry.objects.get(object_type="workforce.grievance")
    assert entry.after["worker"] is None


def test_bad_grievances_are_refused_and_nothing_written(wf):
    with pytest.raises(ValidationFailed) as caught:
        make(wf, category="money")
    assert caught.value.items[0].loc == ("body", "category")
    with pytest.raises(ValidationFailed) as caught:
        make(wf, received_on=TODAY + dt.timedelta(days=1))
    assert caught.value.items[0].type == "future"
    with pytest.raises(ValidationFailed):
        make(wf, text="   ")
    with pytest.raises(NotFound) as caught:  # another company's worker is not revealed
        make(wf, employee_no="B001")
    assert caught.value.items[0].type == "unknown_worker"
    with pytest.raises(NotFound):
        make(wf, unit_code="B-M1")
    with pytest.raises(PermissionDenied):
        grievance_create(actor=wf.lamp_a, unit_code="A-M1", text="x", category="other")
    assert not Grievance.objects.exists()


def test_answer_then_close_and_a_closed_one_stays_closed(wf):
    grievance = make(wf)
    with pytest.raises(Conflict) as caught:
        grievance_close(actor=wf.personnel_a, grievance_id=grievance.pk)
    assert caught.value.items[0].type == "not_answered"
    answered = grievance_answer(
        actor=wf.personnel_a, grievance_id=grievance.pk, answer="Đã sửa bình nóng lạnh"
    )
    assert answered.status == GrievanceStatus.ANSWERED and answered.answered_on == TODAY
    assert answered.answered_by == wf.personnel_a
    closed = grievance_close(actor=wf.personnel_a, grievance_id=grievance.pk)
    assert closed.status == GrievanceStatus.CLOSED
    with pytest.raises(Conflict):
        grievance_answer(actor=wf.personnel_a, grievance_id=grievance.pk, answer="lại")
    with pytest.raises(NotFound):  # company B's personnel: not revealed
        grievance_answer(actor=wf.personnel_b, grievance_id=grievance.pk, answer="x")


def test_overdue_grievances_escalate_one_step_per_period_once_each(wf):
    OnCallEntry.objects.create(unit=wf.a, level=1, name="Phòng TCLĐ", email="tcld@a.vn", min_priority="low")
    OnCallEntry.objects.create(unit=wf.group, level=2, name="Ban TCNS", email="tcns@g.vn", min_priority="low")
    late = make(wf, received_on=TODAY - dt.timedelta(days=RESPONSE_DAYS + 3))  # 3 days overdue
    very_late = make(wf, received_on=TODAY - dt.timedelta(days=2 * RESPONSE_DAYS + 1))  # 16 days overdue
    make(wf, received_on=TODAY - dt.timedelta(days=RESPONSE_DAYS))  # due today: not yet
    answered = make(wf, received_on=TODAY - dt.timedelta(days=40))
    grievance_answer(actor=wf.personnel_a, grievance_id=answered.pk, answer="ok")
    assert grievances_escalate(now=NOW) == 2
    late.refresh_from_db()
    very_late.refresh_from_db()
    assert (late.escalation_level, very_late.escalation_level) == (1, 2)
    notes = {n.source_ref: n for n in Notification.objects.all()}
    assert set(notes) == {f"grievance:{late.pk}:1", f"grievance:{very_late.pk}:2"}
    first = notes[f"grievance:{late.pk}:1"]
    assert first.site_path == wf.a_m1.path and first.level == 1  # one level up: the mine (on call: company A)
    assert "Nhà tắm" not in first.body and first.payload["escalated_to"] == "A-M1"
    assert notes[f"grievance:{very_late.pk}:2"].payload["escalated_to"] == "A"
    assert grievances_escalate(now=NOW) == 0  # idempotent
    assert Notification.objects.count() == 2
    later = NOW + dt.timedelta(days=RESPONSE_DAYS)
    assert grievances_escalate(now=later) == 3  # both a step up, and the one due on the first run now late
    late.refresh_from_db()
    assert late.escalation_level == 2
    assert escalation_step(TODAY, TODAY) == 0 and escalation_step(TODAY, TODAY + dt.timedelta(days=200)) == 3


def test_counts_and_answered_on_time(wf):
    start = dt.date(2027, 1, 1)
    on_time = make(wf, received_on=dt.date(2027, 1, 5), category="wages")
    late = make(wf, received_on=dt.date(2027, 1, 6), category="wages")
    make(wf, received_on=dt.date(2027, 1, 7), category="safety")  # open, overdue: decided, not on time
    make(wf, received_on=dt.date(2027, 2, 5))  # open, not yet due: not decided
    Grievance.objects.filter(pk=on_time.pk).update(
        status=GrievanceStatus.ANSWERED, answer="a", answered_on=dt.date(2027, 1, 20)
    )
    Grievance.objects.filter(pk=late.pk).update(
        status=GrievanceStatus.CLOSED, answer="a", answered_on=dt.date(2027, 1, 30)
    )
    assert str(grievances_on_time(wf.a, start, TODAY)) == "33.3"
    assert grievances_on_time(wf.b, start, TODAY) is None
    counts = grievance_counts(wf.personnel_a, "A")
    assert (counts.open, counts.overdue, counts.answered, counts.closed) == (2, 1, 1, 1)
    assert counts.by_category["wages"] == 2 and counts.by_category["safety"] == 1
    assert str(counts.on_time) == "33.3"
    assert grievances_visible(wf.personnel_a, overdue=True).count() == 1
    assert not grievances_visible(wf.personnel_b).exists()


def test_voice_api_scoped_and_the_author_shown_to_the_workforce_only(wf, api):
    viewer_a = make_user("viewer_a2", ("viewer", "A"))
    response = api(wf.personnel_a).post(
        "/api/v1/workforce/grievances",
        {"unit": "A-M1-K1", "text": "Thiếu khẩu trang", "category": "safety", "employee_no": "A001"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["employee_no"] == "A001" and body["due_on"] == "2027-02-25"
    grievance_id = body["id"]
    items = api(viewer_a).get("/api/v1/workforce/grievances").json()["items"]
    assert len(items) == 1 and items[0]["employee_no"] is None and items[0]["full_name"] is None
    assert api(wf.personnel_b).get("/api/v1/workforce/grievances").json()["items"] == []
    assert api(wf.personnel_b).get("/api/v1/workforce/grievances", unit="A").status_code == 404
    bad = api(wf.personnel_a).post(
        "/api/v1/workforce/grievances", {"unit": "A", "text": "x", "category": "z"}
    )
    assert bad.status_code == 422
    answered = api(wf.personnel_a).post(
        f"/api/v1/workforce/grievances/{grievance_id}/answer", {"answer": "Đã cấp"}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert api(viewer_a).post(f"/api/v1/workforce/grievances/{grievance_id}/close").status_code == 403
    assert api(wf.personnel_b).post(f"/api/v1/workforce/grievances/{grievance_id}/close").status_code == 404
    closed = api(wf.personnel_a).post(f"/api/v1/workforce/grievances/{grievance_id}/close")
    assert closed.json()["status"] == "closed"
    counts = api(wf.personnel_a).get("/api/v1/workforce/grievances/counts", unit="A").json()
    assert counts["closed"] == 1 and counts["on_time"] == 100.0


def test_voice_page_records_an_anonymous_grievance(wf, client):
    client.force_login(wf.personnel_a)
    response = client.post(
        "/workforce/voice/new/",
        {
            "unit": "A-M1",
            "text": "Đề nghị tăng suất ăn ca",
            "category": "welfare",
            "employee_no": "A002",
            "anonymous": "1",
        },
    )
    assert response.status_code == 302
    grievance = Grievance.objects.get()
    assert grievance.anonymous and grievance.worker is None
    page = client.get("/workforce/voice/?unit=A-M1").content.decode()
    assert "Đề nghị tăng suất ăn ca" in page and "Trần Văn Bình" not in page
    refused = client.post(
        "/workforce/voice/new/", {"unit": "A-M1", "text": "", "category": "welfare"}, follow=True
    )
    assert Grievance.objects.count() == 1 and refused.status_code == 200
