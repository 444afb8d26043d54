"""Telemetry reads, filtered by what the caller may see: sensors, live state, readings, alarms, alarm KPIs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from headframe.core import live_bus
from headframe.core.db_router import replica_reads
from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry import engine
from headframe.telemetry.messages import label
from headframe.telemetry.models import (
    GAS_KINDS,
    PRIORITY_RANK,
    STEP_MS,
    Alarm,
    AlarmCondition,
    AlarmJournal,
    Gateway,
    GatewayCounter,
    Limit,
    Quarantine,
    Sensor,
    SensorState,
    SiteLimitSetting,
    Step,
)
from headframe.telemetry.storage import reading_store

RAW_POINTS_LIMIT = 20_000
FLOOD_WINDOW = dt.timedelta(minutes=10)
FLOOD_THRESHOLD = 10  # EEMUA 191 / ISA-18.2: more than 10 alarms in 10 minutes per operator is a flood
CHATTER_WINDOW = dt.timedelta(minutes=1)
CHATTER_THRESHOLD = 3  # the same condition raised 3 times within a minute
STANDING_AFTER = dt.timedelta(hours=24)


def sensors_visible(user, *, kind: str = "", site: str = "") -> QuerySet[Sensor]:
    qs = Sensor.objects.filter(scope_for(user).q(Perm.VIEW, "gateway__site__path")).select_related(
        "gateway", "gateway__site", "position", "state"
    )
    if kind:
        qs = qs.filter(kind=kind) if plausible_code(kind) else qs.none()
    if site:
        qs = qs.filter(gateway__site__code=site) if plausible_code(site) else qs.none()
    return qs.order_by("code")


def plausible_code(code: str) -> bool:
    """Codes are ASCII (org.models.code_validator): anything else names nothing, and is never sent to the
    database (PostgreSQL refuses a NUL in a query parameter with an error, not an empty answer)."""
    return isinstance(code, str) and code.isascii() and "\x00" not in code


def sensor_get(user, code: str) -> Sensor:
    """The sensor if the user may see it; unknown and outside the user's view answer alike (404)."""
    sensor = sensors_visible(user).filter(code=code).first() if plausible_code(code) else None
    if sensor is None:
        raise NotFound(loc=("path", "code"), params={"sensor": repr(code)}, key="not_found.sensor")
    return sensor


def gateway_get(user, code: str, perm: str = Perm.VIEW, *, loc: tuple | None = None) -> Gateway:
    """The gateway if the user may see it (a gateway's own account sees itself), 403 without perm. Unknown —
    or outside the user's view, which is not revealed — is a 404 for a gateway named in the path, and a field
    error (422 unknown_gateway) at `loc` for one named in a request body."""
    gateway = (
        Gateway.objects.select_related("site").filter(code=code).first() if plausible_code(code) else None
    )
    scope = scope_for(user)
    if gateway is None or not (
        scope.allows(Perm.VIEW, gateway.site.path) or scope.allows(Perm.INGEST, gateway.site.path)
    ):
        if loc is not None:
            raise ValidationFailed(
                loc=loc, type="unknown_gateway", params={"gateway": repr(code)}, key="unknown_gateway.named"
            )
        raise NotFound(loc=("path", "code"), params={"gateway": repr(code)}, key="not_found.gateway")
    if not scope.allows(perm, gateway.site.path):
        raise PermissionDenied(
            loc=loc or (),
            params={"perm": label(Perm(perm)), "gateway": code},
            key="permission_denied.gateway",
        )
    return gateway


@dataclass
class GatewayHealth:
    gateway: Gateway
    counts: dict[str, int]
    recent_quarantine: list[Quarantine]


def gateway_health(gateway: Gateway) -> GatewayHealth:
    counts = dict(GatewayCounter.objects.filter(gateway_code=gateway.code).values_list("outcome", "count"))
    recent = list(Quarantine.objects.filter(gateway_code=gateway.code).order_by("-id")[:20])
    return GatewayHealth(gateway, counts, recent)


def pick_step(start_ms: int, end_ms: int, step: str) -> str:
    """`auto`: raw readings up to 6 hours, minutes up to 10 days, hours beyond."""
    if step != "auto":
        return step
    span = end_ms - start_ms
    if span <= 6 * 3_600_000:
        return "raw"
    if span <= 10 * 86_400_000:
        return Step.MINUTE
    return Step.HOUR


@replica_reads  # history: from the read replica when there is one (the store's reads use core.db_router)
def readings_range(sensor: Sensor, start: dt.datetime, end: dt.datetime, step: str = "auto") -> dict:
    if end <= start:
        raise ValidationFailed(loc=("query", "to"), params={}, key="value_error.to_after_from")
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    step = pick_step(start_ms, end_ms, step)
    store = reading_store()
    if step == "raw":
        rows = store.read_raw(sensor.id, start_ms, end_ms, RAW_POINTS_LIMIT + 1)
        truncated = len(rows) > RAW_POINTS_LIMIT
        return {
            "step": "raw",
            "truncated": truncated,
            # False while the time-series store is down: only readings still waiting to be shipped are here.
            "complete": getattr(rows, "complete", True),
            "points": [[ts, v] for ts, v in rows[:RAW_POINTS_LIMIT]],
        }
    if step not in STEP_MS:
        raise ValidationFailed(loc=("query", "step"), type="enum", params={}, key="enum.step")
    rows = store.read_aggregates(sensor.id, step, start_ms, end_ms)
    return {
        "step": step,
        "truncated": False,
        "complete": True,  # aggregates are kept in SQL whatever the raw store
        "points": [[b, avg, lo, hi, n, last] for b, lo, hi, avg, n, last in rows],
    }


@dataclass
class ConditionView:
    condition: AlarmCondition
    sensor: Sensor | None  # None for a gateway's condition (gateway lost)
    alarm: Alarm | None
    state: str
    gateway: Gateway | None = None

    @property
    def subject(self) -> str:
        if self.sensor is not None:
            return self.sensor.code
        return self.gateway.code if self.gateway is not None else self.condition.subject

    @property
    def external(self) -> bool:
        """Reported by another part of the system (services.external): a site and a subject string."""
        return self.sensor is None and self.gateway is None

    @property
    def site(self):
        if self.sensor is not None:
            return self.sensor.gateway.site
        return self.gateway.site if self.gateway is not None else self.condition.site


def _display(cond: AlarmCondition, sensor: Sensor | None, now: dt.datetime) -> str:
    state = engine.ConditionState(active=cond.active, acked=cond.acked, latched=cond.latched)
    return engine.display_state(
        state,
        shelved=bool(cond.shelved_until and cond.shelved_until > now),
        suppressed=cond.suppressed,
        out_of_service=sensor is not None and not sensor.in_service,
    )


def _conditions_visible(user, site: str = "") -> QuerySet[AlarmCondition]:
    """Conditions of sensors, gateways and sites (external ones) the user may see (of one site, by code)."""
    scope = scope_for(user)
    qs = AlarmCondition.objects.filter(
        scope.q(Perm.VIEW, "sensor__gateway__site__path")
        | scope.q(Perm.VIEW, "gateway__site__path")
        | scope.q(Perm.VIEW, "site__path")
    ).select_related(
        "sensor",
        "sensor__gateway__site",
        "sensor__position",
        "gateway__site",
        "site",
        "current_alarm",
        "shelved_by",
    )
    if site:
        if not plausible_code(site):
            return qs.none()
        qs = qs.filter(Q(sensor__gateway__site__code=site) | Q(gateway__site__code=site) | Q(site__code=site))
    return qs


def _view(cond: AlarmCondition, now: dt.datetime) -> ConditionView:
    return ConditionView(
        cond, cond.sensor, cond.current_alarm, _display(cond, cond.sensor, now), cond.gateway
    )


def alarms_open(user, *, site: str = "", include_hidden: bool = False) -> list[ConditionView]:
    """Conditions with an open alarm occurrence (active or unacked), worst first. Shelved, suppressed and
    out-of-service ones are hidden from the operator's list unless asked for (see alarms_hidden)."""
    now = timezone.now()
    views = []
    for cond in _conditions_visible(user, site).filter(Q(active=True) | Q(acked=False)):
        view = _view(cond, now)
        if not include_hidden and view.state in HIDDEN_STATES:
            continue
        views.append(view)
    views.sort(
        key=lambda v: (
            v.state != "active_unacked",
            -PRIORITY_RANK.get(v.alarm.priority if v.alarm else "low", 0),
            -(v.alarm.raised_at.timestamp() if v.alarm else 0),
        )
    )
    return views


HIDDEN_STATES = ("shelved", "suppressed", "out_of_service")


@dataclass
class HiddenAlarms:
    """Everything that hides an alarm from the operator's list, with who, why and until when."""

    shelved: list[ConditionView]
    suppressed: list[ConditionView]  # by design rule (e.g. behind a lost gateway), with the rule
    out_of_service: list[Sensor]


def alarms_hidden(user, *, site: str = "") -> HiddenAlarms:
    now = timezone.now()
    conds = _conditions_visible(user, site)
    shelved = [_view(c, now) for c in conds.filter(shelved_until__gt=now).order_by("shelved_until")]
    suppressed = [_view(c, now) for c in conds.filter(suppressed=True).order_by("suppressed_by", "id")]
    sensors = sensors_visible(user, site=site).filter(in_service=False).select_related("out_of_service_by")
    return HiddenAlarms(shelved, suppressed, list(sensors.order_by("out_of_service_until", "code")))


def external_open(user, *, subjects, limit_code: str) -> dict[str, tuple[str, int]]:
    """subject → (site code, condition id) of the conditions another part reported (services.external) for
    these subjects that have an open alarm (active or unacknowledged), at sites the user may see: what that
    part's pages link to on the alarm console. One query."""
    rows = (
        AlarmCondition.objects.filter(
            scope_for(user).q(Perm.VIEW, "site__path"),
            site__isnull=False,
            subject__in=list(subjects),
            limit_code=limit_code,
        )
        .filter(Q(active=True) | Q(acked=False))
        .values_list("subject", "site__code", "pk")
    )
    return {subject: (site, pk) for subject, site, pk in rows}


def condition_get(user, condition_id: int) -> ConditionView:
    cond = _conditions_visible(user).filter(pk=condition_id).first()
    if cond is None:
        raise NotFound(loc=("path", "condition"), params={}, key="not_found.alarm")
    return _view(cond, timezone.now())


def journal_after(user, *, after_id: int = 0, site_path: str = "", limit: int = 200) -> list[AlarmJournal]:
    qs = AlarmJournal.objects.filter(id__gt=after_id).filter(scope_for(user).q(Perm.VIEW, "site_path"))
    if site_path:
        qs = qs.filter(site_path__startswith=site_path)
    return list(
        qs.select_related("condition__sensor", "condition__gateway", "alarm", "user").order_by("id")[:limit]
    )


def live_states(user, *, site_code: str) -> list[dict]:
    """Every sensor at a site with its newest value and its worst alarm state, for the live page."""
    now = timezone.now()
    sensors = list(sensors_visible(user, site=site_code).select_related("position"))
    conditions: dict[int, list[AlarmCondition]] = {}
    for cond in AlarmCondition.objects.filter(sensor__in=sensors).filter(Q(active=True) | Q(acked=False)):
        conditions.setdefault(cond.sensor_id, []).append(cond)
    out = []
    for sensor in sensors:
        state: SensorState | None = getattr(sensor, "state", None)
        worst = "normal"
        for cond in conditions.get(sensor.id, []):
            shown = _display(cond, sensor, now)
            if STATE_RANK.get(shown, 0) > STATE_RANK.get(worst, 0):
                worst = shown
        out.append(
            {
                "sensor": sensor,
                "value": state.last_value if state else None,
                "ts": state.last_ts if state else None,
                "online": state.online if state else False,
                "state": worst if sensor.in_service else "out_of_service",
            }
        )
    return out


STATE_RANK = {
    "normal": 0,
    "out_of_service": 1,
    "suppressed": 1,
    "shelved": 1,
    "returned_unacked": 2,
    "active_acked": 3,
    "latched": 3,
    "active_unacked": 4,
}


@dataclass
class AlarmKpis:
    alarms: int
    per_10_min: float
    flood_periods: list[tuple[dt.datetime, int]]
    bad_actors: list[tuple[str, str, int]]  # (sensor code, limit code, count)
    standing: list[Alarm]
    chattering: list[tuple[str, str, int]]
    peak_10_min: int = 0  # the most alarms annunciated in one 10-minute window (ISA-18.2 flood KPI)
    suppressed_by_design: int = 0  # conditions suppressed by a design rule (e.g. behind a lost gateway)


def _subject(alarm: Alarm) -> str:
    return (
        alarm.sensor.code if alarm.sensor_id else (alarm.gateway.code if alarm.gateway_id else alarm.subject)
    )


def alarm_kpis(*, site_path: str, start: dt.datetime, end: dt.datetime) -> AlarmKpis:
    """ISA-18.2 / EEMUA 191 performance figures for one site over [start, end)."""
    alarms = list(
        Alarm.objects.filter(site_path__startswith=site_path, raised_at__gte=start, raised_at__lt=end)
        .select_related("sensor", "gateway")
        .order_by("raised_at")
    )
    minutes = max((end - start).total_seconds() / 60, 1)
    windows: Counter = Counter()
    for alarm in alarms:
        index = int((alarm.raised_at - start).total_seconds() // FLOOD_WINDOW.total_seconds())
        windows[index] += 1
    floods = sorted((start + i * FLOOD_WINDOW, n) for i, n in windows.items() if n > FLOOD_THRESHOLD)
    actors = Counter((_subject(a), a.limit_code) for a in alarms)
    chatter: Counter = Counter()
    last_raise: dict[int, list[dt.datetime]] = {}
    for alarm in alarms:
        times = last_raise.setdefault(alarm.condition_id, [])
        times.append(alarm.raised_at)
        recent = [t for t in times if alarm.raised_at - t <= CHATTER_WINDOW]
        last_raise[alarm.condition_id] = recent
        if len(recent) >= CHATTER_THRESHOLD:
            chatter[(_subject(alarm), alarm.limit_code)] += 1
    standing = list(
        Alarm.objects.filter(
            site_path__startswith=site_path, closed_at__isnull=True, returned_at__isnull=True
        )
        .filter(raised_at__lte=end - STANDING_AFTER)
        .select_related("sensor", "gateway")
        .order_by("raised_at")
    )
    suppressed = AlarmJournal.objects.filter(
        site_path__startswith=site_path, at__gte=start, at__lt=end, event="suppressed", user__isnull=True
    ).count()
    return AlarmKpis(
        alarms=len(alarms),
        per_10_min=len(alarms) / minutes * 10,
        flood_periods=floods,
        bad_actors=[(s, lim, n) for (s, lim), n in actors.most_common(10)],
        standing=standing,
        chattering=[(s, lim, n) for (s, lim), n in chatter.most_common(10)],
        peak_10_min=max(windows.values(), default=0),
        suppressed_by_design=suppressed,
    )


def journal_last_id(*, site_path: str) -> int:
    """The newest journal id under a site: where a live page that has just rendered starts following."""
    return AlarmJournal.objects.filter(site_path__startswith=site_path).aggregate(m=Max("id"))["m"] or 0


def journal_wakes(after_id: int | None) -> tuple[int, list[str]]:
    """The live bus's watcher on SQLite (core.live_bus.watch): the newest alarm-journal id and the live-page
    topics of the sites journalled after `after_id` (none the first time: the streams start from the newest)."""
    if after_id is None:
        return AlarmJournal.objects.aggregate(m=Max("id"))["m"] or 0, []
    rows = list(
        AlarmJournal.objects.filter(id__gt=after_id).order_by("id").values_list("id", "site_path")[:1000]
    )
    if not rows:
        return after_id, []
    return rows[-1][0], sorted({live_bus.site_topic(path) for _id, path in rows})


def journal_for_sensor(sensor: Sensor, *, limit: int = 100) -> list[AlarmJournal]:
    """The newest transitions of one sensor's alarms (the caller has already checked it may see the sensor)."""
    return list(
        AlarmJournal.objects.filter(condition__sensor=sensor)
        .select_related("condition", "alarm", "user")
        .order_by("-id")[:limit]
    )


# --- reads for the safety readiness gate -------------------------------------------------------------------

STALE_AFTER_PERIODS = 3  # a sensor whose newest reading is older than 3 reporting periods is not fresh


@dataclass(frozen=True)
class GasLimit:
    code: str
    kind: str
    direction: str  # "high": value ≥ threshold breaches; "low": value ≤ threshold breaches
    threshold: float
    clause: str
    profile: str

    def breached(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "high" else value <= self.threshold


def gas_limit(code: str, *, site=None) -> GasLimit | None:
    """A limit of the default profile by code, with the site's override of its threshold if it has one
    (a disabled override still judges a hand-held reading by the profile's value)."""

    limit = Limit.objects.filter(profile__is_default=True, code=code).select_related("profile").first()
    if limit is None:
        return None
    threshold = limit.threshold
    if site is not None:
        override = SiteLimitSetting.objects.filter(site=site, limit=limit).first()
        if override is not None and override.threshold is not None:
            threshold = override.threshold
    return GasLimit(limit.code, limit.kind, limit.direction, threshold, limit.clause, limit.profile.code)


def gas_status_for_positions(
    position_ids, *, now: dt.datetime | None = None
) -> dict[int, tuple[bool, list[str]]]:
    """{position id: (ok, reasons)} for positions that have gas sensors (CH₄, CO, O₂, CO₂): ok when every one
    is in service, online, fresh (newest reading within 3 reporting periods) and has no active or latched
    alarm condition. Positions without gas sensors are absent from the answer."""

    now_ms = int((now or timezone.now()).timestamp() * 1000)
    sensors = list(
        Sensor.objects.filter(position_id__in=list(position_ids), kind__in=GAS_KINDS).select_related("state")
    )
    alarming: dict[int, list[str]] = {}
    for sensor_id, limit_code in (
        AlarmCondition.objects.filter(sensor__in=sensors)
        .filter(Q(active=True) | Q(latched=True))
        .values_list("sensor_id", "limit_code")
    ):
        alarming.setdefault(sensor_id, []).append(limit_code)
    out: dict[int, tuple[bool, list[str]]] = {}
    for sensor in sensors:
        reasons = out.setdefault(sensor.position_id, (True, []))[1]
        state: SensorState | None = getattr(sensor, "state", None)
        if not sensor.in_service:
            until = sensor.out_of_service_until
            shown = f" until {timezone.localtime(until):%d/%m/%Y %H:%M}" if until else ""
            reasons.append(f"{sensor.code}: out of service{shown} — not monitored")
            continue
        if state is None or state.last_ts is None:
            reasons.append(f"{sensor.code}: no reading yet")
        elif not state.online:
            reasons.append(f"{sensor.code}: offline")
        elif now_ms - state.last_ts > STALE_AFTER_PERIODS * sensor.period_s * 1000:
            last = timezone.localtime(dt.datetime.fromtimestamp(state.last_ts / 1000, tz=dt.UTC))
            reasons.append(f"{sensor.code}: no fresh reading since {last:%d/%m/%Y %H:%M}")
        for limit_code in sorted(alarming.get(sensor.id, [])):
            value = state.last_value if state is not None else None
            reasons.append(f"{sensor.code}: alarm {limit_code} (last value {value})")
    return {pid: (not reasons, reasons) for pid, (_ok, reasons) in out.items()}


# --- the alarm system as a briefing pack reports it (read by headframe.briefing.pack) ------------------


@dataclass(frozen=True)
class SiteAlarms:
    """One site with telemetry: the alarms raised in a period by priority, its ISA-18.2 KPIs over the period,
    and its sensors out of service when read (not monitored, whatever their readings say)."""

    site: object  # the gateway's site (an org Unit)
    by_priority: dict[str, int]
    kpis: AlarmKpis
    out_of_service: list[Sensor]


def site_alarms(*, root_path: str, start: dt.datetime, end: dt.datetime) -> list[SiteAlarms]:
    """Every site under root_path that has a gateway, or an alarm raised in [start, end) (one reported by
    another part, e.g. a person overdue underground, has no gateway), in path order, with those alarms."""
    sites = {
        g.site.pk: g.site
        for g in Gateway.objects.filter(site__path__startswith=root_path).select_related("site")
    }
    sites.update(
        (u.pk, u)
        for u in Unit.objects.filter(
            pk__in=Alarm.objects.filter(
                site_path__startswith=root_path, raised_at__gte=start, raised_at__lt=end, subject__gt=""
            ).values("site_id")
        ).exclude(pk__in=list(sites))
    )
    raised = Counter(
        Alarm.objects.filter(site_path__startswith=root_path, raised_at__gte=start, raised_at__lt=end)
        .values_list("site_id", "priority")
        .iterator()
    )
    by_priority: dict[int, dict[str, int]] = {}
    for (site_id, priority), n in raised.items():
        by_priority.setdefault(site_id, {})[priority] = n
    out_of_service: dict[int, list[Sensor]] = {}
    for sensor in (
        Sensor.objects.filter(gateway__site__path__startswith=root_path, in_service=False)
        .select_related("gateway__site", "position")
        .order_by("code")
    ):
        out_of_service.setdefault(sensor.gateway.site_id, []).append(sensor)
    return [
        SiteAlarms(
            site=site,
            by_priority=by_priority.get(site.pk, {}),
            kpis=alarm_kpis(site_path=site.path, start=start, end=end),
            out_of_service=out_of_service.get(site.pk, []),
        )
        for site in sorted(sites.values(), key=lambda s: s.path)
    ]


def alarm_change_marks(site_path: str = "") -> list[tuple[int, dt.datetime] | None]:
    """The last alarm raised and the last alarm-journal row under `site_path` (everywhere when empty), each as
    (pk, time) or None: what the alarms show has changed once either moves (the alarm engine does not audit)."""
    return [
        _last_under(Alarm.objects.all(), site_path, "raised_at"),
        _last_under(AlarmJournal.objects.all(), site_path, "at"),
    ]


def _last_under(rows: QuerySet, site_path: str, time_field: str) -> tuple[int, dt.datetime] | None:
    if not site_path:
        return rows.order_by("-pk").values_list("pk", time_field).first()
    if connection.vendor != "sqlite":  # PostgreSQL's LIKE 'prefix%' uses the pattern index on site_path
        return (
            rows.filter(site_path__startswith=site_path).order_by("-pk").values_list("pk", time_field).first()
        )
    # SQLite's LIKE is case-insensitive and cannot use the index: a range of the binary order can, and the
    # newest id under it is read from the index alone (no walk back through the whole table for a quiet mine).
    under = rows.filter(site_path__gte=site_path, site_path__lt=site_path + "\U0010ffff")
    newest = under.aggregate(m=Max("pk"))["m"]
    if newest is None:
        return None
    return rows.filter(pk=newest).values_list("pk", time_field).first()
