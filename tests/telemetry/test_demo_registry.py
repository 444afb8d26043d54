"""The demo sensor registry: a gateway per underground mine, sensors at every underground work position by kind,
deterministic and idempotent; the demo gateway account may send for every demo gateway."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.telemetry.demo import DEMO_GATEWAY_USER, load_telemetry_demo, simulator_token
from headframe.telemetry.models import Gateway, Sensor

TODAY = dt.date(2027, 1, 15)

EXPECTED_KINDS = {
    "longwall_face": {"ch4_pct", "co_ppm", "o2_pct", "air_velocity_ms", "temperature_c"},
    "development_heading": {"ch4_pct", "co_ppm", "o2_pct", "air_velocity_ms", "temperature_c"},
    "pump_station": {"water_level_m", "pump_running"},
    "main_fan": {"fan_running", "air_velocity_ms"},
    "conveyor": {"co_ppm", "air_velocity_ms"},
    "shaft": {"co_ppm", "air_velocity_ms"},
}


def test_every_underground_mine_gets_one_sparkplug_gateway_and_no_other_site_does(demo_org, db):
    underground = set(
        Unit.objects.filter(kind="site", site_type="underground").values_list("code", flat=True)
    )
    gateways = {g.site.code: g for g in Gateway.objects.select_related("site")}
    assert set(gateways) == underground and len(underground) == 8
    gateway = gateways["NDA-M1"]
    assert (gateway.code, gateway.sparkplug_group, gateway.sparkplug_node) == (
        "GW-NDA-M1",
        "headframe",
        "GW-NDA-M1",
    )


def _underground_positions():
    sites = Unit.objects.filter(kind="site", site_type="underground")
    return [
        p for p in Unit.objects.filter(kind="position") if any(p.path.startswith(site.path) for site in sites)
    ]


def test_every_underground_work_position_has_the_sensors_of_its_kind(demo_org, db):
    underground_positions = _underground_positions()
    with_sensors = set(Sensor.objects.values_list("position_id", flat=True))
    assert with_sensors == {p.id for p in underground_positions}
    kinds_seen = set()
    for position in underground_positions:
        kinds = set(position.sensors.values_list("kind", flat=True))
        assert EXPECTED_KINDS[position.position_kind] <= kinds, position.code
        kinds_seen.add(position.position_kind)
    assert kinds_seen == set(EXPECTED_KINDS)
    face_ch4 = Sensor.objects.get(code="NDA-M1-KT1-LC01-CH4")
    assert (face_ch4.location, face_ch4.period_s, face_ch4.gateway.code) == ("face_return", 10, "GW-NDA-M1")
    assert Sensor.objects.filter(kind="ch4_pct", location="general_return").count() == 16  # one per section
    assert Sensor.objects.get(code="NDA-M1-TG-TB1-MN").period_s == 30


def test_a_few_calibrations_are_overdue_the_rest_due_within_a_year(demo_org, db):
    Sensor.objects.all().delete()
    load_telemetry_demo(today=TODAY)
    dues = list(Sensor.objects.values_list("calibration_due", flat=True))
    overdue = [d for d in dues if d < TODAY]
    assert 0 < len(overdue) < len(dues) * 0.08
    assert max(dues) <= TODAY + dt.timedelta(days=366)


def test_loading_twice_changes_nothing(demo_org, db):
    sensors = list(Sensor.objects.order_by("code").values_list("code", "kind", "location", "calibration_due"))
    audit = AuditEntry.objects.count()
    again = load_telemetry_demo()
    assert again.created_sensors == 0 and again.created_gateways == []
    assert again.sensors == len(sensors) > 800
    assert (
        list(Sensor.objects.order_by("code").values_list("code", "kind", "location", "calibration_due"))
        == sensors
    )
    assert AuditEntry.objects.count() == audit


def test_the_registry_is_deterministic(demo_org, db):
    first = list(Sensor.objects.order_by("code").values_list("code", "period_s", "calibration_due"))
    Sensor.objects.all().delete()
    load_telemetry_demo()
    assert list(Sensor.objects.order_by("code").values_list("code", "period_s", "calibration_due")) == first


def test_the_demo_gateway_account_has_only_a_token_and_may_send_for_every_gateway(demo_org, db, client):
    user = get_user_model().objects.get(username=DEMO_GATEWAY_USER)
    assert not user.has_usable_password()
    token = simulator_token()
    again = simulator_token()  # a new run revokes the previous token
    for code, raw, status in (
        ("GW-NDA-M1", again, 200),
        ("GW-SLA-M2", again, 200),
        ("GW-NDA-M1", token, 401),
    ):
        response = client.post(
            "/api/v1/telemetry/readings",
            {"gateway": code, "readings": []},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == status, (code, response.content)
