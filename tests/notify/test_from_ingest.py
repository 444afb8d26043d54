"""From a reading to the person on call: a methane trip raised by ingest reaches a real webhook receiver
through the outbox, and a flush that rolls back sends nothing."""

import time

import pytest

from headframe.notify import services
from headframe.notify.models import Delivery, Notification
from headframe.telemetry import services as telemetry
from headframe.telemetry.models import Alarm
from headframe.telemetry.services import ingestion


def test_a_methane_trip_from_ingest_reaches_the_mine_on_call_webhook(mine, on_call, receiver):
    receiver.start()
    on_call(mine.site, 1, webhook_url=receiver.url)
    now = int(time.time() * 1000)
    telemetry.readings_ingest(gateway_code="GW-A1", readings=[("A1-CH4-01", now - 1000, 1.6)])
    alarm = Alarm.objects.get(limit_code="ch4_face_return_trip")
    assert services.notifications_deliver() == 1
    [request] = receiver.received
    assert request["verified"] and request["json"]["payload"]["alarm"] == alarm.id
    assert request["json"]["priority"] == "urgent"


def test_a_flush_that_rolls_back_leaves_no_notification(mine, on_call, receiver, monkeypatch):
    on_call(mine.site, 1, webhook_url=receiver.url)

    def fail(*args, **kwargs):
        raise RuntimeError("the flush fails after the alarm was raised")

    monkeypatch.setattr(ingestion, "_quarantine", fail)  # runs after alarm evaluation in the same transaction
    now = int(time.time() * 1000)
    with pytest.raises(RuntimeError):
        telemetry.readings_ingest(gateway_code="GW-A1", readings=[("A1-CH4-01", now - 1000, 1.6)])
    assert not Alarm.objects.exists()
    assert not Notification.objects.exists() and not Delivery.objects.exists()
