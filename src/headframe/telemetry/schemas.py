"""Input and output schemas of the telemetry API (separate per direction, no logic).

Output schemas list their fields in the order the JSON has always had them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from headframe.telemetry.services import OUT_OF_SERVICE_DEFAULT_HOURS

MAX_READINGS_PER_REQUEST = 50_000


# ---------------------------------------------------------------- input


class ReadingsIn(Schema):
    gateway: str = Field(min_length=1, max_length=120)
    seq: int | None = Field(None, ge=0, le=2**63 - 1)
    # Readings stay loosely typed on purpose: a bad reading is quarantined with its reason, it does not
    # make the whole batch fail.
    readings: list[Any] = Field(max_length=MAX_READINGS_PER_REQUEST)


class SensorQuery(Schema):
    kind: str = ""
    site: str = ""


class RangeQuery(Schema):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")
    step: str = "auto"


class AlarmQuery(Schema):
    site: str = ""
    include_hidden: bool = False


class CommentIn(Schema):
    comment: str = Field(default="", max_length=2000)


class AckManyIn(Schema):
    conditions: list[int] = Field(max_length=1000)
    comment: str = Field(default="", max_length=2000)


class ShelveIn(Schema):
    minutes: int
    reason: str = Field(max_length=2000)


class OutOfServiceIn(Schema):
    reason: str = Field(max_length=2000)
    hours: float = Field(default=OUT_OF_SERVICE_DEFAULT_HOURS)


class JournalQuery(Schema):
    after: int = 0
    site: str = ""
    limit: int = Field(default=200, ge=1, le=1000)


class KpiQuery(Schema):
    site: str
    start: dt.datetime | None = Field(default=None, alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")


# ---------------------------------------------------------------- output


class IngestResultOut(Schema):
    gateway: str
    seq: int | None
    received: int
    stored: int
    duplicates: int
    out_of_order: int
    quarantined: dict[str, int] = Field(description="refused readings by reason")
    alarms_raised: int


class SensorOut(Schema):
    code: str
    name: str
    kind: str
    unit_of_measure: str
    range: list[float] = Field(description="[min, max] of the physical range")
    site: str
    gateway: str
    position: str
    location: str
    period_s: int
    calibration_due: dt.date | None
    in_service: bool
    out_of_service_until: dt.datetime | None
    out_of_service_reason: str
    last_value: float | None
    last_ts: int | None = Field(description="epoch milliseconds of the newest live reading")
    online: bool | None


class SensorImportOut(Schema):
    created: int
    updated: int


class QuarantinedOut(Schema):
    received_at: dt.datetime
    sensor: str
    ts: str = Field(description="the time stamp as received")
    value: str = Field(description="the value as received")
    reason: str
    detail: str


class GatewayHealthOut(Schema):
    gateway: str
    site: str
    online: bool
    last_seen: dt.datetime | None
    last_seq: int | None
    messages: int
    readings_stored: int
    counts: dict[str, int] = Field(description="readings and messages by outcome")
    recent_quarantine: list[QuarantinedOut]


class ReadingsOut(Schema):
    sensor: str
    unit_of_measure: str
    step: str = Field(description="raw, 1m or 1h")
    truncated: bool
    complete: bool = Field(
        True,
        description="false when the time-series store of raw readings did not answer: the points are only "
        "those not shipped to it yet, the rest of the period is missing",
    )
    points: list[list[int | float | None]] = Field(
        description="raw: [ts, value]; aggregates: [bucket, avg, min, max, count, last] (ts in epoch ms)"
    )


class AlarmDetailOut(Schema):
    id: int
    priority: str
    message: str
    threshold: float | None
    raised_at: dt.datetime
    raised_value: float | None
    returned_at: dt.datetime | None
    acked_at: dt.datetime | None


class AlarmOut(Schema):
    condition: int
    sensor: str | None
    gateway: str | None = Field(
        description="the sensor's gateway, or the gateway's own condition; null for one "
        "reported by another part (subject)"
    )
    subject: str | None = Field(
        description='a condition another part of the system reports, e.g. "presence:42" (person_overdue); '
        "its alarm's message says who and where"
    )
    site: str
    limit: str
    state: str
    active: bool
    acked: bool
    latched: bool
    value: float | None
    no_operator_override: bool
    shelved_until: dt.datetime | None
    shelved_by: str | None
    shelve_reason: str
    suppressed: bool
    suppressed_by: str
    alarm: AlarmDetailOut | None


class OutOfServiceOut(Schema):
    condition: None = Field(description="always null: a standing entry, not an alarm condition")
    sensor: str
    gateway: str
    limit: str = Field(description='"out_of_service"')
    state: str = Field(description='"out_of_service"')
    out_of_service_until: dt.datetime | None
    out_of_service_reason: str
    out_of_service_by: str | None


class HiddenAlarmsOut(Schema):
    shelved: list[AlarmOut]
    suppressed: list[AlarmOut]
    out_of_service: list[OutOfServiceOut]


class AckManyOut(Schema):
    acknowledged: int


class JournalEntryOut(Schema):
    id: int
    at: dt.datetime
    sensor: str | None
    gateway: str | None
    subject: str | None
    limit: str
    event: str
    state: str
    value: float | None
    priority: str | None
    message: str
    user: str | None
    comment: str


class FloodPeriodOut(Schema):
    start: dt.datetime
    alarms: int


class BadActorOut(Schema):
    sensor: str
    limit: str
    alarms: int


class StandingOut(Schema):
    sensor: str
    limit: str
    since: dt.datetime


class ChatteringOut(Schema):
    sensor: str
    limit: str
    bursts: int


class AlarmKpiOut(Schema):
    site: str
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    alarms: int
    per_10_min: float
    peak_10_min: int
    suppressed_by_design: int
    flood_periods: list[FloodPeriodOut]
    bad_actors: list[BadActorOut]
    standing: list[StandingOut]
    chattering: list[ChatteringOut]
