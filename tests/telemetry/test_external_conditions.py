"""Conditions another part of the system reports (a site and a subject string, no sensor or gateway): the same
ISA-18.2 state, journal, notification and escalation as a sensor's alarms; listed and acknowledged on the same
console and API, scoped by site; never shelved."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from headframe.core.errors import Conflict, ValidationFailed
from headframe.notify import services as notify
from headframe.notify.models import Notification
from headframe.telemetry import selectors, services
from headframe.telemetry.models import Alarm, AlarmCondition, AlarmJournal
from headframe.telemetry.notifications import alarms_escalate
from tests.factories import make_user

NOW = timezone.now().replace(microsecond=0)
LIMIT = "person_overdue"
MESSAGE = "Nguyễn Văn An (A001) còn dưới lò quá giờ: hết ca 14:00 + 30 phút, vị trí A-M1-K1-F1"


def _raise(site, subject="presence:1", now=NOW, **extra):
    return services.external_raise(
        site=site, subject=subject, limit_code=LIMIT, priority="urgent", message=MESSAGE, now=now, **extra
    )


@pytest.mark.django_db
def test_an_external_condition_raises_one_urgent_alarm_journalled_and_announced(tree, limit_profiles):
    notify.oncall_create(
        actor=None, unit_code="A-M1", level=1, name="Trực ca A-M1", email="dk@a-m1.vn", min_priority="high"
    )
    assert _raise(tree.a_m1) is True
    assert _raise(tree.a_m1, now=NOW + dt.timedelta(minutes=1)) is False  # idempotent
    alarm = Alarm.objects.get()
    assert (alarm.subject, alarm.priority, alarm.sensor_id, alarm.gateway_id) == (
        "presence:1",
        "urgent",
        None,
        None,
    )
    assert alarm.site_id == tree.a_m1.pk and alarm.message == MESSAGE and alarm.closed_at is None
    cond = AlarmCondition.objects.get()
    assert cond.active and not cond.acked and cond.current_alarm_id == alarm.pk
    assert list(AlarmJournal.objects.values_list("event", "state")) == [("raised", "active_unacked")]
    note = Notification.objects.get()
    assert note.subject == f"[KHẨN CẤP] A-M1: {MESSAGE}"
    assert "presence" not in note.body and "Trạm" not in note.body
    assert note.payload["subject"] == "presence:1"


@pytest.mark.django_db
def test_an_unacknowledged_urgent_external_alarm_escalates(tree, limit_profiles):
    notify.oncall_create(
        actor=None, unit_code="A", level=2, name="An toàn công ty A", email="at@a.vn", min_priority="high"
    )
    _raise(tree.a_m1)
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=121)) == 1
    assert Alarm.objects.get().escalated_level == 2
    assert Notification.objects.filter(event="alarm_escalated", level=2).exists()


@pytest.mark.django_db
def test_cleared_it_returns_and_closes_once_acknowledged(tree, limit_profiles):
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    _raise(tree.a_m1)
    assert services.external_clear(site=tree.a_m1, subject="presence:1", limit_code=LIMIT) is True
    assert services.external_clear(site=tree.a_m1, subject="presence:1", limit_code=LIMIT) is False
    cond = AlarmCondition.objects.get()
    assert not cond.active and not cond.acked  # returned, still to be acknowledged
    [view] = selectors.alarms_open(dispatcher, site="A-M1")
    assert view.state == "returned_unacked" and view.external and view.subject == "presence:1"
    assert services.alarm_acknowledge(actor=dispatcher, condition_id=cond.pk, comment="đã lên") == "closed"
    alarm = Alarm.objects.get()
    assert alarm.closed_at is not None and alarm.returned_at is not None and alarm.acked_by == dispatcher
    assert selectors.alarms_open(dispatcher, site="A-M1") == []
    events = list(AlarmJournal.objects.order_by("id").values_list("event", flat=True))
    assert events == ["raised", "returned", "acked", "closed"]
    # raised again later: a new occurrence
    assert _raise(tree.a_m1, now=NOW + dt.timedelta(hours=1)) is True
    assert Alarm.objects.count() == 2


@pytest.mark.django_db
def test_acknowledged_while_active_it_closes_when_cleared(tree, limit_profiles):
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    _raise(tree.a_m1)
    cond = AlarmCondition.objects.get()
    assert services.alarm_acknowledge(actor=dispatcher, condition_id=cond.pk) == "acked"
    assert alarms_escalate(now=NOW + dt.timedelta(hours=1)) == 0
    services.external_clear(site=tree.a_m1, subject="presence:1", limit_code=LIMIT)
    assert Alarm.objects.get().closed_at is not None


@pytest.mark.django_db
def test_nobody_shelves_an_external_alarm(tree, limit_profiles):
    safety = make_user("an_toan_a", ("safety_officer", "A"))
    _raise(tree.a_m1)
    with pytest.raises(Conflict):
        services.alarm_shelve(
            actor=safety, condition_id=AlarmCondition.objects.get().pk, minutes=15, reason="tăng ca"
        )


@pytest.mark.django_db
def test_the_alarm_list_shows_a_company_only_its_own_sites_external_alarms(tree, users, limit_profiles, api):
    _raise(tree.a_m1, subject="presence:1")
    _raise(tree.b_m1, subject="presence:2")
    assert [v.subject for v in selectors.alarms_open(users.viewer_a)] == ["presence:1"]
    assert [v.subject for v in selectors.alarms_open(users.admin_b)] == ["presence:2"]
    body = api(users.viewer_a).get("/api/v1/telemetry/alarms").json()
    assert [(a["subject"], a["site"], a["sensor"], a["gateway"]) for a in body] == [
        ("presence:1", "A-M1", None, None)
    ]
    assert body[0]["alarm"]["message"] == MESSAGE and body[0]["no_operator_override"] is True
    journal = api(users.viewer_a).get("/api/v1/telemetry/alarms/journal").json()
    assert [e["subject"] for e in journal] == ["presence:1"]
    b_condition = AlarmCondition.objects.get(subject="presence:2").pk
    assert (
        api(users.viewer_a).post(f"/api/v1/telemetry/alarms/{b_condition}/ack", {"comment": ""}).status_code
        == 404
    )


@pytest.mark.django_db
def test_the_console_shows_the_subjects_message_not_its_code(client, tree, limit_profiles):
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    _raise(tree.a_m1)
    client.force_login(dispatcher)
    page = client.get("/telemetry/A-M1/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert MESSAGE in page
    assert "Người còn dưới lò quá giờ" in page
    assert ">presence:1<" not in page


@pytest.mark.django_db
def test_a_condition_at_an_unknown_site_or_a_unit_that_is_not_a_site_is_refused(tree, limit_profiles):
    for site in ("NOPE", tree.a_m1_k1, 999_999):
        with pytest.raises(ValidationFailed) as refused:
            _raise(site)
        assert refused.value.items[0].type == "unknown_unit"
    assert not AlarmCondition.objects.exists() and not Alarm.objects.exists()


@pytest.mark.django_db
def test_the_database_holds_exactly_one_subject_and_one_condition_per_site_subject_and_limit(
    tree, limit_profiles
):
    AlarmCondition.objects.create(site=tree.a_m1, subject="presence:1", limit_code=LIMIT)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlarmCondition.objects.create(site=tree.a_m1, subject="presence:1", limit_code=LIMIT)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlarmCondition.objects.create(site=tree.a_m1, subject="", limit_code=LIMIT)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlarmCondition.objects.create(limit_code=LIMIT)


@pytest.mark.django_db
def test_the_pack_lists_a_site_with_external_alarms_and_no_gateway(tree, limit_profiles):
    _raise(tree.a_m1)
    rows = selectors.site_alarms(
        root_path=tree.group.path, start=NOW - dt.timedelta(hours=1), end=NOW + dt.timedelta(hours=1)
    )
    assert [(r.site.code, r.by_priority) for r in rows] == [("A-M1", {"urgent": 1})]
