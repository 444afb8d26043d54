"""An in-process directory of sensors and their alarm rules, so ingest validates without a query per reading.

Loaded whole (a group has thousands of sensors, not millions) and reloaded when a reading names a sensor it does
not know (at most every few seconds) or when this process changed the registry; other processes pick up
registry changes within RELOAD_AFTER_S.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from headframe.telemetry.engine import LimitRule
from headframe.telemetry.models import STALE_LIMIT, Limit, LimitProfile, Sensor, SiteLimitSetting

RELOAD_AFTER_S = 30.0
ANY_LOCATION = ("", "workplace")  # limits for "every workplace" apply wherever the sensor is
UNKNOWN_RETRY_S = 3.0


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    limit: LimitRule
    priority: str
    clause: str
    action_vi: str
    no_operator_override: bool = False


@dataclass(frozen=True, slots=True)
class SensorInfo:
    id: int
    code: str
    kind: str
    unit_of_measure: str
    range_min: float
    range_max: float
    period_s: int
    in_service: bool
    gateway_code: str
    gateway_id: int
    position_code: str
    site_id: int
    site_path: str
    rules: tuple[Rule, ...]
    # The fast path's cheap test (telemetry.mqtt): a value at or beyond these may raise an alarm.
    alert_high: float = float("inf")
    alert_low: float = float("-inf")


class SensorDirectory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_code: dict[str, SensorInfo] = {}
        self._by_id: dict[int, SensorInfo] = {}
        self._by_metric: dict[tuple[str, str], SensorInfo] = {}
        self._loaded_at = 0.0
        self._unknown_checked_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def _load(self) -> None:
        """Read the whole registry as plain rows (no model instances) and build each (kind, location, site)'s
        rules once: at group scale (15 000 sensors) this runs every RELOAD_AFTER_S in every process."""
        profile = LimitProfile.objects.filter(is_default=True).first()
        limits = list(Limit.objects.filter(profile=profile)) if profile else []
        overrides: dict[tuple[int, int], SiteLimitSetting] = {
            (s.site_id, s.limit_id): s for s in SiteLimitSetting.objects.all()
        }
        rules_for: dict[tuple[str, str, int], tuple[tuple[Rule, ...], float, float]] = {}
        by_code: dict[str, SensorInfo] = {}
        by_metric: dict[tuple[str, str], SensorInfo] = {}
        rows = Sensor.objects.order_by("id").values_list(
            "id",
            "code",
            "kind",
            "location",
            "unit_of_measure",
            "range_min",
            "range_max",
            "period_s",
            "in_service",
            "sparkplug_metric",
            "gateway_id",
            "gateway__code",
            "gateway__site_id",
            "gateway__site__path",
            "position__code",
        )
        for (
            sensor_id,
            code,
            kind,
            location,
            unit_of_measure,
            range_min,
            range_max,
            period_s,
            in_service,
            metric,
            gateway_id,
            gateway_code,
            site_id,
            site_path,
            position_code,
        ) in rows:
            shared = rules_for.get((kind, location, site_id))
            if shared is None:
                shared = rules_for[(kind, location, site_id)] = _rules(
                    limits, overrides, kind, location, site_id
                )
            rules, alert_high, alert_low = shared
            info = SensorInfo(
                id=sensor_id,
                code=code,
                kind=kind,
                unit_of_measure=unit_of_measure,
                range_min=range_min,
                range_max=range_max,
                period_s=period_s,
                in_service=in_service,
                gateway_code=gateway_code,
                gateway_id=gateway_id,
                position_code=position_code,
                site_id=site_id,
                site_path=site_path,
                rules=rules,
                alert_high=alert_high,
                alert_low=alert_low,
            )
            by_code[code] = info
            if metric:
                by_metric[(gateway_code, metric)] = info
        self._by_code = by_code
        self._by_id = {info.id: info for info in by_code.values()}
        self._by_metric = by_metric
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        loaded_at = self._loaded_at
        if loaded_at and time.monotonic() - loaded_at <= RELOAD_AFTER_S:
            return
        # Never loaded, or invalidated by a registry change in this process: wait for the reload. Only old: one
        # thread reloads and the others go on with what they have meanwhile — at group scale a reload reads 15 000
        # sensors, and under load every page of the process queued behind it (bench_load).
        if not self._lock.acquire(blocking=not loaded_at):
            return
        try:
            if not self._loaded_at or time.monotonic() - self._loaded_at > RELOAD_AFTER_S:
                self._load()
        finally:
            self._lock.release()

    def by_code(self) -> dict[str, SensorInfo]:
        self._fresh()
        return self._by_code

    def get(self, code: str) -> SensorInfo | None:
        info = self.by_code().get(code)
        if info is None and self.retry_unknown():
            info = self._by_code.get(code)
        return info

    def retry_unknown(self) -> bool:
        """Reload if an unknown code was not looked up recently (maybe it was registered since we loaded),
        but not once per unknown reading; True when a reload happened."""
        if time.monotonic() - self._unknown_checked_at <= UNKNOWN_RETRY_S:
            return False
        self._unknown_checked_at = time.monotonic()
        with self._lock:
            self._load()
        return True

    def peek(self) -> dict[str, SensorInfo]:
        """The sensors by code as loaded, never reloading (for threads that must not touch the database)."""
        return self._by_code

    def by_id(self, sensor_id: int) -> SensorInfo | None:
        self._fresh()
        return self._by_id.get(sensor_id)

    def by_metric(self, gateway_code: str, metric: str) -> SensorInfo | None:
        self._fresh()
        return self._by_metric.get((gateway_code, metric))

    def all(self) -> list[SensorInfo]:
        self._fresh()
        return list(self._by_id.values())


def _rules(
    limits, overrides, kind: str, location: str, site_id: int
) -> tuple[tuple[Rule, ...], float, float]:
    """The alarm rules of a sensor of `kind` at `location` on `site_id`, and the fast path's thresholds."""
    rules = []
    for limit in limits:
        if limit.kind != kind or limit.location not in (*ANY_LOCATION, location):
            continue
        override = overrides.get((site_id, limit.id))
        enabled = limit.enabled_by_default if override is None else override.enabled
        if not enabled:
            continue
        rule = LimitRule(
            direction=limit.direction,
            threshold=_pick(override, "threshold", limit.threshold),
            deadband=_pick(override, "deadband", limit.deadband),
            on_delay_ms=1000 * _pick(override, "on_delay_s", limit.on_delay_s),
            off_delay_ms=1000 * _pick(override, "off_delay_s", limit.off_delay_s),
            latching=limit.latching,
            window_ms=1000 * limit.rate_window_s,
        )
        rules.append(
            Rule(limit.code, rule, limit.priority, limit.clause, limit.action_vi, limit.no_operator_override)
        )
    alert_high = min([r.limit.threshold for r in rules if r.limit.direction == "high"], default=math.inf)
    alert_low = max([r.limit.threshold for r in rules if r.limit.direction == "low"], default=-math.inf)
    return tuple(rules), alert_high, alert_low


def _pick(override: SiteLimitSetting | None, field: str, default):
    value = getattr(override, field, None) if override is not None else None
    return default if value is None else value


directory = SensorDirectory()

__all__ = ["STALE_LIMIT", "Rule", "SensorDirectory", "SensorInfo", "directory"]
