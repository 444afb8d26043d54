"""`headframe simulate`: realistic readings for the registered sensors, with scripted incidents, sent the way real
gateways send them (one JSON batch per gateway per message, over MQTT QoS 1 or the HTTP API).

The model is a `World` driven by simulated time (seconds since start). Every sensor samples on its own period
with a fixed phase; its value is a mean-reverting drift (Ornstein–Uhlenbeck) around a per-sensor baseline plus
white noise, kept inside a healthy band, so a quiet mine raises no alarms. Pump stations cycle between a low and
a high mark. Scenarios override chosen sensors along scripted curves (keyframes), freeze them, silence them or
stop a pump, and announce each step. Everything random comes from `--seed` and the sensor's code, so the same
seed gives the same values whichever other sensors are simulated.

Timestamps are wall-clock (ingest refuses readings from the future): `--speedup N` makes the world evolve N×
faster, so sensors also report N× more often.

The package: `model` (profiles, processes, the World), `scenarios` (scripted incidents), `transports` (print,
MQTT, HTTP), `runner` (the run loop and the command line). It is a client program: importable without Django
set up (only `sensors_from_db` needs it).
"""

from headframe.telemetry.simulator._common import (
    MAX_BATCH,
    PROG,
    READINGS_PATH,
    SCENARIOS,
    TOPIC,
    SimSensor,
    SimulatorError,
    sensors_from_db,
)
from headframe.telemetry.simulator.model import (
    CONSTANT,
    PROFILES,
    Process,
    Profile,
    PumpStation,
    World,
    profile_for,
)
from headframe.telemetry.simulator.runner import (
    RunStats,
    build_parser,
    main,
    run,
)
from headframe.telemetry.simulator.scenarios import (
    BUILDERS,
    METHANE_FAN_RESTART_S,
    METHANE_KEYS,
    Curve,
    ScenarioRun,
    StepEvent,
    build_alarm_flood,
    build_co_heating,
    build_frozen_sensor,
    build_gateway_outage,
    build_methane_buildup,
    build_pump_failure,
)
from headframe.telemetry.simulator.transports import (
    HttpTransport,
    MqttTransport,
    PrintTransport,
    Transport,
    messages_of,
    urllib_post,
)

__all__ = [
    "BUILDERS",
    "CONSTANT",
    "MAX_BATCH",
    "METHANE_FAN_RESTART_S",
    "METHANE_KEYS",
    "PROFILES",
    "PROG",
    "READINGS_PATH",
    "SCENARIOS",
    "TOPIC",
    "Curve",
    "HttpTransport",
    "MqttTransport",
    "PrintTransport",
    "Process",
    "Profile",
    "PumpStation",
    "RunStats",
    "ScenarioRun",
    "SimSensor",
    "SimulatorError",
    "StepEvent",
    "Transport",
    "World",
    "build_alarm_flood",
    "build_co_heating",
    "build_frozen_sensor",
    "build_gateway_outage",
    "build_methane_buildup",
    "build_parser",
    "build_pump_failure",
    "main",
    "messages_of",
    "profile_for",
    "run",
    "sensors_from_db",
    "urllib_post",
]
