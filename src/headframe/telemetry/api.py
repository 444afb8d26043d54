"""Telemetry endpoints under /api/v1/telemetry/: parse → service/selector → serialise."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import File, Query, Router, UploadedFile

from headframe.core import spreadsheets
from headframe.core.errors import ValidationFailed
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get
from headframe.telemetry import registry_io, selectors, services
from headframe.telemetry.directory import directory
from headframe.telemetry.payloads import readings_tuples
from headframe.telemetry.schemas import (
    AckManyIn,
    AckManyOut,
    AlarmKpiOut,
    AlarmOut,
    AlarmQuery,
    CommentIn,
    GatewayHealthOut,
    HiddenAlarmsOut,
    IngestResultOut,
    JournalEntryOut,
    JournalQuery,
    KpiQuery,
    OutOfServiceIn,
    OutOfServiceOut,
    RangeQuery,
    ReadingsIn,
    ReadingsOut,
    SensorImportOut,
    SensorOut,
    SensorQuery,
    ShelveIn,
)
from headframe.telemetry.services import Batch

router = Router(tags=["telemetry"])


@router.post(
    "/readings", response=IngestResultOut, summary="Send a gateway's readings (same JSON as over MQTT)"
)
def readings_post(request, payload: ReadingsIn):
    selectors.gateway_get(request.user, payload.gateway, perm=Perm.INGEST, loc=("body", "gateway"))
    result = services.ingest(
        [Batch(payload.gateway, readings_tuples(payload.readings), seq=payload.seq, channel="http")]
    )[0]
    return result.as_dict()


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


@router.get("/sensors", response=list[SensorOut], summary="Sensors, filtered by kind and site")
def sensors_list(request, filters: Query[SensorQuery]):
    _check_site_filter(request, filters.site)
    return [
        _sensor_out(s) for s in selectors.sensors_visible(request.user, kind=filters.kind, site=filters.site)
    ]


@router.post(
    "/sensors/import",
    response=SensorImportOut,
    summary="Create or update sensors from a CSV or XLSX file (all rows or none)",
)
def sensors_import(request, file: File[UploadedFile]):
    # Never more than one byte past the limit in memory: the service answers 413 naming the limit.
    content = file.read(spreadsheets.MAX_UPLOAD_BYTES + 1)
    return registry_io.sensors_import(actor=request.user, content=content, filename=file.name or "")


@router.get(
    "/gateways/{code}/health",
    response=GatewayHealthOut,
    summary="What a gateway sent: stored, duplicates, quarantined by reason",
)
def gateway_health_get(request, code: str):
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


EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _moment(value: dt.datetime, name: str) -> dt.datetime:
    """A time from a query: with its offset, between 1970 and 2200 (0001-01-01+14:00 is no moment a mine has
    data for, and would overflow on the way to UTC)."""
    if timezone.is_naive(value):
        raise ValidationFailed(loc=("query", name), type="naive_time", params={}, key="naive_time.query")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValidationFailed(loc=("query", name), type="out_of_range", params={}, key="out_of_range.moment")
    return value


@router.get(
    "/sensors/{code}/readings",
    response=ReadingsOut,
    summary="Readings over a time range: raw, 1m or 1h aggregates",
)
def sensor_readings_list(request, code: str, q: Query[RangeQuery]):
    sensor = selectors.sensor_get(request.user, code)
    end = q.end or timezone.now()
    for name, value in (("from", q.start), ("to", end)):
        _moment(value, name)
    if q.step not in ("auto", "raw", "1m", "1h"):
        raise ValidationFailed(loc=("query", "step"), type="enum", params={}, key="enum.step")
    data = selectors.readings_range(sensor, q.start, end, q.step)
    return {"sensor": sensor.code, "unit_of_measure": sensor.unit_of_measure, **data}


def condition_out(view) -> dict:
    alarm = view.alarm
    cond = view.condition
    return {
        "condition": cond.id,
        "sensor": view.sensor.code if view.sensor is not None else None,
        "gateway": (
            view.gateway.code
            if view.gateway is not None
            else (view.sensor.gateway.code if view.sensor is not None else None)
        ),
        "subject": cond.subject or None,
        "site": view.site.code,
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
    if view.external:
        return services.GatewaySubject(view.subject, services.EXTERNAL_KIND, view.site.path)
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


@router.get(
    "/alarms",
    response=list[AlarmOut | OutOfServiceOut],
    summary="Open alarms (active or unacknowledged), worst first",
)
def alarms_list(request, q: Query[AlarmQuery]):
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
    "/alarms/hidden",
    response=HiddenAlarmsOut,
    summary="What hides alarms: shelved, suppressed by rule, sensors out of service",
)
def alarms_hidden_list(request, site: str = ""):
    _check_site_filter(request, site)
    hidden = selectors.alarms_hidden(request.user, site=site)
    return {
        "shelved": [condition_out(v) for v in hidden.shelved],
        "suppressed": [condition_out(v) for v in hidden.suppressed],
        "out_of_service": [out_of_service_out(s) for s in hidden.out_of_service],
    }


def _after(request, condition_id: int) -> dict:
    return condition_out(selectors.condition_get(request.user, condition_id))


@router.post(
    "/alarms/ack", response=AckManyOut, summary="Acknowledge several alarms with one comment (all or none)"
)
def alarms_ack(request, payload: AckManyIn):
    n = services.alarm_acknowledge_many(
        actor=request.user, condition_ids=payload.conditions, comment=payload.comment
    )
    return {"acknowledged": n}


@router.post("/alarms/{condition_id}/ack", response=AlarmOut, summary="Acknowledge, with a comment")
def alarm_ack(request, condition_id: int, payload: CommentIn):
    services.alarm_acknowledge(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post(
    "/alarms/{condition_id}/reset",
    response=AlarmOut,
    summary="Reset a latched trip alarm once the value is normal",
)
def alarm_reset(request, condition_id: int, payload: CommentIn):
    services.alarm_reset(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post(
    "/alarms/{condition_id}/shelve",
    response=AlarmOut,
    summary="Shelve for a while (with a reason); 409 for a trip or fail-safe alarm with no operator override",
)
def alarm_shelve(request, condition_id: int, payload: ShelveIn):
    services.alarm_shelve(
        actor=request.user, condition_id=condition_id, minutes=payload.minutes, reason=payload.reason
    )
    return _after(request, condition_id)


@router.post("/alarms/{condition_id}/unshelve", response=AlarmOut, summary="Unshelve")
def alarm_unshelve(request, condition_id: int, payload: CommentIn):
    services.alarm_unshelve(actor=request.user, condition_id=condition_id, comment=payload.comment)
    return _after(request, condition_id)


@router.post(
    "/sensors/{code}/out-of-service",
    response=SensorOut,
    summary="Take a sensor out of service: safety officer of its site, a reason, 8 h by default, 24 h at most",
)
def sensor_out_of_service(request, code: str, payload: OutOfServiceIn):
    sensor = selectors.sensor_get(request.user, code)
    services.sensor_out_of_service(
        actor=request.user, sensor=sensor, reason=payload.reason, hours=payload.hours
    )
    return _sensor_out(selectors.sensor_get(request.user, code))


@router.post(
    "/sensors/{code}/return-to-service",
    response=SensorOut,
    summary="Back in service before the expiry (evaluated at once)",
)
def sensor_return_to_service(request, code: str, payload: CommentIn):
    sensor = selectors.sensor_get(request.user, code)
    services.sensor_return_to_service(actor=request.user, sensor=sensor, comment=payload.comment)
    return _sensor_out(selectors.sensor_get(request.user, code))


def journal_out(entry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at,
        "sensor": entry.condition.sensor.code if entry.condition.sensor_id else None,
        "gateway": entry.condition.gateway.code if entry.condition.gateway_id else None,
        "subject": entry.condition.subject or None,
        "limit": entry.condition.limit_code,
        "event": entry.event,
        "state": entry.state,
        "value": entry.value,
        "priority": entry.alarm.priority if entry.alarm else None,
        "message": entry.alarm.message if entry.alarm else "",
        "user": entry.user.username if entry.user else None,
        "comment": entry.comment,
    }


@router.get(
    "/alarms/journal", response=list[JournalEntryOut], summary="Every alarm transition after a cursor (id)"
)
def journal_list(request, q: Query[JournalQuery]):
    site_path = ""
    if q.site:
        site_path = unit_get(request.user, q.site, loc=("query", "site")).path
    entries = selectors.journal_after(request.user, after_id=q.after, site_path=site_path, limit=q.limit)
    return [journal_out(e) for e in entries]


@router.get(
    "/kpi",
    response=AlarmKpiOut,
    by_alias=True,
    summary="Alarm KPIs for a site: rate, floods, bad actors, standing, chattering",
)
def kpi_get(request, q: Query[KpiQuery]):
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
