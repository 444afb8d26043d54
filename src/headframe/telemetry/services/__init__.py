"""Telemetry writes: one ingest service for every path (HTTP, MQTT JSON, Sparkplug B), the alarm engine's
persistence, operator actions on alarms, and the sensor registry.

- readings: a message and a reading before any database (Batch, IngestResult, parse_ts) — pure;
- ingestion: validate, store, move live state, quarantine, count per gateway (one transaction per flush);
- alarms: the alarm engine's persistence (conditions, alarms, journal);
- stale, gateways: the fail-safe scans (silent sensors, lost gateways);
- external: conditions other parts report (a site and a subject string), through the same engine;
- alarm_actions: acknowledge, reset, shelve; out_of_service; registry: gateways and sensors created.
"""

from headframe.telemetry.services.alarm_actions import (
    EXTERNAL_KIND,
    GatewaySubject,
    alarm_acknowledge,
    alarm_acknowledge_many,
    alarm_reset,
    alarm_shelve,
    alarm_unshelve,
    no_operator_override,
    shelving_expire,
)
from headframe.telemetry.services.alarms import ConditionChanged
from headframe.telemetry.services.external import (
    external_active,
    external_clear,
    external_raise,
)
from headframe.telemetry.services.gateways import (
    gateway_death,
    gateway_lost,
    gateways_scan,
    sensors_offline,
)
from headframe.telemetry.services.ingestion import (
    QUARANTINE_ROWS_PER_MESSAGE,
    ingest,
    quarantine_message,
    readings_ingest,
    readings_prune,
)
from headframe.telemetry.services.out_of_service import (
    OUT_OF_SERVICE_DEFAULT_HOURS,
    OUT_OF_SERVICE_MAX_HOURS,
    out_of_service_expire,
    sensor_out_of_service,
    sensor_return_to_service,
)
from headframe.telemetry.services.readings import (
    Batch,
    IngestResult,
    parse_ts,
)
from headframe.telemetry.services.registry import (
    audit_other_place,
    gateway_create,
    require_manage_places,
    sensor_create,
)
from headframe.telemetry.services.rise_windows import rise_windows
from headframe.telemetry.services.stale import (
    stale_scan,
)

__all__ = [
    "EXTERNAL_KIND",
    "OUT_OF_SERVICE_DEFAULT_HOURS",
    "OUT_OF_SERVICE_MAX_HOURS",
    "QUARANTINE_ROWS_PER_MESSAGE",
    "Batch",
    "ConditionChanged",
    "GatewaySubject",
    "IngestResult",
    "alarm_acknowledge",
    "alarm_acknowledge_many",
    "alarm_reset",
    "alarm_shelve",
    "alarm_unshelve",
    "audit_other_place",
    "external_active",
    "external_clear",
    "external_raise",
    "gateway_create",
    "gateway_death",
    "gateway_lost",
    "gateways_scan",
    "ingest",
    "no_operator_override",
    "out_of_service_expire",
    "parse_ts",
    "quarantine_message",
    "readings_ingest",
    "readings_prune",
    "require_manage_places",
    "rise_windows",
    "sensor_create",
    "sensor_out_of_service",
    "sensor_return_to_service",
    "sensors_offline",
    "shelving_expire",
    "stale_scan",
]
