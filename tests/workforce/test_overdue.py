"""People still underground past their shift end + grace: one URGENT alarm each at their mine through the alarm
engine (announced, escalated while nobody acknowledges it), returned when they check out, closed once
acknowledged; one scan over the group raises nothing twice; another company sees none of it."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headframe.cli.serving import register_scans
from headframe.notify import services as notify
from headframe.notify.models import Notification
from headframe.telemetry import selectors as telemetry_selectors
from headframe.telemetry import services as telemetry
from headframe.telemetry import watchdog
from headframe.telemetry.models import Alarm, AlarmCondition
from headframe.telemetry.notifications import alarms_escalate
from headframe.workforce.services import check_in, check_out
from headframe.workforce.services.overdue import PERSON_OVERDUE, overdue_scan
from tests.factories import PASSWORD, make_user
from tests.workforce.conftest import NOW, roster

SHIFT_END = NOW.replace(hour=14)  # shift 1: 06:00–14:00, grace 30 minutes
LATE = SHIFT_END + dt.timedelta(minutes=31)


def _down(wf, worker, tag, position=None, site="A-M1"):
    roster(worker, position or wf.a_m1_k1_f1)
    return check_in(actor=None, tag_no=tag, site_code=site, at=NOW)


def test_a_person_past_shift_end_and_grace_raises_one_urgent_alarm_naming_them(wf):
    presence = _down(wf, wf.ann, "T-A1")
    _down(wf, wf.binh, "T-A2")
    assert overdue_scan(now=SHIFT_END + dt.timedelta(minutes=29)) == 0  # still within the grace
    assert overdue_scan(now=LATE) == 2
    alarm = Alarm.objects.get(subject=f"presence:{presence.pk}")
    assert alarm.priority == "urgent" and alarm.limit_code == PERSON_OVERDUE
    assert alarm.site_id == wf.a_m1.pk and alarm.sensor_id is None and alarm.gateway_id is None
    assert alarm.message == (
        "Nguyễn Văn An (A001) còn dưới lò quá giờ: hết ca 14:00 + 30 phút, vị trí A-M1-K1-F1"
    )


def test_scanning_again_raises_nothing_new_and_costs_a_few_queries(wf):
    _down(wf, wf.ann, "T-A1")
    assert overdue_scan(now=LATE) == 1
    with CaptureQueriesContext(connection) as one:
        assert overdue_scan(now=LATE + dt.timedelta(minutes=5)) == 0
    _down(wf, wf.binh, "T-A2")
    _down(wf, wf.cuong, "T-A3", position=wf.a_m1_k1_f2)
    assert overdue_scan(now=LATE) == 2
    with CaptureQueriesContext(connection) as three:
        assert overdue_scan(now=LATE + dt.timedelta(minutes=5)) == 0
    assert len(three) == len(one) <= 10  # the same few queries, however many people are overdue
    assert Alarm.objects.count() == 3 and AlarmCondition.objects.count() == 3


def test_an_unacknowledged_overdue_alarm_is_announced_and_escalates(wf):
    notify.oncall_create(actor=None, unit_code="A-M1", level=1, name="Trực ca A-M1", email="dk@a-m1.vn")
    notify.oncall_create(actor=None, unit_code="A", level=2, name="An toàn A", email="at@a.vn")
    _down(wf, wf.ann, "T-A1")
    overdue_scan(now=LATE)
    raised = Notification.objects.get(event="alarm_raised")
    assert raised.subject.startswith("[KHẨN CẤP] A-M1: Nguyễn Văn An (A001) còn dưới lò quá giờ")
    assert alarms_escalate(now=LATE + dt.timedelta(seconds=121)) == 1
    assert Notification.objects.filter(event="alarm_escalated", level=2).count() == 1


def test_checking_out_returns_the_alarm_at_once_and_acknowledging_closes_it(wf):
    _down(wf, wf.ann, "T-A1")
    overdue_scan(now=LATE)
    check_out(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=LATE + dt.timedelta(minutes=5))
    cond = AlarmCondition.objects.get()
    assert not cond.active and not cond.acked  # returned, to be acknowledged
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    assert telemetry.alarm_acknowledge(actor=dispatcher, condition_id=cond.pk, comment="đã lên") == "closed"
    assert Alarm.objects.get().closed_at is not None
    assert overdue_scan(now=LATE + dt.timedelta(minutes=10)) == 0  # checked out: nothing again


def test_acknowledged_while_underground_it_closes_when_the_scan_finds_them_gone(wf):
    presence = _down(wf, wf.ann, "T-A1")
    overdue_scan(now=LATE)
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    telemetry.alarm_acknowledge(actor=dispatcher, condition_id=AlarmCondition.objects.get().pk)
    type(presence).objects.filter(pk=presence.pk).update(checked_out_at=LATE)  # e.g. checked out elsewhere
    overdue_scan(now=LATE + dt.timedelta(minutes=1))
    assert Alarm.objects.get().closed_at is not None
    assert not AlarmCondition.objects.get().active


def test_another_company_sees_none_of_a_companys_overdue_alarms(wf):
    _down(wf, wf.ann, "T-A1")
    _down(wf, wf.bob, "T-B1", position=wf.b_m1_k1_f1, site="B-M1")
    assert overdue_scan(now=LATE) == 2
    messages_b = [v.alarm.message for v in telemetry_selectors.alarms_open(wf.viewer_b)]
    assert len(messages_b) == 1 and messages_b[0].startswith("Phạm Văn Bảo (B001)")
    viewer_a = make_user("viewer_a2", ("viewer", "A"))
    assert [v.alarm.message[:13] for v in telemetry_selectors.alarms_open(viewer_a)] == ["Nguyễn Văn An"]


def test_the_overview_links_an_overdue_person_to_their_alarm(wf, client):
    presence = _down(wf, wf.ann, "T-A1")
    overdue_scan(now=LATE)
    cond = AlarmCondition.objects.get(subject=f"presence:{presence.pk}")
    viewer_a = make_user("viewer_a2", ("viewer", "A"))
    with time_machine.travel(LATE + dt.timedelta(minutes=1), tick=False):
        client.login(username=viewer_a.username, password=PASSWORD)
        html = client.get("/workforce/").content.decode()
    assert f'href="/telemetry/A-M1/#alarm-row-{cond.pk}"' in html


def test_the_watchdog_of_serve_and_ingest_runs_the_scan(wf, monkeypatch):
    monkeypatch.setattr(watchdog, "_extra_scans", {})
    monkeypatch.setattr(watchdog, "_extra_last", {})
    register_scans()  # what `headframe serve`, `demo` and `ingest` do before starting the watchdog
    _down(wf, wf.ann, "T-A1")
    with time_machine.travel(LATE, tick=False):
        raised, _expired = watchdog.watchdog_tick()
        assert raised == 1 and Alarm.objects.get().limit_code == PERSON_OVERDUE
        assert watchdog.watchdog_tick()[0] == 0  # not due again for 30 s, and nothing new anyway
