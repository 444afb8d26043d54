"""Sensor registry import from CSV/XLSX: all rows or none, each bad cell named by row and column, scoped."""

import io

from openpyxl import Workbook

from headframe.core.audit import AuditEntry
from headframe.telemetry.models import Sensor

HEADER = "code,kind,position,location,gateway,period_s,calibration_due,in_service\n"


def post_file(client, user, content, name):
    client.force_login(user)
    handle = io.BytesIO(content)
    handle.name = name
    return client.post("/api/v1/telemetry/sensors/import", {"file": handle})


def test_csv_creates_and_then_updates_sensors_with_audit(mine, users, client):
    content = (
        HEADER + "A1-CH4-09,ch4_pct,A-M1-K1-F1,face_return,GW-A1,10,31/12/2027,có\n"
        "A1-CO-09,co_ppm,A-M1-K1-F1,face_return,GW-A1,,,1\n"
    ).encode()
    response = post_file(client, users.admin_a, content, "sensors.csv")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0}
    sensor = Sensor.objects.get(code="A1-CH4-09")
    assert (sensor.range_max, sensor.unit_of_measure, str(sensor.calibration_due)) == (
        100.0,
        "%",
        "2027-12-31",
    )
    again = post_file(client, users.admin_a, content.replace(b",10,31/12/2027", b",20,31/12/2027"), "s.csv")
    assert again.json() == {"created": 0, "updated": 1}
    assert Sensor.objects.get(code="A1-CH4-09").period_s == 20
    assert AuditEntry.objects.filter(object_type="telemetry.sensor", action="update").count() == 1


def test_bad_cells_are_all_reported_and_nothing_is_stored(mine, users, client):
    content = (
        HEADER + "A1-X-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1,-5,,1\n"
        "A1-X-02,methane,A-M1-K1-F1,face_return,GW-A1,10,,1\n"
        "A1-X-03,co_ppm,B-M1-K1-F1,face_return,GW-A1,10,,1\n"
        "A1-X-04,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,32/13/2027,1\n"
        "A1-X-05,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,,1\n"
        "A1-X-05,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,,1\n"
    ).encode()
    response = post_file(client, users.admin_a, content, "sensors.csv")
    assert response.status_code == 422
    messages = [item["msg"] for item in response.json()["detail"]]
    assert messages == [
        "csv!2 column period_s: must be a positive number of seconds",
        "csv!3 column kind: unknown kind 'methane' (one of ch4_pct, co_ppm, o2_pct, co2_pct, air_velocity_ms, "
        "temperature_c, water_level_m, pump_running, fan_running)",
        "csv!4 column position: unknown work position 'B-M1-K1-F1'",  # another company's: not revealed
        "csv!5 column calibration_due: not a date (dd/mm/yyyy): '32/13/2027'",
        "csv!7 column code: duplicate of row 6",
    ]
    assert not Sensor.objects.filter(code__startswith="A1-X-").exists()


def test_xlsx_with_vietnamese_headers(mine, users, client):
    book = Workbook()
    sheet = book.active
    sheet.title = "Cảm biến"
    sheet.append(["Mã cảm biến", "Loại", "Vị trí", "Vị trí đo", "Trạm", "Hạn hiệu chuẩn"])
    sheet.append(["A1-T-01", "temperature_c", "A-M1-K1-F1", "workplace", "GW-A1", None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = post_file(client, users.admin_a, buffer.getvalue(), "cam-bien.xlsx")
    assert response.status_code == 200 and response.json()["created"] == 1


def test_another_company_cannot_register_sensors_here(mine, users, client):
    content = (HEADER + "A1-Y-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1,10,,1\n").encode()
    response = post_file(client, users.admin_b, content, "sensors.csv")
    assert response.status_code == 422
    # Another company's gateway answers exactly like one that does not exist (no existence oracle).
    assert response.json()["detail"] == [
        {"loc": ["file"], "msg": "csv!2 column gateway: unknown gateway 'GW-A1'", "type": "unknown_gateway"}
    ]
    assert not Sensor.objects.filter(code="A1-Y-01").exists()
