"""Issue 11 over MQTT (a real Mosquitto, as in test_mqtt): a reading value is a number; true/false only for an
on/off sensor, over headframe JSON and Sparkplug B alike; refused readings are quarantined with the reason."""

from headframe.telemetry.directory import directory
from headframe.telemetry.models import Quarantine, Reading, Sensor
from headframe.telemetry.sparkplug import DataType, M, encode_payload
from tests.telemetry import test_mqtt
from tests.telemetry.test_mqtt import DEVICE, TOPIC, _json, now_ms, publish, spb

# The private broker, publisher, worker and Sparkplug edge node of test_mqtt (a broker of this module's own).
broker = test_mqtt.broker
publisher = test_mqtt.publisher
worker = test_mqtt.worker
edge = test_mqtt.edge


def _thermometer(mine, **extra):
    sensor = mine.add_sensor("A1-T-01", "temperature_c", "workplace", **extra)
    return sensor


def test_json_true_on_a_temperature_sensor_is_quarantined_and_on_a_pump_it_is_running(
    mine, worker, publisher
):
    thermometer = _thermometer(mine)
    t = now_ms()
    readings = [("A1-T-01", t - 3000, True), ("A1-T-01", t - 2000, "21.5"), ("A1-PUMP-01", t - 1000, True)]
    publish(publisher, TOPIC, _json(readings))
    assert worker.pump(lambda: Reading.objects.filter(sensor=mine.pump).exists())
    assert not Reading.objects.filter(sensor=thermometer).exists()
    assert list(Reading.objects.filter(sensor=mine.pump).values_list("value", flat=True)) == [1.0]
    refused = Quarantine.objects.filter(sensor_code="A1-T-01", channel="mqtt")
    assert sorted(refused.values_list("reason", "value_raw")) == [
        ("not_a_number", "21.5"),
        ("not_a_number", "True"),
    ]


def test_a_sparkplug_boolean_is_a_reading_of_an_on_off_sensor_only(edge, worker, publisher):
    _thermometer(edge, sparkplug_metric=f"{DEVICE}/Temp")
    Sensor.objects.filter(pk=edge.pump.pk).update(sparkplug_metric=f"{DEVICE}/Pump")
    directory.invalidate()
    t = now_ms()
    publish(
        publisher, spb("NBIRTH"), encode_payload([M("bdSeq", 0, DataType.INT64)], timestamp=t - 3000, seq=0)
    )
    publish(
        publisher,
        spb("DBIRTH", DEVICE),
        encode_payload(
            [
                M("Temp", True, DataType.BOOLEAN, timestamp=t - 2000),
                M("Pump", True, DataType.BOOLEAN, timestamp=t - 2000),
            ],
            timestamp=t - 2000,
            seq=1,
        ),
    )
    assert worker.pump(lambda: Reading.objects.filter(sensor=edge.pump).exists())
    assert list(Reading.objects.filter(sensor=edge.pump).values_list("value", flat=True)) == [1.0]
    assert not Reading.objects.filter(sensor__code="A1-T-01").exists()
    [refused] = Quarantine.objects.filter(sensor_code="A1-T-01")
    assert (refused.reason, refused.channel) == ("not_a_number", "sparkplug")
    assert "on/off sensor" in refused.detail
