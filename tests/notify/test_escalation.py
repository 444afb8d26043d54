"""Escalation: an urgent alarm nobody acknowledged within the profile's delay goes to the next on-call level —
mine → company safety office → group — once per level, whoever runs the watchdog."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from headframe.notify import services
from headframe.notify.models import Delivery, Notification
from headframe.telemetry.models import Alarm, AlarmCondition, LimitProfile
from headframe.telemetry.notifications import alarm_raised, alarms_escalate
from headframe.telemetry.watchdog import watchdog_tick

NOW = timezone.now()


def _levels():
    return list(Notification.objects.order_by("id").values_list("event", "level"))


@pytest.fixture
def rosters(mine, on_call):
    return (
        on_call(mine.site, 1, email="dieukhien@a-m1.vn"),
        on_call(mine.company, 2, email="an-toan@cong-ty-a.vn"),
        on_call(mine.group, 3, email="tap-doan@g.vn"),
    )


@pytest.mark.django_db
def test_an_unacknowledged_urgent_alarm_reaches_the_company_once_after_the_delay(
    mine, rosters, make_alarm, smtp
):
    assert LimitProfile.objects.get(is_default=True).escalate_after_s == 120
    alarm = make_alarm(raised_at=NOW)
    alarm_raised(alarm)
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=119)) == 0
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=121)) == 1
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=122)) == 0  # once
    alarm.refresh_from_db()
    assert alarm.escalated_level == 2
    assert _levels() == [("alarm_raised", 1), ("alarm_escalated", 2)]
    escalated = Notification.objects.get(level=2)
    assert escalated.subject.startswith("[CHUYỂN CẤP 2][KHẨN CẤP] A-M1")
    assert "sau 2 phút" in escalated.body
    assert [d.target for d in Delivery.objects.filter(notification=escalated)] == ["an-toan@cong-ty-a.vn"]

    assert services.notifications_deliver() == 2
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == ["an-toan@cong-ty-a.vn", "dieukhien@a-m1.vn"]


@pytest.mark.django_db
def test_the_group_is_reached_after_two_delays_and_then_escalation_stops(mine, rosters, make_alarm):
    alarm = make_alarm(raised_at=NOW)
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=121)) == 1
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=200)) == 0  # level 2 waits two delays in all
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=241)) == 1
    assert alarms_escalate(now=NOW + dt.timedelta(hours=5)) == 0
    alarm.refresh_from_db()
    assert alarm.escalated_level == 3
    assert [n.level for n in Notification.objects.order_by("id")] == [2, 3]
    assert Delivery.objects.get(notification__level=3).target == "tap-doan@g.vn"


@pytest.mark.django_db
def test_the_delay_is_the_default_profiles(mine, rosters, make_alarm):
    LimitProfile.objects.filter(is_default=True).update(escalate_after_s=600)
    make_alarm(raised_at=NOW)
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=121)) == 0
    assert alarms_escalate(now=NOW + dt.timedelta(seconds=601)) == 1


@pytest.mark.django_db
def test_acknowledged_closed_shelved_and_high_alarms_do_not_escalate(mine, rosters, make_alarm):
    acked = make_alarm(raised_at=NOW)
    Alarm.objects.filter(pk=acked.pk).update(acked_at=NOW)
    closed = make_alarm(raised_at=NOW)
    Alarm.objects.filter(pk=closed.pk).update(closed_at=NOW, acked_at=NOW)
    make_alarm(raised_at=NOW, priority="high")
    shelved = make_alarm(raised_at=NOW)  # hidden on purpose, with a reason and an expiry
    AlarmCondition.objects.filter(pk=shelved.condition_id).update(shelved_until=NOW + dt.timedelta(days=1))
    assert alarms_escalate(now=NOW + dt.timedelta(hours=1)) == 0
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_watchdog_escalates(mine, rosters, make_alarm):
    alarm = make_alarm(raised_at=timezone.now() - dt.timedelta(seconds=180))
    watchdog_tick()
    alarm.refresh_from_db()
    assert alarm.escalated_level == 2
    escalated = Notification.objects.filter(event="alarm_escalated", source_ref=f"alarm:{alarm.id}")
    assert list(escalated.values_list("level", flat=True)) == [2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent escalators need PostgreSQL")
def test_two_processes_escalating_at_once_escalate_once(mine, rosters, make_alarm):
    alarm = make_alarm(raised_at=NOW)
    start = threading.Barrier(2)
    moved, errors = [], []

    def escalate():
        try:
            start.wait(10)
            moved.append(alarms_escalate(now=NOW + dt.timedelta(seconds=121)))
        except Exception as exc:  # reported below; a thread cannot raise into the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=escalate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(moved) == [0, 1]
    alarm.refresh_from_db()
    assert alarm.escalated_level == 2
    assert Notification.objects.filter(event="alarm_escalated").count() == 1
