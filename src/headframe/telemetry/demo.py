"""Demo sensor registry: one gateway per underground mine and the sensors a Vietnamese coal mine's gas-monitoring
system has at each work position, chosen by the position's kind.

Deterministic (same seed, same registry) and idempotent (existing gateways and sensors are left as they are), and
written through telemetry.services so it is audited like any other registry change (as the system).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from headframe.core.audit import channel
from headframe.org.models import ApiToken, Unit, UnitKind
from headframe.org.services import token_create, token_revoke
from headframe.telemetry import services
from headframe.telemetry.models import Gateway, Location, Sensor, SensorKind, SensorState

SPARKPLUG_GROUP = "headframe"
DEMO_GATEWAY_USER = "gateway"  # the machine account the HTTP simulator sends as (role "gateway" on the group)
SIMULATOR_TOKEN_NAME = "demo simulator"
TELEMETRY_SEED = 4111


@dataclass(frozen=True)
class SensorSpec:
    suffix: str  # appended to the position code: NDA-M1-KT1-LC01-CH4
    kind: str
    location: str
    period_s: int
    label_vi: str


GAS_PERIOD_S = 10
SLOW_PERIOD_S = 30

FACE = [
    SensorSpec("CH4", SensorKind.CH4, Location.FACE_RETURN, GAS_PERIOD_S, "CH₄ gió thải lò chợ"),
    SensorSpec("CO", SensorKind.CO, Location.FACE_RETURN, GAS_PERIOD_S, "CO gió thải lò chợ"),
    SensorSpec("O2", SensorKind.O2, Location.FACE_RETURN, GAS_PERIOD_S, "O₂ gió thải lò chợ"),
    SensorSpec("VG", SensorKind.AIR_VELOCITY, Location.FACE_RETURN, GAS_PERIOD_S, "Tốc độ gió lò chợ"),
    SensorSpec("T", SensorKind.TEMPERATURE, Location.FACE_RETURN, SLOW_PERIOD_S, "Nhiệt độ lò chợ"),
]
HEADING = [
    SensorSpec("CH4", SensorKind.CH4, Location.DEVELOPMENT_HEADING, GAS_PERIOD_S, "CH₄ gương lò chuẩn bị"),
    SensorSpec("CO", SensorKind.CO, Location.DEVELOPMENT_HEADING, GAS_PERIOD_S, "CO gương lò chuẩn bị"),
    SensorSpec("O2", SensorKind.O2, Location.DEVELOPMENT_HEADING, GAS_PERIOD_S, "O₂ gương lò chuẩn bị"),
    SensorSpec(
        "VG", SensorKind.AIR_VELOCITY, Location.DEVELOPMENT_HEADING, GAS_PERIOD_S, "Tốc độ gió lò chuẩn bị"
    ),
    SensorSpec("T", SensorKind.TEMPERATURE, Location.DEVELOPMENT_HEADING, SLOW_PERIOD_S, "Nhiệt độ gương lò"),
]
GENERAL_RETURN = SensorSpec(
    "CH4R", SensorKind.CH4, Location.GENERAL_RETURN, GAS_PERIOD_S, "CH₄ luồng gió thải chung"
)
SENSORS_BY_POSITION_KIND: dict[str, list[SensorSpec]] = {
    "longwall_face": FACE,
    "development_heading": HEADING,
    "pump_station": [
        SensorSpec("MN", SensorKind.WATER_LEVEL, Location.SUMP, SLOW_PERIOD_S, "Mức nước hầm bơm"),
        SensorSpec("BOM", SensorKind.PUMP_RUNNING, Location.SUMP, SLOW_PERIOD_S, "Trạng thái bơm"),
    ],
    "main_fan": [
        SensorSpec(
            "QG", SensorKind.FAN_RUNNING, Location.FAN_HOUSE, GAS_PERIOD_S, "Trạng thái quạt gió chính"
        ),
        SensorSpec("VG", SensorKind.AIR_VELOCITY, Location.FAN_HOUSE, GAS_PERIOD_S, "Tốc độ gió rãnh quạt"),
    ],
    "conveyor": [
        SensorSpec("CO", SensorKind.CO, Location.ROADWAY, GAS_PERIOD_S, "CO dọc tuyến băng tải"),
        SensorSpec("VG", SensorKind.AIR_VELOCITY, Location.ROADWAY, SLOW_PERIOD_S, "Tốc độ gió lò băng tải"),
    ],
    "shaft": [
        SensorSpec("CO", SensorKind.CO, Location.SHAFT, GAS_PERIOD_S, "CO giếng nghiêng"),
        SensorSpec("VG", SensorKind.AIR_VELOCITY, Location.SHAFT, SLOW_PERIOD_S, "Tốc độ gió giếng"),
    ],
}


def gateway_code_for(site_code: str) -> str:
    return f"GW-{site_code}"


def _specs_for(position: Unit, faces_seen: dict[int, int]) -> list[SensorSpec]:
    specs = list(SENSORS_BY_POSITION_KIND.get(position.position_kind, []))
    if position.position_kind == "longwall_face":
        # The first face of each mining section also carries the section's general-return methane sensor.
        faces_seen[position.parent_id] = faces_seen.get(position.parent_id, 0) + 1
        if faces_seen[position.parent_id] == 1:
            specs.append(GENERAL_RETURN)
    return specs


@dataclass
class TelemetryDemoResult:
    gateways: int = 0
    sensors: int = 0
    created_gateways: list[str] = field(default_factory=list)
    created_sensors: int = 0


def underground_sites():
    return Unit.objects.filter(kind=UnitKind.SITE, site_type="underground").order_by("code")


@transaction.atomic
def load_telemetry_demo(*, today: dt.date | None = None, seed: int = TELEMETRY_SEED) -> TelemetryDemoResult:
    """A gateway per underground site and sensors at each of its work positions (by kind). Calibration dates
    fall 3 weeks to 11 months after `today`, ~3 % of them already past (overdue). Re-running creates only what is missing."""
    today = today or timezone.localdate()
    result = TelemetryDemoResult()
    existing_gateways = set(Gateway.objects.values_list("code", flat=True))
    existing_sensors = set(Sensor.objects.values_list("code", flat=True))
    with channel("system"):
        for site in underground_sites():
            code = gateway_code_for(site.code)
            if code in existing_gateways:
                gateway = Gateway.objects.get(code=code)
            else:
                gateway = services.gateway_create(
                    actor=None,
                    code=code,
                    site_code=site.code,
                    name=f"Trạm trung tâm quan trắc khí {site.name_vi}",
                    sparkplug_group=SPARKPLUG_GROUP,
                    sparkplug_node=code,
                )
                result.created_gateways.append(code)
            result.gateways += 1
            positions = Unit.objects.filter(
                kind=UnitKind.POSITION, path__startswith=site.path, is_active=True
            ).order_by("path")
            faces_seen: dict[int, int] = {}
            for position in positions:
                for spec in _specs_for(position, faces_seen):
                    sensor_code = f"{position.code}-{spec.suffix}"
                    result.sensors += 1
                    if sensor_code in existing_sensors:
                        continue
                    rng = random.Random(f"{seed}:{sensor_code}")
                    due_in = rng.randint(-30, -1) if rng.random() < 0.03 else rng.randint(20, 330)
                    services.sensor_create(
                        actor=None,
                        code=sensor_code,
                        name=f"{spec.label_vi} – {position.name_vi}",
                        kind=spec.kind,
                        location=spec.location,
                        position=position,
                        gateway=gateway,
                        sparkplug_metric=f"{position.code.removeprefix(site.code + '-')}/{spec.suffix}",
                        period_s=spec.period_s,
                        calibration_due=today + dt.timedelta(days=due_in),
                    )
                    result.created_sensors += 1
    return result


def simulator_token(*, name: str = SIMULATOR_TOKEN_NAME) -> str:
    """A fresh bearer token for the demo gateway account (the raw value is never stored, so each `headframe demo`
    run makes one); earlier tokens of the same name are revoked so they do not pile up."""
    user = get_user_model().objects.get(username=DEMO_GATEWAY_USER)
    with channel("system"), transaction.atomic():
        for old in ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True):
            token_revoke(actor=None, token=old)
        _, raw = token_create(actor=None, user=user, name=name)
    return raw


def sensors_registered_now() -> int:
    """`headframe demo` is about to start its simulator: sensors that never reported count as registered now,
    not when the demo data was loaded minutes earlier — else the first watchdog round would find every demo
    gateway 'never reported' and raise its lost alarm before the simulator's first message arrives."""
    return SensorState.objects.filter(last_ts__isnull=True).update(updated_at=timezone.now())
