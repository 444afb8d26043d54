"""Telemetry errors read in the UI language: the English `msg` for API clients that name no language, the
Vietnamese for one that asks for it (and for pages, through `text`)."""

import io

import pytest
from django.utils import translation

from headframe.core.errors import ValidationFailed
from headframe.telemetry import services
from headframe.telemetry.models import Sensor
from tests.factories import make_user

HEADER = "code,kind,position,location,gateway,period_s,calibration_due,in_service\n"
BAD = (
    HEADER + "A1-V-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1,-5,,1\n"
    "A1-V-02,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,32/13/2027,1\n"
).encode()


def post_file(client, user, content, **headers):
    client.force_login(user)
    handle = io.BytesIO(content)
    handle.name = "sensors.csv"
    return client.post("/api/v1/telemetry/sensors/import", {"file": handle}, **headers)


def test_a_refused_registry_file_names_its_cells_in_english_by_default(mine, users, client):
    response = post_file(client, users.admin_a, BAD)
    assert response.status_code == 422
    assert [item["msg"] for item in response.json()["detail"]] == [
        "csv!2 column period_s: must be a positive number of seconds",
        "csv!3 column calibration_due: not a date (dd/mm/yyyy): '32/13/2027'",
    ]


def test_a_refused_registry_file_names_its_cells_in_vietnamese_when_asked(mine, users, client):
    response = post_file(client, users.admin_a, BAD, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [item["msg"] for item in detail] == [
        "csv!2 cột period_s: phải là số giây dương",
        "csv!3 cột calibration_due: không phải ngày (dd/mm/yyyy): '32/13/2027'",
    ]
    assert [item["type"] for item in detail] == ["value_error", "value_error"]
    assert not Sensor.objects.filter(code__startswith="A1-V-").exists()


def test_out_of_service_without_a_reason_reads_in_vietnamese(mine, users):
    officer = make_user("safety_a", ("safety_officer", "A-M1"))
    with pytest.raises(ValidationFailed) as exc:
        services.sensor_out_of_service(actor=officer, sensor=mine.ch4, reason=" ", hours=4)
    assert exc.value.items[0].msg == "say why the sensor is taken out of service"
    with translation.override("vi"):
        assert exc.value.text == "hãy nêu lý do đưa cảm biến ra khỏi vận hành"
