"""The telemetry side of alarm notification: what an alarm tells the people on call, and escalation.

`alarm_raised` runs inside the transaction that creates the alarm, so the alarm and its notification commit
together (the outbox); the notify worker delivers it afterwards from its own thread. `alarms_escalate` runs in
the watchdog: an urgent alarm nobody acknowledged within the default limit profile's `escalate_after_s` (× the
level it has reached) goes to the next on-call level — mine → company safety office → group.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from zoneinfo import ZoneInfo

from django.db import DatabaseError, transaction
from django.utils import timezone

from headframe.notify import services as notify
from headframe.telemetry.models import Alarm, Gateway, LimitProfile, Priority, Sensor

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOTIFIED_PRIORITIES = frozenset({Priority.URGENT, Priority.HIGH})
MAX_LEVEL = 3
DEFAULT_ESCALATE_AFTER_S = 120  # LimitProfile.escalate_after_s's default, when no profile is the default
RAISED = "alarm_raised"
ESCALATED = "alarm_escalated"

PRIORITY_VI = {
    Priority.URGENT: "KHẨN CẤP",
    Priority.HIGH: "CAO",
    Priority.MEDIUM: "TRUNG BÌNH",
    Priority.LOW: "THẤP",
}
LEVEL_VI = {1: "phòng điều khiển mỏ", 2: "phòng an toàn công ty", 3: "tập đoàn"}


def alarm_raised(alarm: Alarm) -> None:
    """Enqueue the level-1 notification of a new urgent or high alarm. Call it inside the alarm's transaction:
    no network I/O, a query or two (a few more when someone is on call for the site)."""
    if alarm.priority not in NOTIFIED_PRIORITIES:
        return
    _enqueue(alarm, event=RAISED, level=1)


def alarms_escalate(*, now: dt.datetime | None = None) -> int:
    """Move every urgent alarm still unacknowledged (and not closed, shelved or suppressed) past its delay to
    the next on-call level, and notify that level; returns how many moved. Compare-and-set on the level, so
    two processes never escalate one alarm twice. A failure with one alarm is logged and the others go on."""
    now = now or timezone.now()
    after_s = LimitProfile.objects.filter(is_default=True).values_list("escalate_after_s", flat=True).first()
    after_s = DEFAULT_ESCALATE_AFTER_S if after_s is None else after_s
    candidates = (
        Alarm.objects.filter(
            priority=Priority.URGENT,
            acked_at__isnull=True,
            closed_at__isnull=True,
            escalated_level__lt=MAX_LEVEL,
            raised_at__lte=now - dt.timedelta(seconds=after_s),
        )
        .exclude(condition__suppressed=True)
        .exclude(condition__shelved_until__gt=now)
        .order_by("raised_at", "id")
        .values_list("id", "escalated_level", "raised_at")
    )
    escalated = 0
    for alarm_id, level, raised_at in list(candidates):
        if raised_at > now - dt.timedelta(seconds=after_s * level):
            continue  # at level n it waits n delays in all
        try:
            escalated += _escalate(alarm_id, level, after_s)
        except DatabaseError:
            raise  # the database is down: the watchdog skips the round
        except Exception:
            log.exception("escalating alarm %d failed", alarm_id)
    return escalated


@transaction.atomic
def _escalate(alarm_id: int, level: int, after_s: int) -> int:
    moved = Alarm.objects.filter(
        pk=alarm_id, escalated_level=level, acked_at__isnull=True, closed_at__isnull=True
    ).update(escalated_level=level + 1)
    if not moved:
        return 0  # acknowledged, closed or escalated by another process meanwhile
    alarm = Alarm.objects.get(pk=alarm_id)
    _enqueue(alarm, event=ESCALATED, level=level + 1, waited_s=after_s * level)
    return 1


# --- the message ------------------------------------------------------------------------------------------


def _codes(alarm: Alarm) -> tuple[str, str]:
    """(sensor code, gateway code) without a query when the caller already loaded them."""
    if alarm.sensor_id is not None:
        sensor = alarm.sensor if Alarm.sensor.is_cached(alarm) else None
        if sensor is not None and Sensor.gateway.is_cached(sensor):
            return sensor.code, sensor.gateway.code
        row = Sensor.objects.filter(pk=alarm.sensor_id).values_list("code", "gateway__code").first()
        return row if row is not None else ("", "")
    if alarm.gateway_id is not None:
        if Alarm.gateway.is_cached(alarm):
            return "", alarm.gateway.code
        return "", Gateway.objects.filter(pk=alarm.gateway_id).values_list("code", flat=True).first() or ""
    return "", ""


def _number(value) -> float | None:
    """JSON-safe: NaN and infinities are not JSON (PostgreSQL's jsonb refuses them)."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _shown(value) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")


def _enqueue(alarm: Alarm, *, event: str, level: int, waited_s: int = 0) -> int:
    sensor_code, gateway_code = _codes(alarm)
    site_code = alarm.site_path.strip("/").rsplit("/", 1)[-1]
    source = sensor_code or gateway_code
    label = PRIORITY_VI.get(alarm.priority, alarm.priority)
    raised = timezone.localtime(alarm.raised_at, LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")
    prefix = f"[{label}]" if event == RAISED else f"[CHUYỂN CẤP {level}][{label}]"
    # A condition another part reports (a person overdue underground) says everything in its message.
    subject = f"{prefix} {site_code}" + (f" – {source}" if source else "") + f": {alarm.message}"
    lines = []
    if event == ESCALATED:
        minutes = f"{waited_s / 60:g}".replace(".", ",")
        lines.append(
            f"Cảnh báo chưa được xác nhận sau {minutes} phút: chuyển lên cấp {level} ({LEVEL_VI.get(level, '')})."
        )
    lines.append(f"Cảnh báo mức {label} tại {site_code}.")
    if sensor_code:
        lines.append(f"Cảm biến: {sensor_code}" + (f" (trạm {gateway_code})" if gateway_code else ""))
    elif gateway_code or not alarm.subject:
        lines.append(f"Trạm (gateway): {gateway_code or '—'}")
    lines.append(f"Nội dung: {alarm.message}")
    if not alarm.subject or alarm.raised_value is not None:
        lines.append(f"Giá trị: {_shown(alarm.raised_value)} — ngưỡng: {_shown(alarm.threshold)}")
    lines += [
        f"Thời điểm: {raised} (giờ Việt Nam)",
        f"Mã điều kiện: {alarm.limit_code} · cảnh báo số {alarm.id}",
    ]
    if alarm.priority == Priority.URGENT and level < MAX_LEVEL:
        lines.append("Xác nhận (acknowledge) cảnh báo trên bàn điều khiển, nếu không sẽ chuyển lên cấp trên.")
    payload = {
        "alarm": alarm.id,
        "condition": alarm.condition_id,
        "site": site_code,
        "site_path": alarm.site_path,
        "sensor": sensor_code or None,
        "gateway": gateway_code or None,
        "limit": alarm.limit_code,
        "priority": alarm.priority,
        "value": _number(alarm.raised_value),
        "threshold": _number(alarm.threshold),
        "message": alarm.message,
        "raised_at": alarm.raised_at.isoformat(),
        "level": level,
    }
    if alarm.subject:  # a condition another part reports (services.external): its subject, e.g. presence:42
        payload["subject"] = alarm.subject
    return notify.notification_enqueue(
        event=event,
        site_path=alarm.site_path,
        priority=alarm.priority,
        level=level,
        subject=subject,
        body="\n".join(lines),
        payload=payload,
        source_ref=f"alarm:{alarm.id}",
    )
