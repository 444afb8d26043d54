"""Workers' voice (key task 6): suggestions and grievances (kiến nghị) raised at a unit, answered by a deadline,
closed; overdue ones escalate up the tree and notify the people on call there."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_record, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, NotFound, ValidationFailed
from headframe.core.formatting import LOCAL_TZ
from headframe.notify.services import notification_enqueue
from headframe.org.models import RoleAssignment, Unit
from headframe.org.roles import ROLE_PERMS, Perm
from headframe.org.selectors import ancestor_paths, scope_for
from headframe.workforce.models import Grievance, GrievanceCategory, GrievanceStatus
from headframe.workforce.selectors.workers import workers_visible
from headframe.workforce.services._common import actor_user, company_path, require, unit_by_code

# 15 days to answer: half the 30 days the Law on Complaints allows for settling a formal complaint; a worker's
# kiến nghị at a mine is a shift-level matter that the grassroots-democracy practice expects answered within the
# half-month, before the next monthly workers' conference. One constant, so a group with another rule changes
# it here; it is also the length of each escalation step (one step up the tree per overdue period).
RESPONSE_DAYS = 15
MAX_TEXT = 4000
MAX_LEVEL = 3  # the notify app's levels: site, company, group
FIELDS = ("unit", "worker", "anonymous", "category", "text", "received_on", "due_on", "status", "answer")
DENIED = "permission_denied.workforce"


def _text(value: str, field: str) -> str:
    text = (value or "").strip()
    loc = ("body", field)
    if not text:
        raise ValidationFailed(loc=loc, type="missing", key=f"missing.grievance_{field}", params={})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(loc=loc, type="too_long", key="too_long.grievance", params={"max": MAX_TEXT})
    return text


def _today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(LOCAL_TZ).date()


@transaction.atomic
def grievance_create(
    *,
    actor,
    unit_code: str,
    text: str,
    category: str,
    received_on: dt.date | None = None,
    employee_no: str | None = None,
    anonymous: bool = False,
) -> Grievance:
    """Record a grievance raised at a unit (workforce permission there). Anonymous: no worker is stored, even
    when an employee number is given. Otherwise the employee number (optional) must be a worker the actor
    manages. Due RESPONSE_DAYS after it was received (today by default; never in the future)."""
    unit = unit_by_code(actor, unit_code, Perm.WORKFORCE, loc=("body", "unit"), key=DENIED)
    body = _text(text, "text")
    if category not in GrievanceCategory.values:
        raise ValidationFailed(
            loc=("body", "category"),
            type="enum",
            key="enum.grievance_category",
            params={"value": category, "choices": ", ".join(GrievanceCategory.values)},
        )
    today = _today()
    received_on = received_on or today
    check_day(received_on, loc=("body", "received_on"))
    if received_on > today:
        raise ValidationFailed(
            loc=("body", "received_on"), type="future", key="future.received_on", params={"day": received_on}
        )
    worker = None
    number = (employee_no or "").strip()
    if number and not anonymous:
        worker = (  # the unit's company's people only: its managers read the grievance
            workers_visible(actor, Perm.WORKFORCE)
            .filter(employee_no=number, unit__path__startswith=company_path(unit))
            .first()
        )
        if worker is None:
            raise NotFound(
                loc=("body", "employee_no"),
                type="unknown_worker",
                key="unknown_worker.named",
                params={"employee_no": number},
            )
    grievance = Grievance.objects.create(
        unit=unit,
        worker=worker,
        anonymous=bool(anonymous),
        category=category,
        text=body,
        received_on=received_on,
        due_on=received_on + dt.timedelta(days=RESPONSE_DAYS),
        created_by=actor_user(actor),
    )
    audit_record(
        actor=actor, action="create", obj=grievance, unit_path=unit.path, after=snapshot(grievance, FIELDS)
    )
    return grievance


def _grievance(actor, grievance_id: int) -> Grievance:
    """The grievance, for a writer: 404 when unknown or outside the actor's view, 403 without the permission."""
    grievance = (
        Grievance.objects.select_for_update(of=("self",))
        .select_related("unit")
        .filter(pk=grievance_id)
        .first()
    )
    loc = ("path", "grievance_id")
    if grievance is None or not scope_for(actor).allows(Perm.VIEW, grievance.unit.path):
        raise NotFound(
            loc=loc, type="unknown_grievance", key="unknown_grievance.id", params={"id": grievance_id}
        )
    require(actor, grievance.unit, Perm.WORKFORCE, loc=loc, key=DENIED)
    return grievance


@transaction.atomic
def grievance_answer(
    *, actor, grievance_id: int, answer: str, answered_on: dt.date | None = None
) -> Grievance:
    """Answer an open grievance (or correct the answer of an answered one): it becomes answered on
    `answered_on` (today; not before it was received, not in the future). A closed one: 409."""
    grievance = _grievance(actor, grievance_id)
    text = _text(answer, "answer")
    if grievance.status == GrievanceStatus.CLOSED:
        raise Conflict(loc=("path", "grievance_id"), type="grievance_closed", key="grievance_closed.id")
    today = _today()
    day = answered_on or today
    check_day(day, loc=("body", "answered_on"))
    if day > today or day < grievance.received_on:
        raise ValidationFailed(
            loc=("body", "answered_on"),
            type="period_order",
            key="period_order.answered_on",
            params={"day": day, "received": grievance.received_on},
        )
    before = snapshot(grievance, FIELDS)
    grievance.answer, grievance.status = text, GrievanceStatus.ANSWERED
    if grievance.answered_on is None or answered_on is not None:
        grievance.answered_on = day
    grievance.answered_by = actor_user(actor)
    grievance.save(update_fields=["answer", "status", "answered_on", "answered_by"])
    audit_record(
        actor=actor,
        action="update",
        obj=grievance,
        unit_path=grievance.unit.path,
        before=before,
        after=snapshot(grievance, FIELDS),
    )
    return grievance


@transaction.atomic
def grievance_close(*, actor, grievance_id: int) -> Grievance:
    """Close an answered grievance (409 when it has no answer yet; closing a closed one changes nothing)."""
    grievance = _grievance(actor, grievance_id)
    if grievance.status == GrievanceStatus.CLOSED:
        return grievance
    if grievance.status != GrievanceStatus.ANSWERED:
        raise Conflict(loc=("path", "grievance_id"), type="not_answered", key="not_answered.close")
    before = snapshot(grievance, FIELDS)
    grievance.status = GrievanceStatus.CLOSED
    grievance.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="update",
        obj=grievance,
        unit_path=grievance.unit.path,
        before=before,
        after=snapshot(grievance, FIELDS),
    )
    return grievance


# --- escalation -----------------------------------------------------------------------------------------------


def escalation_step(due_on: dt.date, today: dt.date) -> int:
    """0 while not overdue; then one step per RESPONSE_DAYS overdue (1 for days 1–15 past due, 2 for 16–30…),
    at most MAX_LEVEL."""
    late = (today - due_on).days
    return 0 if late <= 0 else min(MAX_LEVEL, 1 + (late - 1) // RESPONSE_DAYS)


def responsible(unit: Unit) -> list[str]:
    """The usernames of the people who manage the workforce (or the units) at `unit` or above it."""
    roles = [role for role, perms in ROLE_PERMS.items() if Perm.WORKFORCE in perms or Perm.MANAGE in perms]
    return sorted(
        set(
            RoleAssignment.objects.filter(
                unit__path__in=ancestor_paths(unit.path), role__in=roles, user__is_active=True
            ).values_list("user__username", flat=True)
        )
    )


def _escalate_to(grievance: Grievance, step: int) -> Unit:
    """The unit `step` levels above the grievance's (the group at most)."""
    paths = ancestor_paths(grievance.unit.path)
    path = paths[max(0, len(paths) - 1 - step)]
    return Unit.objects.get(path=path)


def _notify(grievance: Grievance, step: int, target: Unit, today: dt.date) -> None:
    late = (today - grievance.due_on).days
    subject = f"[KIẾN NGHỊ QUÁ HẠN – CẤP {step}] {grievance.unit.code}: kiến nghị số {grievance.pk}"
    body = "\n".join(
        [
            f"Kiến nghị số {grievance.pk} tại {grievance.unit.code} – {grievance.unit.name_vi} chưa được trả lời.",
            f"Nhận ngày {grievance.received_on:%d/%m/%Y}, hạn trả lời {grievance.due_on:%d/%m/%Y}, "
            f"đã quá hạn {late} ngày: chuyển lên {target.code} – {target.name_vi}.",
            "Nội dung và người gửi xem trên trang Tiếng nói người lao động (không gửi qua thư).",
        ]
    )
    notification_enqueue(
        event="grievance_overdue",
        site_path=target.path,
        priority="medium",
        level=step,
        subject=subject,
        body=body,
        payload={
            "grievance": grievance.pk,
            "unit": grievance.unit.code,
            "escalated_to": target.code,
            "level": step,
            "due_on": grievance.due_on.isoformat(),
            "days_overdue": late,
            "responsible": responsible(target),
        },
        source_ref=f"grievance:{grievance.pk}:{step}",
    )


@transaction.atomic
def grievances_escalate(*, now: dt.datetime | None = None) -> int:
    """Raise every open grievance past its due day to the step its lateness has reached (one step per
    RESPONSE_DAYS overdue, at most MAX_LEVEL), notify the people on call at the unit that many levels up (and
    name its workforce managers in the payload); returns how many grievances escalated. Idempotent: a step is
    taken (and notified) once. The grievance's text and author are never sent."""
    moment = now or timezone.now()
    today = _today(moment)
    due = (
        Grievance.objects.select_for_update(of=("self",))
        .select_related("unit")
        .filter(status=GrievanceStatus.OPEN, due_on__lt=today, escalation_level__lt=MAX_LEVEL)
        .order_by("pk")
    )
    count = 0
    for grievance in due:
        step = escalation_step(grievance.due_on, today)
        if step <= grievance.escalation_level:
            continue
        target = _escalate_to(grievance, step)
        before = {"escalation_level": grievance.escalation_level}
        grievance.escalation_level, grievance.escalated_at = step, moment
        grievance.save(update_fields=["escalation_level", "escalated_at"])
        audit_record(
            actor=None,
            action="escalate",
            obj=grievance,
            unit_path=grievance.unit.path,
            before=before,
            after={"escalation_level": step, "escalated_to": target.code},
        )
        _notify(grievance, step, target, today)
        count += 1
    return count
