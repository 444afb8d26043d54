"""Delivery against real servers: e-mail to an SMTP server, a signed webhook to an HTTP receiver; a channel that
is down is retried with backoff and every attempt journalled until it is sent or, after the last attempt,
marked failed and still listed. The clock of each round is passed in (`now`), so nothing waits for real time."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from headframe.notify import services
from headframe.notify.channels import sign, verify
from headframe.notify.models import Delivery, DeliveryAttempt, Notification
from headframe.notify.worker import start_notifier
from headframe.telemetry.notifications import alarm_raised
from tests.notify.conftest import free_port


def _deliveries():
    return list(Delivery.objects.order_by("id"))


def _attempts(delivery):
    return [(a.number, a.ok) for a in DeliveryAttempt.objects.filter(delivery=delivery).order_by("id")]


@pytest.mark.django_db
def test_an_email_arrives_with_the_subject(mine, on_call, make_alarm, smtp):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    alarm_raised(make_alarm())
    assert services.notifications_deliver() == 1
    [message] = smtp.messages
    # Python folds the encoded subject onto a continuation line; unfolded, the value starts after the space
    assert message["Subject"].strip().startswith("[KHẨN CẤP] A-M1 – A1-CH4-01")
    assert message["X-Envelope-To"] == "dieukhien@a-m1.vn"
    assert message["From"] == "canh-bao@headframe.test"
    assert "A1-CH4-01 1.62 ≥ 1.5 %" in message.get_content()
    [delivery] = _deliveries()
    assert delivery.status == "sent" and delivery.sent_at is not None and delivery.attempts == 1
    assert message["X-Headframe-Delivery"] == str(delivery.id)
    assert _attempts(delivery) == [(1, True)]


@pytest.mark.django_db
def test_a_webhook_arrives_signed_and_the_signature_verifies(mine, on_call, make_alarm, receiver):
    receiver.start()
    on_call(mine.site, 1, webhook_url=receiver.url)
    alarm = make_alarm()
    alarm_raised(alarm)
    assert services.notifications_deliver() == 1
    [request] = receiver.received
    assert request["verified"]
    assert request["path"] == "/hooks/headframe?token=abc"
    [delivery] = _deliveries()
    assert request["headers"]["X-Headframe-Delivery"] == str(delivery.id)
    document = request["json"]
    assert document["event"] == "alarm_raised" and document["level"] == 1 and document["priority"] == "urgent"
    assert document["payload"]["alarm"] == alarm.id and document["payload"]["sensor"] == "A1-CH4-01"
    assert document["delivery"] == delivery.id and document["source_ref"] == f"alarm:{alarm.id}"
    assert delivery.status == "sent"


def test_a_receiver_refuses_a_tampered_body_another_key_or_an_old_timestamp():
    now = str(int(timezone.now().timestamp()))
    hour_ago = str(int(now) - 3600)
    signature = sign("s3cret", now, b'{"a":1}')
    assert verify("s3cret", now, b'{"a":1}', signature)
    assert not verify("s3cret", now, b'{"a":2}', signature)
    assert not verify("other", now, b'{"a":1}', signature)
    assert not verify("s3cret", hour_ago, b'{"a":1}', sign("s3cret", hour_ago, b'{"a":1}'))


@pytest.mark.django_db
def test_a_receiver_that_is_down_is_retried_with_backoff_and_gets_it_once_it_is_up(
    mine, on_call, make_alarm, receiver
):
    on_call(mine.site, 1, webhook_url=receiver.url)  # the receiver is not started: connection refused
    alarm_raised(make_alarm())
    t0 = timezone.now()
    assert services.notifications_deliver(now=t0) == 1
    [delivery] = _deliveries()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=10)
    assert "unreachable" in delivery.last_error

    assert services.notifications_deliver(now=t0 + dt.timedelta(seconds=5)) == 0  # not due yet
    t1 = t0 + dt.timedelta(seconds=11)
    assert services.notifications_deliver(now=t1) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == t1 + dt.timedelta(seconds=30)

    receiver.start()
    assert services.notifications_deliver(now=t1 + dt.timedelta(seconds=31)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 3 and delivery.last_error == ""
    assert _attempts(delivery) == [(1, False), (2, False), (3, True)]
    assert len(receiver.received) == 1 and receiver.received[0]["verified"]
    assert services.notifications_deliver(now=t1 + dt.timedelta(hours=5)) == 0  # sent once, never again


@pytest.mark.django_db
def test_a_dead_smtp_server_is_journalled_and_retried(mine, on_call, make_alarm, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    alarm_raised(make_alarm())
    assert services.notifications_deliver() == 1
    [delivery] = _deliveries()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error
    [attempt] = DeliveryAttempt.objects.all()
    assert not attempt.ok and attempt.error == delivery.last_error


@pytest.mark.django_db
def test_after_the_last_attempt_a_delivery_is_failed_and_still_listed(
    mine, on_call, make_alarm, receiver, settings, api, people
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    receiver.status = 500
    receiver.start()
    on_call(mine.site, 1, webhook_url=receiver.url)
    alarm = make_alarm()
    alarm_raised(alarm)
    t = timezone.now()
    for hour in range(6):
        services.notifications_deliver(now=t + dt.timedelta(hours=hour))
    [delivery] = _deliveries()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert _attempts(delivery) == [(1, False), (2, False), (3, False)]
    assert len(receiver.received) == 3
    assert delivery.last_error.startswith("HTTP 500")

    listed = api(people.viewer_a).get("/api/v1/notify/deliveries", status="failed").json()["items"]
    assert [(d["id"], d["status"], d["attempts"], d["source_ref"]) for d in listed] == [
        (delivery.id, "failed", 3, f"alarm:{alarm.id}")
    ]
    assert listed[0]["target"] == f"http://127.0.0.1:{receiver.port}/…"  # the token in the URL is not shown
    assert api(people.admin_b).get("/api/v1/notify/deliveries").json()["items"] == []  # another company


@pytest.mark.django_db
def test_a_claim_whose_worker_died_is_sent_again_and_the_lost_attempt_journalled(
    mine, on_call, make_alarm, smtp
):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    alarm_raised(make_alarm())
    t = timezone.now()
    # a worker claimed it and died before recording anything: its lease runs out
    Delivery.objects.update(status="sending", claim_token="dead", next_attempt_at=t - dt.timedelta(seconds=1))
    assert services.notifications_deliver(now=t) == 1
    [delivery] = _deliveries()
    assert delivery.status == "sent" and delivery.attempts == 2
    assert _attempts(delivery) == [(1, False), (2, True)]
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_a_delivery_claimed_by_a_live_worker_is_left_alone(mine, on_call, make_alarm, smtp):
    on_call(mine.site, 1, email="dieukhien@a-m1.vn")
    alarm_raised(make_alarm())
    t = timezone.now()
    Delivery.objects.update(
        status="sending", claim_token="busy", next_attempt_at=t + dt.timedelta(seconds=60)
    )
    assert services.notifications_deliver(now=t) == 0
    assert smtp.messages == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent workers need PostgreSQL")
def test_two_workers_never_send_one_delivery_twice(mine, on_call, make_alarm, receiver):
    receiver.delay_s = 0.02  # slow enough that the two workers overlap
    receiver.start()
    for i in range(12):
        on_call(mine.site, 1, name=f"Trực {i}", webhook_url=receiver.url)
    alarm_raised(make_alarm())
    alarm_raised(make_alarm())
    assert Delivery.objects.count() == 24
    start = threading.Barrier(2)
    made, errors = [], []

    def worker():
        try:
            start.wait(10)
            made.append(services.notifications_deliver(limit=100))
        except Exception as exc:  # reported below; a thread cannot raise into the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(made) == 24
    ids = sorted(int(r["headers"]["X-Headframe-Delivery"]) for r in receiver.received)
    assert ids == sorted(Delivery.objects.values_list("id", flat=True))  # each exactly once
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert DeliveryAttempt.objects.count() == 24


@pytest.mark.django_db(transaction=True)
def test_the_notifier_thread_sends_what_a_committed_alarm_enqueued(mine, on_call, make_alarm, receiver):
    receiver.start()
    on_call(mine.site, 1, webhook_url=receiver.url)
    services.wake.clear()
    stop = start_notifier(every_s=60)  # so the round that sends is the one the commit wakes, at once
    try:
        with transaction.atomic():
            alarm_raised(make_alarm())
        assert receiver.got.wait(30), "the notifier sent nothing"
    finally:
        stop.set()
        services.wake.set()
        for thread in threading.enumerate():
            if thread.name == "headframe-notifier":
                thread.join(30)
    assert len(receiver.received) == 1 and receiver.received[0]["verified"]
    assert Delivery.objects.get().status == "sent"
    assert Notification.objects.count() == 1
