"""Shared by the simulator's parts: names of the wire format, the scenario list, the refusal error and a
simulated sensor (read from the registry when Django is set up)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PROG = "headframe simulate"
TOPIC = "headframe/v1/{site}/{gateway}/readings"
READINGS_PATH = "/api/v1/telemetry/readings"
MAX_BATCH = 500
SCENARIOS = (
    "methane_buildup",
    "frozen_sensor",
    "pump_failure",
    "co_heating",
    "alarm_flood",
    "gateway_outage",
)


class SimulatorError(Exception):
    """A refused run (bad options, no sensors, the server refuses our token): one line, exit 1."""


@dataclass(frozen=True, slots=True)
class SimSensor:
    code: str
    kind: str
    location: str
    position: str
    position_kind: str
    gateway: str
    site: str
    period_s: int


def sensors_from_db(sites: Sequence[str] = ()) -> list[SimSensor]:
    """The in-service sensors (of the given site codes), in code order."""
    from headframe.telemetry.models import Sensor  # local: the simulator imports without Django set up  # noqa: PLC0415 (a client program: Django only when reading the registry)

    qs = Sensor.objects.filter(in_service=True).select_related("gateway__site", "position").order_by("code")
    if sites:
        qs = qs.filter(gateway__site__code__in=list(sites))
    return [
        SimSensor(
            code=s.code,
            kind=s.kind,
            location=s.location,
            position=s.position.code,
            position_kind=s.position.position_kind,
            gateway=s.gateway.code,
            site=s.gateway.site.code,
            period_s=s.period_s,
        )
        for s in qs
    ]
