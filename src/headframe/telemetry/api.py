"""Telemetry endpoints under /api/v1/telemetry/: parse → service/selector → serialise."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, UploadedFile

from headframe.core.audit import channel
from headframe.core.errors import ValidationFailed
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get
from headframe.telemetry import selectors, services
from headframe.telemetry.directory import directory
from headframe.telemetry.services import Batch

router = Router(tags=["telemetry"])

MAX_READINGS_PER_REQUEST = 50_000


class ReadingsIn(Schema):
    gateway: str = Field(min_length=1, max_length=120)
    seq: int | None = Field(None, ge=0, le=2**63 - 1)
    # Readings stay loosely typed on purpose: a bad reading is quarantined with its reason, it does not
    # make the whole batch fail.
    readings: list[Any] = Field(max_length=MAX_READINGS_PER_REQUEST)


def readings_tuples(readings: list) -> list[tuple]:
    """{"sensor", "ts", "value"} objects as (sensor, ts, value); anything else is passed on to be quarantined."""
    out = []
    for item in readings:
        if isinstance(item, dict):
            out.append((item.get("sensor"), item.get("ts"), item.get("value")))
        else:
            out.append(item)
    return out


@router.post("/readings", summary="Send a gateway's readings (same JSON as over MQTT)")
def post_readings(request, payload: ReadingsIn):
    selectors.gateway_get(request.user, payload.gateway, perm=Perm.INGEST, loc=("body", "gateway"))
    with channel("api"):
        result = services.ingest(
            [Batch(payload.gateway, readings_tuples(payload.readings), seq=payload.seq, channel="http")]
        )[0]
    return result.as_dict()


class SensorQuery(Schema):
    kind: str = ""
    site: str = ""


def _sensor_out(sensor) -> dict:
    state = getattr(sensor, "state", None)
    return {
        "code": sensor.code,
        "name": sensor.name,
        "kind": sensor.kind,
        "unit_of_measure": sensor.unit_of_measure,
        "range": [sensor.range_min, sensor.range_max],
        "site": sensor.gateway.site.code,
        "gateway": sensor.gateway.code,
        "position": sensor.position.code,
        "location": sensor.location,
        "period_s": sensor.period_s,
        "calibration_due": sensor.calibration_due,
        "in_service": sensor.in_service,
        "out_of_service_until": sensor.out_of_service_until,
        "out_of_service_reason": sensor.out_of_service_reason,
        "last_value": state.last_value if state else None,
        "last_ts": state.last_ts if state else None,
        "online": state.online if state else None,
    }


def _check_site_filter(request, code: str) -> None:
    """A site filter names a site the caller may see: a mistyped code is a 404, never an empty list that reads as
    "no alarms" — and one outside the caller's scope answers exactly like an unknown one."""
    if code:
        unit_get(request.user, code, loc=("query", "site"))


@router.get("/sensors", summary="Sensors, filtered by kind and site")
def list_sensors(request, filters: Query[SensorQuery]):
    _check_site_filter(request, filters.site)
    return [
        _sensor_out(s) for s in selectors.sensors_visible(request.user, kind=filters.kind, site=filters.site)
    ]


@router.post("/sensors/import", summary="Create or update sensors from a CSV or XLSX file (all rows or none)")
def import_sensors(request, file: File[UploadedFile]):
    from headframe.core import spreadsheets
    from headframe.telemetry.registry_io import sensors_import

    # Never more than one byte past the limit in memory: the service answers 413 naming the limit.
    content = file.read(spreadsheets.MAX_UPLOAD_BYTES + 1)
    with channel("api"):
        return sensors_import(actor=request.user, content=content, filename=file.name or "")


@router.get(
    "/gateways/{code}/health", summary="What a gateway sent: stored, duplicates, quarantined by reason"
)
def gateway_health(request, code: str):
    gateway = selectors.gateway_get(request.user, code)
    health = selectors.gateway_health(gateway)
    return {
        "gateway": gateway.code,
        "site": gateway.site.code,
        "online": gateway.online,
        "last_seen": gateway.last_seen,
        "last_seq": gateway.last_seq,
        "messages": gateway.messages,
        "readings_stored": gateway.readings_stored,
        "counts": health.counts,
        "recent_quarantine": [
            {
                "received_at": q.received_at,
                "sensor": q.sensor_code,
                "ts": q.ts_raw,
                "value": q.value_raw,
                "reason": q.reason,
                "detail": q.detail,
            }
            for q in health.recent_quarantine
        ],
    }


class RangeQuery(Schema):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")
    step: str = "auto"


EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _moment(value: dt.datetime, name: str) -> dt.datetime:
    """A time from a query: with its offset, between 1970 and 2200 (0001-01-01+14:00 is no moment a mine has
    data for, and would overflow on the way to UTC)."""
    if timezone.is_naive(value):
        raise ValidationFailed("give the time with its offset (Z or +07:00)", loc=("query", name))
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValidationFailed("give a time between 1970 and 2200", loc=("query", name), type="out_of_range")
    return value


@router.get("/sensors/{code}/readings", summary="Readings over a time range: raw, 1m or 1h aggregates")
def sensor_readings(request, code: str, q: Query[RangeQuery]):
    sensor = selectors.sensor_get(request.user, code)
    end = q.end or timezone.now()
    for name, value in (("from", q.start), ("to", end)):
        _moment(value, name)
    if q.step not in ("auto", "raw", "1m", "1h"):
        raise ValidationFailed("step must be raw, 1m, 1h or auto", loc=("query", "step"))
    data = selectors.readings_range(sensor, q.start, end, q.step)
    return {"sensor": sensor.code, "unit_of_measure": sensor.unit_of_measure, **data}


def condition_out(view) -> dict:
    alarm = view.alarm
    cond = view.condition
    return {
        "condition": cond.id,
        "sensor": view.sensor.code if view.sensor is not None else None,
        "gateway": view.gateway.code if view.gateway is not None else view.sensor.gateway.code,
        "limit": cond.limit_code,
        "state": view.state,
        "active": cond.active,
        "acked": cond.acked,
        "latched": cond.latched,
        "value": cond.last_value,
        "no_operator_override": services.no_operator_override(cond, _subject_info(view)),
        "shelved_until": cond.shelved_until,
        "shelved_by": cond.shelved_by.username if cond.shelved_by_id else None,
        "shelve_reason": cond.shelve_reason,
        "suppressed": cond.suppressed,
        "suppressed_by": cond.suppressed_by,
        "alarm": None
        if alarm is None
        else {
            "id": alarm.id,
            "priority": alarm.priority,
            "message": alarm.message,
            "threshold": alarm.threshold,
            "raised_at": alarm.raised_at,
            "raised_value": alarm.raised_value,
            "returned_at": alarm.returned_at,
            "acked_at": alarm.acked_at,
        },
    }


def _subject_info(view):
    if view.sensor is not None:
        info = directory.get(view.sensor.code)
        if info is not None:
            return info
    return services.GatewaySubject(view.subject, "gateway", "")


def out_of_service_out(sensor) -> dict:
    return {
        "condition": None,
        "sensor": sensor.code,
        "gateway": sensor.gateway.code,
        "limit": "out_of_service",
        "state": "out_of_service",
        "out_of_service_until": sensor.out_of_service_until,
        "out_of_service_reason": sensor.out_of_service_reason,
        "out_of_service_by": sensor.out_of_service_by.username if sensor.out_of_service_by_id else None,
    }


class AlarmQuery(Schema):
    site: str = ""
    include_hidden: bool = False


@router.get("/alarms", summary="Open alarms (active or unacknowledged), worst first")
def list_alarms(request, q: Query[AlarmQuery]):
    """With include_hidden, shelved and suppressed alarms are included, and every sensor out of service has
    a standing "out_of_service" entry (with until, why and by whom) whether or not it has an open alarm."""
    _check_site_filter(request, q.site)
    out = [
        condition_out(v)
        for v in selectors.alarms_open(request.user, site=q.site, include_hidden=q.include_hidden)
    ]
    if q.include_hidden:
        out.extend(
            out_of_service_out(s) for s in selectors.alarms_hidden(request.user, site=q.site).out_of_service
        )
    return out


@router.get(
    "/alarms/hidden", summary="What hides alarms: shelved, suppressed by rule, sensors out of service"
)
def hidden_alarms(request, site: str = ""):
    _check_site_filter(request, site)
    hidden = selectors.alarms_hidden(request.user, site=site)
    return {
        "shelved": [condition_out(v) for v in hidden.shelved],
        "suppressed": [condition_out(v) for v in hidden.suppressed],
        "out_of_service": [out_of_service_out(s) for s in hidden.out_of_service],
    }


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
    hours: float = Field(default=services.OUT_OF_SERVICE_DEFAULT_HOURS)


def _after(request, condition_id: int) -> dict:
    return condition_out(selectors.condition_get(request.user, condition_id))


@router.post("/alarms/ack", summary="Acknowledge several alarms with one comment (all or none)")
def ack_many(request, payload: AckManyIn):
    n = services.alarm_acknowledge_many(
        actor=request.user, condition_ids=payload.conditions, comment=payload.comment
    )
    return {"acknowledged": n}


@router.post("/alarms/{condition_id}/ack", summary="Acknowledge, with a comment")
def ack(request, condition_id: int, payload: CommentIn):
    services.alarm_acknowledge(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post("/alarms/{condition_id}/reset", summary="Reset a latched trip alarm once the value is normal")
def reset(request, condition_id: int, payload: CommentIn):
    services.alarm_reset(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post(
    "/alarms/{condition_id}/shelve",
    summary="Shelve for a while (with a reason); 409 for a trip or fail-safe alarm with no operator override",
)
def shelve(request, condition_id: int, payload: ShelveIn):
    services.alarm_shelve(
        actor=request.user, condition_id=condition_id, minutes=payload.minutes, reason=payload.reason
    )
    return _after(request, condition_id)


@router.post("/alarms/{condition_id}/unshelve", summary="Unshelve")
def unshelve(request, condition_id: int, payload: CommentIn):
    services.alarm_unshelve(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post(
    "/sensors/{code}/out-of-service",
    summary="Take a sensor out of service: safety officer of its site, a reason, 8 h by default, 24 h at most",
)
def out_of_service(request, code: str, payload: OutOfServiceIn):
    sensor = selectors.sensor_get(request.user, code)
    services.sensor_out_of_service(
        actor=request.user, sensor=sensor, reason=payload.reason, hours=payload.hours
    )
    return _sensor_out(selectors.sensor_get(request.user, code))


@router.post(
    "/sensors/{code}/return-to-service", summary="Back in service before the expiry (evaluated at once)"
)
def return_to_service(request, code: str, payload: CommentIn):
    sensor = selectors.sensor_get(request.user, code)
    services.sensor_return_to_service(actor=request.user, sensor=sensor, comment=payload.comment)
    return _sensor_out(selectors.sensor_get(request.user, code))


class JournalQuery(Schema):
    after: int = 0
    site: str = ""
    limit: int = Field(default=200, ge=1, le=1000)


def journal_out(entry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at,
        "sensor": entry.condition.sensor.code if entry.condition.sensor_id else None,
        "gateway": entry.condition.gateway.code if entry.condition.gateway_id else None,
        "limit": entry.condition.limit_code,
        "event": entry.event,
        "state": entry.state,
        "value": entry.value,
        "priority": entry.alarm.priority if entry.alarm else None,
        "message": entry.alarm.message if entry.alarm else "",
        "user": entry.user.username if entry.user else None,
        "comment": entry.comment,
    }


@router.get("/alarms/journal", summary="Every alarm transition after a cursor (id)")
def journal(request, q: Query[JournalQuery]):
    site_path = ""
    if q.site:
        site_path = unit_get(request.user, q.site, loc=("query", "site")).path
    entries = selectors.journal_after(request.user, after_id=q.after, site_path=site_path, limit=q.limit)
    return [journal_out(e) for e in entries]


class KpiQuery(Schema):
    site: str
    start: dt.datetime | None = Field(default=None, alias="from")
    end: dt.datetime | None = Field(default=None, alias="to")


@router.get("/kpi", summary="Alarm KPIs for a site: rate, floods, bad actors, standing, chattering")
def kpi(request, q: Query[KpiQuery]):
    site = unit_get(request.user, q.site, loc=("query", "site"))
    end = _moment(q.end, "to") if q.end else timezone.now()
    start = _moment(q.start, "from") if q.start else end - dt.timedelta(days=1)
    k = selectors.alarm_kpis(site_path=site.path, start=start, end=end)
    return {
        "site": site.code,
        "from": start,
        "to": end,
        "alarms": k.alarms,
        "per_10_min": round(k.per_10_min, 3),
        "peak_10_min": k.peak_10_min,
        "suppressed_by_design": k.suppressed_by_design,
        "flood_periods": [{"start": s, "alarms": n} for s, n in k.flood_periods],
        "bad_actors": [{"sensor": s, "limit": lim, "alarms": n} for s, lim, n in k.bad_actors],
        "standing": [
            {"sensor": selectors._subject(a), "limit": a.limit_code, "since": a.raised_at} for a in k.standing
        ],
        "chattering": [{"sensor": s, "limit": lim, "bursts": n} for s, lim, n in k.chattering],
    }
