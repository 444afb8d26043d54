"""The outbox: a notification is written in the alarm's transaction, to the entries on call for the site or
its ancestors at the level, whose lowest priority the alarm reaches — and nothing when the alarm rolls back."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from headframe.notify import services
from headframe.notify.models import Delivery, Notification
from headframe.telemetry.models import Alarm
from headframe.telemetry.notifications import alarm_raised

pytestmark = pytest.mark.django_db


def _enqueue(site_path, *, priority="urgent", level=1):
    return services.notification_enqueue(
        event="alarm_raised",
        site_path=site_path,
        priority=priority,
        level=level,
        subject="s",
        body="b",
        payload={},
        source_ref="alarm:1",
    )


def test_enqueue_reaches_the_site_and_its_ancestors_at_the_level_and_priority(mine, on_call, tree):
    site = on_call(mine.site, 1, email="dieukhien@a-m1.vn", webhook_url="http://sms.a-m1.vn/hook")
    company_1 = on_call(mine.company, 1, email="an-toan@a.vn")
    on_call(mine.company, 2, email="cap2@a.vn")  # another level
    on_call(tree.b_m1, 1, email="dieukhien@b-m1.vn")  # another site
    on_call(mine.site, 1, email="bao-tri@a-m1.vn", min_priority="urgent")  # only urgent alarms
    inactive = on_call(mine.site, 1, email="nghi-phep@a-m1.vn")
    services.oncall_update(actor=None, entry=inactive, changes={"active": False})

    assert _enqueue(mine.site.path, priority="high") == 3
    deliveries = Delivery.objects.order_by("id")
    assert [(d.entry_id, d.channel, d.target) for d in deliveries] == [
        (site.id, "email", "dieukhien@a-m1.vn"),
        (site.id, "webhook", "http://sms.a-m1.vn/hook"),
        (company_1.id, "email", "an-toan@a.vn"),
    ]
    assert {d.status for d in deliveries} == {"pending"}
    assert Notification.objects.get().level == 1


def test_an_urgent_alarm_reaches_entries_that_take_only_urgent_ones(mine, on_call):
    on_call(mine.site, 1, email="bao-tri@a-m1.vn", min_priority="urgent")
    assert _enqueue(mine.site.path, priority="high") == 0
    assert _enqueue(mine.site.path, priority="urgent") == 1


def test_nobody_on_call_writes_nothing(mine):
    assert _enqueue(mine.site.path) == 0
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_an_alarm_rolled_back_leaves_no_notification(mine, on_call, make_alarm):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn", webhook_url="http://sms.a-m1.vn/hook")
    with pytest.raises(RuntimeError), transaction.atomic():
        alarm_raised(make_alarm())
        assert Delivery.objects.count() == 2  # written in the alarm's transaction…
        raise RuntimeError("the alarm's transaction fails after the notification was enqueued")
    assert not Alarm.objects.exists()
    assert not Notification.objects.exists() and not Delivery.objects.exists()  # …and gone with it


def test_a_raised_alarm_tells_site_code_sensor_priority_and_local_time_in_vietnamese(
    mine, on_call, make_alarm
):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    raised_at = dt.datetime(2027, 1, 15, 1, 2, 3, tzinfo=dt.UTC)  # 08:02:03 in Hà Nội
    alarm = make_alarm(raised_at=raised_at)
    alarm_raised(alarm)
    n = Notification.objects.get()
    assert (n.event, n.level, n.priority, n.source_ref) == ("alarm_raised", 1, "urgent", f"alarm:{alarm.id}")
    assert n.subject.startswith("[KHẨN CẤP] A-M1 – A1-CH4-01")
    assert "15/01/2027 08:02:03" in n.body and "Cảm biến: A1-CH4-01 (trạm GW-A1)" in n.body
    assert n.payload == {
        "alarm": alarm.id,
        "condition": alarm.condition_id,
        "site": "A-M1",
        "site_path": mine.site.path,
        "sensor": "A1-CH4-01",
        "gateway": "GW-A1",
        "limit": alarm.limit_code,
        "priority": "urgent",
        "value": 1.62,
        "threshold": 1.5,
        "message": alarm.message,
        "raised_at": "2027-01-15T01:02:03+00:00",
        "level": 1,
    }


def test_a_gateway_lost_alarm_names_the_gateway(mine, on_call, make_alarm):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    alarm_raised(make_alarm(on_gateway=True))
    n = Notification.objects.get()
    assert "GW-A1" in n.subject and n.payload["sensor"] is None and n.payload["gateway"] == "GW-A1"
    assert n.payload["value"] is None


def test_medium_and_low_alarms_are_not_notified(mine, on_call, make_alarm):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn", min_priority="low")
    alarm_raised(make_alarm(priority="medium"))
    alarm_raised(make_alarm(priority="low"))
    assert not Notification.objects.exists()


def test_a_new_delivery_is_due_at_once(mine, on_call):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    _enqueue(mine.site.path)
    assert Delivery.objects.get().next_attempt_at <= timezone.now()


def test_enqueueing_sends_nothing_itself(mine, on_call, make_alarm, receiver):
    """The alarm's transaction does no network I/O: a slow or dead channel cannot hold up ingest."""
    receiver.start()
    on_call(mine.site, 1, webhook_url=receiver.url)
    alarm_raised(make_alarm())
    assert receiver.received == [] and Delivery.objects.get().attempts == 0
