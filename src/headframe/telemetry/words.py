"""What the monitoring pages say: values in the active language, what a limit means ("CH₄ ngắt điện"), an
alarm's value against its limit, the system's journal notes. Internal codes never reach a page."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from headframe.core.formatting import format_number_in_language as number
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    FAULT_LIMIT,
    GATEWAY_LOST_LIMIT,
    NEVER_REPORTED_LIMIT,
    OVER_RANGE_LIMIT,
    STALE_LIMIT,
    SensorKind,
)

# Decimals shown per sensor kind (the transmitters' resolution); running/stopped kinds are shown as words.
KIND_DECIMALS = {
    SensorKind.CH4: 2,
    SensorKind.CO: 0,
    SensorKind.O2: 1,
    SensorKind.CO2: 2,
    SensorKind.AIR_VELOCITY: 2,
    SensorKind.TEMPERATURE: 1,
    SensorKind.WATER_LEVEL: 2,
}
KIND_SHORT = {
    SensorKind.CH4: "CH₄",
    SensorKind.CO: "CO",
    SensorKind.O2: "O₂",
    SensorKind.CO2: "CO₂",
    SensorKind.AIR_VELOCITY: gettext_lazy("air"),
    SensorKind.TEMPERATURE: gettext_lazy("temperature"),
    SensorKind.WATER_LEVEL: gettext_lazy("water level"),
    SensorKind.PUMP_RUNNING: gettext_lazy("pump"),
    SensorKind.FAN_RUNNING: gettext_lazy("fan"),
}
# The kind as a word in a limit's meaning ("CH₄ ngắt điện", "Tốc độ gió thấp").
KIND_NAME = {
    **KIND_SHORT,
    SensorKind.AIR_VELOCITY: gettext_lazy("air velocity"),
}
ON_OFF_KINDS = frozenset({SensorKind.PUMP_RUNNING, SensorKind.FAN_RUNNING})
# Conditions other parts of the system report (services.external), by limit code: what they are, for the
# subject column of the alarm list (their own message says the rest).
EXTERNAL_MEANINGS = {
    "person_overdue": gettext_lazy("Person overdue underground"),
}


def local(ts_ms: int | None) -> dt.datetime | None:
    if ts_ms is None:
        return None
    return timezone.localtime(dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC))


def value_text(kind: str, value: float | None) -> str:
    """A sensor value in the active language: 0,42 in Vietnamese; running/stopped for pumps and fans."""
    if value is None:
        return "—"
    if kind in ON_OFF_KINDS:
        return _("running") if value >= 0.5 else _("stopped")
    return number(value, KIND_DECIMALS.get(kind, 2))


def limit_meaning(limit_code: str, *, kind: str = "", rule=None, rules=(), gateway: str = "") -> str:
    """What a limit means to an operator, in the active language ("CH₄ ngắt điện", "CH₄ vượt dải đo", "Mất kết
    nối trạm thu thập GW-A1"). A limit's code is internal and never shown on a page."""
    name = str(KIND_NAME.get(kind, "")) or _("sensor")
    if limit_code in EXTERNAL_MEANINGS and not kind:
        return str(EXTERNAL_MEANINGS[limit_code])
    if limit_code == GATEWAY_LOST_LIMIT:
        return _("Gateway %(gateway)s lost") % {"gateway": gateway}
    if limit_code == NEVER_REPORTED_LIMIT:
        return _("Gateway %(gateway)s: registered sensors never reported") % {"gateway": gateway}
    if limit_code == STALE_LIMIT:
        return capfirst(_("no data from the sensor"))
    if limit_code == OVER_RANGE_LIMIT:
        return capfirst(_("%(kind)s over range") % {"kind": name})
    if limit_code == FAULT_LIMIT:
        return capfirst(_("%(kind)s sensor fault") % {"kind": name})
    if rule is None:
        return capfirst(_("%(kind)s alarm") % {"kind": name})
    limit = rule.limit
    if limit.direction == "rise":
        text = _("%(kind)s rising fast")
    elif limit.latching:
        text = _("%(kind)s trip — power off")
    elif any(
        r.limit.latching
        and r.limit.direction == limit.direction
        and (
            r.limit.threshold > limit.threshold
            if limit.direction == "high"
            else r.limit.threshold < limit.threshold
        )
        for r in rules
    ):
        text = _("%(kind)s early warning")  # a pre-alarm before a trip of the same sensor
    elif limit.direction == "low":
        text = _("%(kind)s low")
    else:
        text = _("%(kind)s high")
    return capfirst(text % {"kind": name})


def condition_meaning(cond, sensor, gateway_code: str = "") -> str:
    """limit_meaning of one condition: of its sensor's rules, of its gateway, or what an external one is."""
    if getattr(cond, "site_id", None) is not None:
        return str(EXTERNAL_MEANINGS.get(cond.limit_code, _("Alarm")))
    if sensor is None:
        return limit_meaning(cond.limit_code, gateway=gateway_code)
    info = directory.get(sensor.code)
    rules = info.rules if info is not None else ()
    rule = next((r for r in rules if r.code == cond.limit_code), None)
    return limit_meaning(cond.limit_code, kind=sensor.kind, rule=rule, rules=rules)


def alarm_message(sensor, alarm, rule, limit_code: str = "") -> str:
    """The value that raised the alarm against its limit in the active language, e.g. "CH₄ 1,26 % ≥ 1,00 %"."""
    if alarm is None or sensor is None or limit_code == STALE_LIMIT:
        return ""
    decimals = KIND_DECIMALS.get(sensor.kind, 2)
    unit = f" {sensor.unit_of_measure}" if sensor.unit_of_measure else ""
    kind = KIND_SHORT.get(sensor.kind, sensor.kind)
    value = alarm.raised_value
    shown = value_text(sensor.kind, value)
    if limit_code == OVER_RANGE_LIMIT:
        return f"{kind} {shown}{unit} > {number(sensor.range_max, decimals)}{unit}"
    if limit_code == FAULT_LIMIT:
        return f"{kind} {shown}{unit}" if value is not None else ""
    if alarm.threshold is None:
        return ""
    limit = number(alarm.threshold, decimals)
    if rule is not None and rule.limit.direction == "rise":
        return _("%(value)s, up %(rise)s in %(minutes)d min") % {
            "value": f"{kind} {shown}{unit}",
            "rise": f"{limit}{unit}",
            "minutes": max(1, rule.limit.window_ms // 60_000),
        }
    high = rule is None or rule.limit.direction == "high"
    return f"{kind} {shown}{unit} {'≥' if high else '≤'} {limit}{unit}"


SYSTEM_COMMENTS = {
    "new excursion beyond the trip while latched": gettext_lazy(
        "new excursion beyond the trip while latched"
    ),
    "shelving expired": gettext_lazy("shelving expired"),
    "gateway back": gettext_lazy("gateway back"),
    "still silent after its gateway came back": gettext_lazy("still silent after its gateway came back"),
    "out of service expired": gettext_lazy("out of service expired"),
    "back in service": gettext_lazy("back in service"),
    "not a number": gettext_lazy("not a number"),
    "late reading": gettext_lazy("late reading"),
    "NDEATH": gettext_lazy("the gateway announced its death (NDEATH)"),
}


SYSTEM_COMMENT_PATTERNS = (
    (
        re.compile(r"^suppressed by design: gateway (?P<gateway>\S+) lost$"),
        gettext_lazy("suppressed by design: gateway %(gateway)s lost"),
    ),
    (re.compile(r"^silent for (?P<seconds>\d+) s$"), gettext_lazy("silent for %(seconds)s s")),
    (re.compile(r"^(?P<n>\d+) sensors without data$"), gettext_lazy("%(n)s sensors without data")),
    (re.compile(r"^device on (?P<gateway>\S+) offline$"), gettext_lazy("device on %(gateway)s offline")),
)


_SHELVED_FOR = re.compile(r"^(?P<minutes>\d+) min: (?P<reason>.*)$", re.S)


def journal_comment(entry) -> str:
    """A journal comment as shown: what a person wrote, as written; what the system wrote, in the active
    language (the journal stores the system's notes in English)."""
    comment = entry.comment or ""
    if entry.user_id is not None and comment != "back in service":
        shelved = _SHELVED_FOR.match(comment)  # "15 min: reason", as the shelving service writes it
        if shelved:
            return _("%(minutes)s min: %(reason)s") % shelved.groupdict()
        return comment
    if comment in SYSTEM_COMMENTS:
        return str(SYSTEM_COMMENTS[comment])
    for pattern, text in SYSTEM_COMMENT_PATTERNS:
        match = pattern.match(comment)
        if match:
            return str(text) % match.groupdict()
    return comment
