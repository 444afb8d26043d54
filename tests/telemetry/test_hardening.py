"""Issue 11, the telemetry part: no cross-company registry writes, imports that cannot stop the system nor flood
it with alarms, no 5xx on hostile workbooks, no loose reading values, a bounded quarantine, alarm actions in the
audit log, and no existence oracle. Everything through the public HTTP API or the services."""

import datetime as dt
import io
import json
import time
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from headframe.core import spreadsheets
from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.telemetry import services
from headframe.telemetry.models import (
    Alarm,
    AlarmCondition,
    Gateway,
    GatewayCounter,
    Limit,
    Quarantine,
    Reading,
    Sensor,
    SensorState,
    SiteLimitSetting,
)
from tests.factories import make_user

HEADER = "code,kind,position,location,gateway\n"


def post_file(client, user, content: bytes, name: str = "sensors.csv"):
    client.force_login(user)
    handle = io.BytesIO(content)
    handle.name = name
    return client.post("/api/v1/telemetry/sensors/import", {"file": handle})


@pytest.fixture
def b_sensor(mine, tree):
    """Company B's methane sensor at B's face, on B's gateway (the "NDA" of the report)."""
    return services.sensor_create(
        actor=None,
        code="B1-CH4-01",
        kind="ch4_pct",
        location="face_return",
        position=tree.b_m1_k1_f1,
        gateway=mine.other_gateway,
    )


@pytest.fixture
def gateway_a(mine, api):
    """The API as GW-A1's machine account: post(readings, raw=None) -> response."""
    caller = api(make_user("gw_a", ("gateway", "A-M1")))

    def post(readings=(), raw: str | None = None, gateway: str = "GW-A1"):
        if raw is None:
            raw = json.dumps({"gateway": gateway, "readings": list(readings)})
        return caller.post("/api/v1/telemetry/readings", raw=raw)

    return post


def now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------- 1. no cross-company registry write


def test_an_import_cannot_move_another_companys_methane_sensor(mine, b_sensor, users, client):
    content = (HEADER + "B1-CH4-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1\n").encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["type"] == "code_taken"  # nothing said of where it is registered
    assert error["msg"] == "csv!2 column code: the code B1-CH4-01 is already in use; choose another"
    b_sensor.refresh_from_db()
    assert (b_sensor.gateway.code, b_sensor.position.code) == ("GW-B1", "B-M1-K1-F1")
    assert not AuditEntry.objects.filter(object_type="telemetry.sensor", action="update").exists()


def test_a_blank_in_service_cell_keeps_the_sensor_as_it_is(mine, users, client):
    content = "code,kind,position,location,gateway,in_service\nA1-CO-01,co_ppm,A-M1-K1-F1,roadway,GW-A1,\n"
    response = post_file(client, users.admin_a, content.encode())
    assert response.json() == {"created": 0, "updated": 1}, response.content
    mine.co.refresh_from_db()
    assert (mine.co.location, mine.co.in_service) == ("roadway", True)


def test_a_sensor_moved_between_companies_is_audited_under_both_so_the_old_sites_auditors_see_it(
    mine, b_sensor, users, client, api
):
    content = (HEADER + "B1-CH4-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1\n").encode()
    response = post_file(client, users.admin_g, content)  # the group administrator manages both sites
    assert response.json() == {"created": 0, "updated": 1}
    entries = AuditEntry.objects.filter(object_type="telemetry.sensor", action="update")
    assert sorted(entries.values_list("unit_path", flat=True)) == sorted(
        [mine.site.path, b_sensor_site(mine)]
    )
    seen_by_b = api(users.admin_b).get("/api/v1/audit", object_type="telemetry.sensor").json()["items"]
    moves = [(i["object"], i["after"]["gateway"]) for i in seen_by_b if i["action"] == "update"]
    assert moves == [("B1-CH4-01", "GW-A1")]


def b_sensor_site(mine) -> str:
    return mine.other_gateway.site.path


def test_an_import_cannot_move_ones_own_sensor_to_another_companys_gateway(mine, users, client):
    content = (HEADER + "A1-CH4-01,ch4_pct,B-M1-K1-F1,face_return,GW-B1\n").encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 422
    assert Sensor.objects.get(code="A1-CH4-01").gateway.code == "GW-A1"


def test_an_import_cannot_put_a_sensor_back_in_service_behind_the_safety_officers_back(mine, users, client):
    officer = make_user("safety_a", ("safety_officer", "A-M1"))
    services.sensor_out_of_service(actor=officer, sensor=mine.ch4, reason="hiệu chuẩn")
    content = (
        HEADER.strip() + ",in_service\n" + "A1-CH4-01,ch4_pct,A-M1-K1-F1,face_return,GW-A1,1\n"
    ).encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 422
    assert "safety officer" in response.json()["detail"][0]["msg"]
    assert not Sensor.objects.get(code="A1-CH4-01").in_service


def test_registry_services_refuse_another_companys_site_with_an_application_error(mine, users, tree):
    with pytest.raises(ValidationFailed) as unknown:
        services.gateway_create(actor=users.admin_b, code="GW-X1", site_code="NO-SUCH-SITE")
    with pytest.raises(ValidationFailed) as hidden:
        services.gateway_create(actor=users.admin_b, code="GW-X1", site_code="A-M1")
    assert unknown.value.as_detail()[0]["type"] == hidden.value.as_detail()[0]["type"] == "unknown_unit"
    with pytest.raises(PermissionDenied):  # sees the site, does not manage it
        services.gateway_create(actor=users.viewer_a, code="GW-X1", site_code="A-M1")
    with pytest.raises(PermissionDenied):
        services.sensor_create(
            actor=users.admin_b,
            code="A1-X-01",
            kind="co_ppm",
            location="face_return",
            position=tree.a_m1_k1_f1,
            gateway=mine.gateway,
        )
    assert not Gateway.objects.filter(code="GW-X1").exists()


@pytest.mark.parametrize(
    "path, data",
    [
        ("gateway/add/", lambda t, m: {"code": "GW-X1", "name": "", "site": t.a_m1.pk}),
        (
            "sensor/add/",
            lambda t, m: {
                "code": "A1-X-01",
                "kind": "co_ppm",
                "range_min": 0,
                "range_max": 1000,
                "position": t.a_m1_k1_f1.pk,
                "location": "face_return",
                "gateway": m.gateway.pk,
                "period_s": 10,
            },
        ),
        (
            "sitelimitsetting/add/",
            lambda t, m: {
                "site": t.a_m1.pk,
                "limit": Limit.objects.get(profile__is_default=True, code="ch4_face_return_warn").pk,
                "threshold": 5,
                "enabled": "on",
                "reason": "x",
            },
        ),
    ],
)
def test_a_scoped_admin_adding_on_another_companys_site_in_the_admin_gets_no_500(
    mine, users, tree, client, path, data
):
    client.raise_request_exception = False
    client.force_login(users.admin_b)
    response = client.post(f"/admin/telemetry/{path}", data(tree, mine))
    assert response.status_code in (200, 403)  # a refused choice in the form, or 403 — never a 500
    assert not Gateway.objects.filter(code="GW-X1").exists()
    assert not Sensor.objects.filter(code="A1-X-01").exists()
    assert not SiteLimitSetting.objects.exists()


def test_a_sensor_cannot_sit_at_another_sites_position_even_through_the_admin(mine, users, tree, client):
    client.force_login(users.admin_g)  # may pick both sites' positions: the model itself refuses the mix
    response = client.post(
        "/admin/telemetry/sensor/add/",
        {
            "code": "A1-X-02",
            "kind": "co_ppm",
            "range_min": 0,
            "range_max": 1000,
            "position": tree.b_m1_k1_f1.pk,  # a raw id field: any id can be typed
            "location": "face_return",
            "gateway": mine.gateway.pk,
            "period_s": 10,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Vị trí làm việc này không thuộc mỏ A-M1 của trạm thu thập." in response.content.decode()
    assert not Sensor.objects.filter(code="A1-X-02").exists()


def test_a_gateway_cannot_be_moved_to_another_site_while_its_sensors_stay_behind(mine, users, tree, client):
    client.force_login(users.admin_g)  # may manage both sites: the model itself refuses the split
    response = client.post(
        f"/admin/telemetry/gateway/{mine.gateway.pk}/change/",
        {"code": "GW-A1", "site": tree.b_m1.pk, "name": "Trạm A1", "timeout_s": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "A1-CH4-01" in response.content.decode()
    mine.gateway.refresh_from_db()
    assert mine.gateway.site_id == tree.a_m1.pk  # the methane head's alarms stay with its own mine


# ---------------------------------------------------------------- 2. imports within limits, written fast


def test_an_upload_past_the_byte_limit_is_a_413_naming_the_limit(mine, users, client):
    content = HEADER.encode() + b"x" * spreadsheets.MAX_UPLOAD_BYTES
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 413
    [error] = response.json()["detail"]
    assert error["type"] == "file_too_large" and "10485760 bytes" in error["msg"]


def test_more_rows_than_the_limit_is_a_413_and_nothing_is_stored(mine, users, client, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 3)
    rows = "".join(f"A1-N-{i:02d},co_ppm,A-M1-K1-F1,face_return,GW-A1\n" for i in range(4))
    response = post_file(client, users.admin_a, (HEADER + rows).encode())
    assert response.status_code == 413
    assert response.json()["detail"][0]["type"] == "too_many_rows"
    assert "at most 3 rows" in response.json()["detail"][0]["msg"]
    assert not Sensor.objects.filter(code__startswith="A1-N-").exists()


@pytest.mark.parametrize("length", [spreadsheets.MAX_CELL_CHARS + 1, 200_000])
def test_an_over_long_cell_is_a_413_naming_the_cell(mine, users, client, length):
    content = (
        "code,kind,position,location,gateway,name\n"
        + f"A1-L-01,co_ppm,A-M1-K1-F1,face_return,GW-A1,{'n' * length}\n"
    ).encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 413
    [error] = response.json()["detail"]
    assert error["type"] == "cell_too_large" and "1000" in error["msg"]
    assert not Sensor.objects.filter(code="A1-L-01").exists()


def test_an_import_is_written_with_bulk_statements_not_row_by_row(mine, users, client):
    rows = "".join(f"A1-B-{i:03d},co_ppm,A-M1-K1-F1,face_return,GW-A1\n" for i in range(300))
    with CaptureQueriesContext(connection) as queries:
        response = post_file(client, users.admin_a, (HEADER + rows).encode())
    assert response.json() == {"created": 300, "updated": 0}
    inserts = [q["sql"] for q in queries if 'INSERT INTO "telemetry_sensor" ' in q["sql"]]
    assert len(inserts) <= 10 and len(queries) < 100  # (PostgreSQL: one COPY, not among the queries)
    created = AuditEntry.objects.filter(object_type="telemetry.sensor", action="create", actor_name="admin_a")
    assert created.count() == 300
    assert SensorState.objects.filter(sensor__code__startswith="A1-B-").count() == 300
    again = rows.replace("face_return", "roadway")
    with CaptureQueriesContext(connection) as queries:
        response = post_file(client, users.admin_a, (HEADER + again).encode())
    assert response.json() == {"created": 0, "updated": 300}
    assert len(queries) < 100
    assert set(Sensor.objects.filter(code__startswith="A1-B-").values_list("location", flat=True)) == {
        "roadway"
    }


def test_a_bulk_import_is_one_never_reported_alarm_per_gateway_and_a_real_loss_stays_its_own_alarm(
    mine, users, client, send, api
):
    rows = "".join(f"A1-B-{i:03d},co_ppm,A-M1-K1-F1,face_return,GW-A1\n" for i in range(200))
    assert post_file(client, users.admin_a, (HEADER + rows).encode()).json()["created"] == 200
    registered = int(SensorState.objects.filter(sensor__code="A1-B-000").get().updated_at.timestamp() * 1000)
    old = [("A1-CH4-01", 0.3), ("A1-CO-01", 2.0), ("A1-O2-01", 20.8), ("A1-PUMP-01", 1.0)]
    send(
        [(code, registered + 25_000, v) for code, v in old], now_ms=registered + 26_000
    )  # the gateway is alive

    assert services.stale_scan(now_ms=registered + 31_000) == 1  # not 200
    [alarm] = Alarm.objects.all()
    assert (alarm.limit_code, alarm.gateway.code) == ("never_reported", "GW-A1")
    assert alarm.message.startswith("gateway GW-A1: 200 registered sensors have never reported (A1-B-000, ")
    assert not AlarmCondition.objects.filter(limit_code="stale", active=True).exists()
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    [row] = api(dispatcher).get("/api/v1/telemetry/alarms").json()
    assert (row["gateway"], row["limit"], row["sensor"], row["state"]) == (
        "GW-A1",
        "never_reported",
        None,
        "active_unacked",
    )
    assert api(dispatcher).post(f"/api/v1/telemetry/alarms/{row['condition']}/ack", {}).status_code == 200
    client.force_login(dispatcher)
    html = client.get("/telemetry/A-M1/").content.decode()
    row = html[html.rindex("<tr", 0, html.index('data-testid="alarm-GW-A1-never_reported"')) :]
    assert "Trạm thu thập GW-A1: cảm biến đã đăng ký chưa từng gửi số liệu" in row[: row.index("</tr>")]

    # One of them reports, then stops: its silence is a real loss, alarmed on its own.
    send([("A1-B-007", registered + 32_000, 3.0)], now_ms=registered + 33_000)
    assert services.stale_scan(now_ms=registered + 34_000) == 0
    alarm.refresh_from_db()
    assert alarm.message.startswith("gateway GW-A1: 199 registered sensors have never reported")
    services.stale_scan(now_ms=registered + 32_000 + 31_000)
    assert AlarmCondition.objects.get(sensor__code="A1-B-007", limit_code="stale").active

    # Every one has reported: the gateway's condition returns to normal (to be acknowledged).
    t = registered + 70_000
    send([(f"A1-B-{i:03d}", t, 1.0) for i in range(200)], now_ms=t + 1000)
    services.stale_scan(now_ms=t + 2000)
    cond = AlarmCondition.objects.get(gateway=mine.gateway, limit_code="never_reported")
    assert not cond.active and cond.acked and cond.current_alarm_id is None  # acknowledged above: closed
    assert Alarm.objects.filter(limit_code="never_reported").count() == 1


def test_a_sensor_that_becomes_due_later_reannunciates_the_acknowledged_never_reported_alarm(
    mine, users, client, send, api
):
    rows = "".join(f"A1-B-{i:03d},co_ppm,A-M1-K1-F1,face_return,GW-A1\n" for i in range(3))
    assert post_file(client, users.admin_a, (HEADER + rows).encode()).json()["created"] == 3
    registered = int(SensorState.objects.filter(sensor__code="A1-B-000").get().updated_at.timestamp() * 1000)
    old = [("A1-CH4-01", 0.3), ("A1-CO-01", 2.0), ("A1-O2-01", 20.8), ("A1-PUMP-01", 1.0)]
    send([(code, registered + 25_000, v) for code, v in old], now_ms=registered + 26_000)
    assert services.stale_scan(now_ms=registered + 31_000) == 1
    [first] = Alarm.objects.filter(limit_code="never_reported")
    assert first.priority == "high"  # the people on call are told, as of each sensor's own stale alarm
    dispatcher = make_user("dieu_do_a", ("dispatcher", "A-M1"))
    condition = first.condition_id
    assert api(dispatcher).post(f"/api/v1/telemetry/alarms/{condition}/ack", {}).status_code == 200
    shelve = api(dispatcher).post(
        f"/api/v1/telemetry/alarms/{condition}/shelve", {"minutes": 60, "reason": "commissioning"}
    )
    assert shelve.status_code == 409 and shelve.json()["detail"][0]["type"] == "no_operator_override"

    # A methane sensor registered afterwards never reports: it must not hide behind the acknowledged alarm.
    later = "A1-B-CH4,ch4_pct,A-M1-K1-F1,face_return,GW-A1\n"
    assert post_file(client, users.admin_a, (HEADER + later).encode()).json()["created"] == 1
    since = registered + 60_000  # registered a minute after the others (the test's clock runs ahead of time)
    SensorState.objects.filter(sensor__code="A1-B-CH4").update(
        updated_at=dt.datetime.fromtimestamp(since / 1000, tz=dt.UTC)
    )
    send([(code, since + 29_000, v) for code, v in old], now_ms=since + 30_000)
    assert services.stale_scan(now_ms=since + 31_000) == 1
    first.refresh_from_db()
    assert first.closed_at is not None
    [second] = Alarm.objects.filter(limit_code="never_reported", closed_at__isnull=True)
    assert second.pk != first.pk and second.acked_at is None and "A1-B-CH4" in second.message
    [row] = api(dispatcher).get("/api/v1/telemetry/alarms").json()
    assert row["state"] == "active_unacked"
    assert services.stale_scan(now_ms=since + 32_000) == 0  # once per newcomer, not every scan


# ---------------------------------------------------------------- 3. hostile workbooks: a clear 4xx


def _workbook(rows, *, sheet_xml: bytes | None = None) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if sheet_xml is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item.filename, data)
    return out.getvalue()


SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?>{doctype}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>{cell}</t></is></c></row>'
    "</sheetData></worksheet>"
)
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


@pytest.mark.parametrize(
    "doctype, cell",
    [
        (LAUGHS, "&lol9;"),  # billion laughs
        ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),  # XXE
    ],
)
def test_xml_entities_in_a_workbook_are_a_clear_422(mine, users, client, doctype, cell):
    client.raise_request_exception = False
    content = _workbook([["code"]], sheet_xml=SHEET.format(doctype=doctype, cell=cell).encode())
    response = post_file(client, users.admin_a, content, "sensors.xlsx")
    assert response.status_code == 422, response.content[:300]
    assert response.json()["detail"][0]["loc"] == ["file"]
    assert "root:" not in response.content.decode()


def test_a_zip_bomb_workbook_is_a_413_before_it_is_parsed(mine, users, client):
    padding = "<!--" + " " * (5 * 1024 * 1024) + "-->"
    sheet = SHEET.format(doctype=padding, cell="x").encode()
    response = post_file(client, users.admin_a, _workbook([["code"]], sheet_xml=sheet), "bomb.xlsx")
    assert response.status_code == 413
    assert response.json()["detail"][0]["type"] == "unpacked_too_large"


def test_an_over_long_cell_in_a_workbook_is_a_413_naming_it(mine, users, client):
    rows = [
        ["code", "kind", "position", "location", "gateway", "name"],
        ["A1-L-02", "co_ppm", "A-M1-K1-F1", "face_return", "GW-A1", "n" * 5000],
    ]
    response = post_file(client, users.admin_a, _workbook(rows), "sensors.xlsx")
    assert response.status_code == 413
    assert response.json()["detail"][0]["msg"].startswith("Sheet!F2: the cell holds 5000 characters")


# ---------------------------------------------------------------- 4. loose values and hidden characters


@pytest.fixture
def thermometer(mine):
    return services.sensor_create(
        actor=None,
        code="A1-T-01",
        kind="temperature_c",
        location="workplace",
        position=mine.face,
        gateway=mine.gateway,
    )


def test_a_reading_value_is_a_json_number_and_true_only_for_an_on_off_sensor(mine, thermometer, gateway_a):
    t = now_ms() - 5000
    values = ["١٢٣", "1_000", "12.5", True, False]
    readings = [{"sensor": "A1-T-01", "ts": t + i, "value": v} for i, v in enumerate(values)]
    readings.append({"sensor": "A1-PUMP-01", "ts": t, "value": True})  # a pump: running
    readings.append({"sensor": "A1-T-01", "ts": t + 10, "value": 1e-50})  # a number, however small
    response = gateway_a(readings)
    assert response.status_code == 200
    assert response.json()["quarantined"] == {"not_a_number": 5}
    assert list(Reading.objects.filter(sensor=thermometer).values_list("value", flat=True)) == [1e-50]
    assert list(Reading.objects.filter(sensor=mine.pump).values_list("value", flat=True)) == [1.0]
    details = set(Quarantine.objects.filter(sensor_code="A1-T-01").values_list("detail", flat=True))
    assert "true/false is a reading of an on/off sensor (pump, fan) only, not of temperature_c" in details
    assert "a reading value is a JSON number, not text" in details


def test_an_integer_beyond_any_float_is_quarantined_and_a_fault_not_an_error(mine, send, gateway_a):
    from tests.telemetry.conftest import NOW_MS

    result = send([("A1-CH4-01", NOW_MS - 1000, 10**400)])  # Python callers (and JSON parsers that allow it)
    assert result.quarantined == {"not_a_number": 1} and result.stored == 0
    assert AlarmCondition.objects.get(sensor=mine.ch4, limit_code="sensor_fault").active  # fail safe
    body = {"gateway": "GW-A1", "readings": [{"sensor": "A1-CH4-01", "ts": now_ms() - 1000, "value": "HUGE"}]}
    response = gateway_a(raw=json.dumps(body).replace('"HUGE"', "1" + "0" * 400))  # an integer of 401 digits
    assert response.status_code in (200, 400, 422)  # quarantined or refused as JSON: never a 500


def test_nul_and_lone_surrogates_in_a_reading_are_quarantined_not_an_error(mine, send, gateway_a):
    from tests.telemetry.conftest import NOW_MS

    raw = json.dumps(
        {
            "gateway": "GW-A1",
            "readings": [
                {"sensor": "A1-CH4-01\x00", "ts": now_ms() - 1000, "value": 0.3},
                {"sensor": "A1-CO-01", "ts": "\x00", "value": "\x00"},
            ],
        }
    )
    response = gateway_a(raw=raw)
    assert response.status_code == 200, response.content
    assert response.json()["quarantined"] == {"unknown_sensor": 1, "bad_timestamp": 1}
    result = send([("\ud800", NOW_MS - 1000, 0.3)])  # a lone surrogate has no UTF-8 encoding
    assert result.quarantined == {"unknown_sensor": 1}
    kept = dict(Quarantine.objects.values_list("sensor_code", "ts_raw"))  # as escapes, readable and storable
    assert set(kept) == {"A1-CH4-01\\x00", "A1-CO-01", "\\ud800"} and kept["A1-CO-01"] == "\\x00"


@pytest.mark.parametrize("char", ["\x00", "\u202e", "\u200b"])
def test_hidden_characters_in_sensor_and_gateway_names_and_codes_are_refused(mine, users, client, char):
    content = (
        "code,kind,position,location,gateway,name\n"
        f"A1-H-01,co_ppm,A-M1-K1-F1,face_return,GW-A1,CO{char}01\n"
        f"A1-H-0{char}2,co_ppm,A-M1-K1-F1,face_return,GW-A1,\n"
    ).encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 422
    assert [e["type"] for e in response.json()["detail"]] == ["hidden_character", "hidden_character"]
    assert not Sensor.objects.filter(code__startswith="A1-H-").exists()
    with pytest.raises(ValidationFailed):
        services.gateway_create(actor=users.admin_a, code="GW-A9", site_code="A-M1", name=f"Trạm{char}A9")
    with pytest.raises(ValidationFailed):
        services.sensor_create(
            actor=users.admin_a,
            code="A1-H-03",
            name=f"CH4{char}",
            kind="ch4_pct",
            location="face_return",
            position=mine.face,
            gateway=mine.gateway,
        )


def test_numbers_in_an_import_are_ascii_and_finite(mine, users, client):
    content = (
        "code,kind,position,location,gateway,period_s,range_max,calibration_due\n"
        "A1-V-01,co_ppm,A-M1-K1-F1,face_return,GW-A1,1_000,,\n"
        "A1-V-02,co_ppm,A-M1-K1-F1,face_return,GW-A1,١٢,,\n"
        "A1-V-03,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,1e400,\n"
        "A1-V-04,co_ppm,A-M1-K1-F1,face_return,GW-A1,1e400,,\n"
        "A1-V-05,co_ppm,A-M1-K1-F1,face_return,GW-A1,2.5,,\n"
        "A1-V-06,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,,٣١/١٢/٢٠٢٧\n"
        "A1-V-07,co_ppm,A-M1-K1-F1,face_return,GW-A1,10,,01/01/0001\n"
    ).encode()
    response = post_file(client, users.admin_a, content)
    assert response.status_code == 422, response.content
    columns = [e["msg"].split(":")[0] for e in response.json()["detail"]]
    assert columns == [
        "csv!2 column period_s",
        "csv!3 column period_s",
        "csv!4 column range_max",
        "csv!5 column period_s",
        "csv!6 column period_s",
        "csv!7 column calibration_due",
        "csv!8 column calibration_due",
    ]
    assert not Sensor.objects.filter(code__startswith="A1-V-").exists()


# ---------------------------------------------------------------- 5. bounded quarantine, audit, no oracle


def test_one_message_of_bad_readings_is_a_bounded_number_of_quarantine_rows(mine, gateway_a):
    t = now_ms() - 5000
    readings = [{"sensor": f"NOPE-{i % 10}", "ts": t, "value": 0.1} for i in range(1000)]
    readings += [{"sensor": "A1-CH4-01", "ts": "yesterday", "value": 0.1} for _ in range(5)]
    response = gateway_a(readings)
    assert response.json()["quarantined"] == {"unknown_sensor": 1000, "bad_timestamp": 5}
    rows = list(Quarantine.objects.order_by("id"))
    # The first 100, then the first reading of the methane head (a sensor and reason not kept yet), then the rest
    # counted in one row: the methane sensor's refusal is never hidden behind a flood of another's.
    assert len(rows) == services.QUARANTINE_ROWS_PER_MESSAGE + 2
    assert (rows[-2].sensor_code, rows[-2].reason) == ("A1-CH4-01", "bad_timestamp")
    assert rows[-1].detail.startswith("904 more readings of this message refused")
    assert "unknown_sensor 900, bad_timestamp 4" in rows[-1].detail
    counts = dict(GatewayCounter.objects.filter(gateway_code="GW-A1").values_list("outcome", "count"))
    assert (counts["unknown_sensor"], counts["bad_timestamp"]) == (1000, 5)  # every one counted


def test_alarm_actions_are_in_the_audit_log_under_the_alarms_site(mine, send, api):
    from tests.telemetry.conftest import NOW_MS

    operator = make_user("disp_a", ("dispatcher", "A-M1"))
    officer = make_user("safety_a", ("safety_officer", "A-M1"))
    send([("A1-CH4-01", NOW_MS - 60_000 + i * 5000, 0.85) for i in range(4)])  # the 0.8 % pre-alarm
    warn = AlarmCondition.objects.get(sensor=mine.ch4, limit_code="ch4_face_return_warn")
    caller = api(operator)
    assert caller.post(f"/api/v1/telemetry/alarms/{warn.id}/ack", {"comment": "đã biết"}).status_code == 200
    shelve = {"minutes": 30, "reason": "đo kiểm tay"}
    assert caller.post(f"/api/v1/telemetry/alarms/{warn.id}/shelve", shelve).status_code == 200
    assert caller.post(f"/api/v1/telemetry/alarms/{warn.id}/unshelve", {"comment": ""}).status_code == 200
    send([("A1-CH4-01", NOW_MS - 30_000, 1.2), ("A1-CH4-01", NOW_MS - 20_000, 0.3)])  # a trip, latched
    trip = AlarmCondition.objects.get(sensor=mine.ch4, limit_code="ch4_face_return_trip")
    assert (
        caller.post("/api/v1/telemetry/alarms/ack", {"conditions": [trip.id], "comment": "x"}).status_code
        == 200
    )
    assert (
        caller.post(f"/api/v1/telemetry/alarms/{trip.id}/reset", {"comment": "đã kiểm tra"}).status_code
        == 200
    )
    out = api(officer).post("/api/v1/telemetry/sensors/A1-O2-01/out-of-service", {"reason": "hiệu chuẩn"})
    assert out.status_code == 200
    back = api(officer).post("/api/v1/telemetry/sensors/A1-O2-01/return-to-service", {"comment": "xong"})
    assert back.status_code == 200
    entries = AuditEntry.objects.filter(object_type__startswith="telemetry.").order_by("id")
    assert [(e.action, e.actor_name) for e in entries if e.action.startswith("alarm_")] == [
        ("alarm_ack", "disp_a"),
        ("alarm_shelve", "disp_a"),
        ("alarm_unshelve", "disp_a"),
        ("alarm_ack", "disp_a"),
        ("alarm_reset", "disp_a"),
    ]
    assert {e.unit_path for e in entries} == {mine.site.path}
    shelved = entries.get(action="alarm_shelve")
    assert (
        shelved.object_repr == "A1-CH4-01:ch4_face_return_warn" and shelved.after["reason"] == "đo kiểm tay"
    )
    sensor_updates = [e for e in entries if e.object_type == "telemetry.sensor" and e.action == "update"]
    assert [e.after.get("in_service") for e in sensor_updates] == [False, True]


def test_a_sequence_number_past_64_bits_is_a_422_not_a_500(mine, users, api):
    caller = api(make_user("gw_a2", ("gateway", "A-M1")))
    body = {
        "gateway": "GW-A1",
        "seq": 2**63,
        "readings": [{"sensor": "A1-CH4-01", "ts": now_ms(), "value": 0.3}],
    }
    response = caller.post("/api/v1/telemetry/readings", body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "seq"


def test_out_of_scope_and_unknown_codes_answer_alike(mine, b_sensor, users, api, client, gateway_a):
    caller = api(users.admin_a)
    pairs = [
        ("/api/v1/telemetry/gateways/GW-B1/health", "/api/v1/telemetry/gateways/GW-NOPE/health"),
        (
            "/api/v1/telemetry/sensors/B1-CH4-01/readings?from=2027-01-01T00:00:00Z",
            "/api/v1/telemetry/sensors/B1-NOPE/readings?from=2027-01-01T00:00:00Z",
        ),
    ]
    for hidden, unknown in pairs:
        a, b = caller.get(hidden), caller.get(unknown)
        assert (
            (a.status_code, [e["type"] for e in a.json()["detail"]])
            == (
                b.status_code,
                [e["type"] for e in b.json()["detail"]],
            )
            == (404, ["not_found"])
        )
    for path in ("/api/v1/telemetry/sensors", "/api/v1/telemetry/alarms", "/api/v1/telemetry/alarms/hidden"):
        # A mistyped site is a 404, never an empty list that reads as "no alarms"; another company's alike.
        a, b = caller.get(path, site="B-M1"), caller.get(path, site="NOPE")
        assert (a.status_code, a.json()["detail"][0]["type"]) == (404, "not_found"), path
        assert (b.status_code, b.json()["detail"][0]["type"]) == (404, "not_found"), path
        assert "B-M1" not in a.json()["detail"][0]["msg"] or "NOPE" in b.json()["detail"][0]["msg"]
    # A gateway posting another site's sensor: unknown to it, as a sensor that does not exist.
    readings = [{"sensor": code, "ts": now_ms() - 5000, "value": 0.3} for code in ("B1-CH4-01", "B1-NOPE")]
    assert gateway_a(readings).json()["quarantined"] == {"unknown_sensor": 2}
    hidden, unknown = gateway_a(gateway="GW-B1"), gateway_a(gateway="GW-NOPE")
    assert hidden.status_code == unknown.status_code == 422
    assert hidden.json()["detail"][0]["type"] == unknown.json()["detail"][0]["type"] == "unknown_gateway"
    # In an import: another company's gateway or position is unknown, exactly like one that does not exist.
    content = (
        HEADER + "A1-O-01,co_ppm,A-M1-K1-F1,face_return,GW-B1\n"
        "A1-O-02,co_ppm,A-M1-K1-F1,face_return,GW-NOPE\n"
        "A1-O-03,co_ppm,B-M1-K1-F1,face_return,GW-A1\n"
        "A1-O-04,co_ppm,A-M9-K1-F1,face_return,GW-A1\n"
    ).encode()
    details = post_file(client, users.admin_a, content).json()["detail"]
    assert [(d["msg"].split("'")[0], d["type"]) for d in details] == [
        ("csv!2 column gateway: unknown gateway ", "unknown_gateway"),
        ("csv!3 column gateway: unknown gateway ", "unknown_gateway"),
        ("csv!4 column position: unknown work position ", "unknown_unit"),
        ("csv!5 column position: unknown work position ", "unknown_unit"),
    ]


@pytest.mark.parametrize(("code", "status"), [("A1-CH4-01%00", 422), ("%E2%80%AEA1-CH4-01", 404)])
def test_a_code_with_nul_or_hidden_characters_in_the_path_is_a_4xx_not_a_500(mine, users, api, code, status):
    # A NUL is refused at the door for every request (PostgreSQL cannot compare text holding one); a code
    # with a bidi override is simply unknown.
    response = api(users.admin_a).get(f"/api/v1/telemetry/gateways/{code}/health")
    assert response.status_code == status


def test_a_registry_change_between_the_check_and_the_write_refuses_the_whole_file(mine, users):
    from headframe.core.errors import Conflict
    from headframe.telemetry import registry_io

    content = (
        HEADER + "A1-CH4-01,ch4_pct,A-M1-K1-F1,roadway,GW-A1\nA1-C-01,co_ppm,A-M1-K1-F1,roadway,GW-A1\n"
    ).encode()
    sheet, rows = registry_io.read_table(content, "s.csv")
    plan = registry_io._plan(users.admin_a, sheet, rows)  # checked, outside any transaction
    Sensor.objects.filter(code="A1-CH4-01").update(period_s=30)  # meanwhile, another change
    with pytest.raises(Conflict):
        registry_io._write(plan, registry_io._Statements(users.admin_a, plan), ["A1-C-01", "A1-CH4-01"])
    assert not Sensor.objects.filter(code="A1-C-01").exists()
    assert Sensor.objects.get(code="A1-CH4-01").location == "face_return"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/telemetry/kpi?site=A-M1&from=0001-01-01T00:00:00%2B14:00",
        "/api/v1/telemetry/kpi?site=A-M1&to=0001-01-01T00:00:00Z",
        "/api/v1/telemetry/sensors/A1-CH4-01/readings?from=0001-01-01T00:00:00%2B14:00",
    ],
)
def test_times_no_mine_has_data_for_are_a_422_not_a_500(mine, users, api, client, url):
    client.raise_request_exception = False
    response = client.get(url, **api(users.admin_a).headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "out_of_range"


def test_a_hidden_character_in_a_name_is_refused_in_the_admin_too(mine, users, client):
    client.force_login(users.admin_a)
    url = f"/admin/telemetry/gateway/{mine.gateway.pk}/change/"
    response = client.post(url, {"code": "GW-A1", "name": "Trạm\u202e1A", "site": mine.site.pk})
    assert response.status_code == 200  # the form again, with the error
    assert "U+202E" in response.content.decode()
    mine.gateway.refresh_from_db()
    assert mine.gateway.name == "Trạm A1"


def test_a_sensor_moved_in_the_admin_is_audited_under_both_places(mine, b_sensor, users, tree, client):
    client.force_login(users.admin_g)
    form = {
        "code": "B1-CH4-01",
        "name": "",
        "kind": "ch4_pct",
        "unit_of_measure": "%",
        "range_min": 0,
        "range_max": 100,
        "position": tree.a_m1_k1_f1.pk,
        "location": "face_return",
        "gateway": mine.gateway.pk,
        "sparkplug_metric": "",
        "period_s": 10,
        "calibration_due": "",
    }
    response = client.post(f"/admin/telemetry/sensor/{b_sensor.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entries = AuditEntry.objects.filter(object_type="telemetry.sensor", action="update")
    assert sorted(entries.values_list("unit_path", flat=True)) == sorted(
        [mine.site.path, b_sensor_site(mine)]
    )
    assert {e.after["gateway"] for e in entries} == {"GW-A1"}
