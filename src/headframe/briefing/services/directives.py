"""Directives (kết luận, chỉ đạo): raise, link to a key task, progress and status."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from headframe.briefing.messages import label
from headframe.briefing.models import (
    Directive,
    DirectiveComment,
    DirectiveStatus,
    KeyTask,
    Meeting,
    Priority,
)
from headframe.briefing.services._common import (
    _allowed,
    _also_audit,
    _clean_texts,
    _indicator,
    _on_line,
    _person,
    _refuse_if_closed,
    _require,
)
from headframe.core import live_bus
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.core.text import check_clean_text
from headframe.org.models import Unit
from headframe.org.roles import Perm


def _next_seq(year: int) -> int:
    return (Directive.objects.filter(year=year).aggregate(m=Max("seq"))["m"] or 0) + 1


@transaction.atomic
def directive_create(
    *,
    actor,
    text: str,
    owner_unit_code: str,
    deadline: dt.date,
    priority: str = Priority.NORMAL,
    meeting: Meeting | None = None,
    owner_person=None,
    indicator_code: str | None = None,
    key_task: KeyTask | int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Directive:
    """Raise a directive (the fast form during a meeting, or outside one). Numbered seq/year of the day
    it is raised."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    items: list[ErrorItem] = []
    owner = Unit.objects.filter(code=owner_unit_code).first() if owner_unit_code else None
    if owner is None or not _allowed(actor, (Perm.VIEW,), owner.path):  # outside one's view: not revealed
        owner = None
        items.append(
            ErrorItem(
                ("body", "owner_unit"),
                "",
                "unknown_unit",
                {"unit": repr(owner_unit_code)},
                "unknown_unit.named",
            )
        )
    try:
        check_day(deadline, loc=("body", "deadline"))
    except ValidationFailed as exc:
        items.extend(exc.items)
    else:
        if deadline < today:
            items.append(
                ErrorItem(
                    ("body", "deadline"),
                    "",
                    "deadline_in_past",
                    {"deadline": deadline, "today": today},
                    "deadline_in_past.day",
                )
            )
    try:
        check_clean_text(text, loc=("body", "text"), multiline=True, label="the directive")
    except ValidationFailed as exc:
        items.extend(exc.items)
    if not (text or "").strip():
        items.append(ErrorItem(("body", "text"), "", "missing", {}, "missing.directive_text"))
    if priority not in Priority.values:
        items.append(
            ErrorItem(("body", "priority"), "", "enum", {"priority": repr(priority)}, "enum.priority")
        )
    if items:
        raise ValidationFailed(items=items)
    if meeting is not None:
        meeting = Meeting.objects.select_related("unit").get(pk=meeting.pk)
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            meeting.unit.path,
            key="permission_denied.raise_directives",
            params={"unit": meeting.unit.code},
            loc=("body", "meeting"),
        )
        _refuse_if_closed(meeting, "directives")
        if not owner.path.startswith(meeting.unit.path):
            raise ValidationFailed(
                loc=("body", "owner_unit"),
                type="owner_outside_meeting_unit",
                params={"owner": owner.code, "unit": meeting.unit.code},
                key="owner_outside_meeting_unit.named",
            )
    else:
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            owner.path,
            key="permission_denied.give_directives",
            params={"unit": owner.code},
            loc=("body", "owner_unit"),
        )
    person = _person(owner_person, under=owner, loc=("body", "owner_person"))
    indicator = _indicator(indicator_code, loc=("body", "indicator"))
    task = _linked_key_task(actor, key_task, owner)
    if indicator is not None and task is not None:
        raise ValidationFailed(loc=("body", "key_task"), type="one_link", params={}, key="one_link.both")
    # Numbers are per year of issue; two clerks raising at once: the loser of the unique (year, seq) retries.
    for attempt in range(5):
        directive = Directive(
            year=today.year,
            seq=_next_seq(today.year),
            text=text.strip(),
            meeting=meeting,
            owner_unit=owner,
            owner_person=person,
            deadline=deadline,
            priority=priority,
            indicator=indicator,
            key_task=task,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        try:
            with transaction.atomic():
                audited_create(actor=actor, obj=directive, unit_path=owner.path)
                if task is not None:  # the key task's own auditors see what was linked to it
                    _also_audit(
                        actor,
                        obj=directive,
                        primary=owner.path,
                        paths=[task.owner_unit.path],
                        after={"key_task": task.pk, "owner_unit": owner.code},
                    )
                if meeting is not None:  # the meeting's live room shows it (PostgreSQL, at commit)
                    live_bus.notify(live_bus.meeting_topic(meeting.pk), urgent=True)
                return directive
        except (Conflict, ValidationFailed) as exc:
            duplicate = isinstance(exc, Conflict) or any(
                i.type in ("unique", "unique_together") for i in exc.items
            )
            if attempt == 4 or not duplicate:
                raise
    raise AssertionError("unreachable")


def _linked_key_task(actor, key_task, owner: Unit) -> KeyTask | None:
    """The key task a directive serves: one the actor may see (else unknown, like a missing one), of the owner's
    line (a company's directive serves its own or its group's key tasks). A key task of another unit needs PLAN
    or MANAGE there as well: the actor writes into both places."""
    if key_task is None:
        return None
    pk = key_task.pk if isinstance(key_task, KeyTask) else key_task
    task = KeyTask.objects.select_related("owner_unit").filter(pk=pk).first() if str(pk).isdigit() else None
    if task is None or not _allowed(actor, (Perm.VIEW,), task.owner_unit.path):
        raise ValidationFailed(
            loc=("body", "key_task"),
            type="unknown_key_task",
            params={"key_task": repr(pk)},
            key="unknown_key_task.named",
        )
    place = task.owner_unit
    if not owner.path.startswith(place.path):  # not the owner's own or an enclosing unit's key task
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            place.path,
            key="permission_denied.link_key_tasks",
            params={"unit": place.code},
            loc=("body", "key_task"),
        )
        if not _on_line(owner, place):
            raise ValidationFailed(
                loc=("body", "key_task"),
                type="key_task_outside_owner",
                params={"key_task": f"{task.number}/{task.year}", "unit": place.code, "owner": owner.code},
                key="key_task_outside_owner.named",
            )
    return task


def directive_settable_statuses(actor, directive: Directive) -> list[str]:
    """The statuses actor may give the directive (the rules of directive_update_status): its present status
    (a comment only) and the moves of the owner unit's reporters; cancelling and reopening only where the
    directive was issued. Empty: the actor may not report on it at all."""
    issuer_path = directive.meeting.unit.path if directive.meeting_id else directive.owner_unit.path
    may_report = _allowed(actor, (Perm.REPORT, Perm.PLAN, Perm.MANAGE), directive.owner_unit.path)
    may_close = _allowed(actor, (Perm.PLAN, Perm.MANAGE), issuer_path)
    settable = []
    for status in DirectiveStatus.values:
        closing_or_reopening = status == DirectiveStatus.CANCELLED or (
            directive.status in (DirectiveStatus.DONE, DirectiveStatus.CANCELLED)
            and status != directive.status
        )
        if may_close if closing_or_reopening else may_report:
            settable.append(status)
    return settable


@transaction.atomic
def directive_update_status(
    *,
    actor,
    directive: Directive,
    status: str,
    comment: str = "",
    evidence: str = "",
    now: dt.datetime | None = None,
) -> Directive:
    """Report progress: a new status with a comment (and evidence; done needs it). The same status with a
    comment only adds the comment. Every change is a DirectiveComment plus an audit row."""
    now = now or timezone.now()
    directive = (
        Directive.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "meeting__unit")
        .get(pk=directive.pk)
    )
    if status == "overdue":
        raise ValidationFailed(
            loc=("body", "status"), type="derived_status", params={}, key="derived_status.overdue"
        )
    if status not in DirectiveStatus.values:
        raise ValidationFailed(
            loc=("body", "status"),
            type="enum",
            params={"status": repr(status), "expected": list(DirectiveStatus.values)},
            key="enum.status",
        )
    issuer_path = directive.meeting.unit.path if directive.meeting_id else directive.owner_unit.path
    closing_or_reopening = status == DirectiveStatus.CANCELLED or (
        directive.status in (DirectiveStatus.DONE, DirectiveStatus.CANCELLED) and status != directive.status
    )
    if closing_or_reopening:
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            issuer_path,
            key="permission_denied.cancel_directive",
            loc=("body", "status"),
        )
    else:
        _require(
            actor,
            (Perm.REPORT, Perm.PLAN, Perm.MANAGE),
            directive.owner_unit.path,
            key="permission_denied.report_directives",
            params={"unit": directive.owner_unit.code},
            loc=("path", "directive_id"),
        )
    evidence = (evidence or "").strip()
    comment = (comment or "").strip()
    _clean_texts({"comment": comment, "evidence": evidence})
    changes: dict = {"status": status}
    if evidence:
        changes["evidence"] = evidence
    if status == DirectiveStatus.DONE:
        if not (evidence or directive.evidence):
            raise ValidationFailed(
                loc=("body", "evidence"),
                type="evidence_required",
                params={},
                key="evidence_required.directive",
            )
        if directive.status != DirectiveStatus.DONE:
            changes["done_at"] = now
    else:
        changes["done_at"] = None
    if status == directive.status and not comment and not evidence:
        raise ValidationFailed(
            loc=("body", "comment"),
            type="no_change",
            params={"status": label(DirectiveStatus(status), lower=True)},
            key="no_change.status",
        )
    old_status = directive.status
    audited_update(actor=actor, obj=directive, changes=changes, unit_path=directive.owner_unit.path)
    note = DirectiveComment(
        directive=directive,
        author=actor if getattr(actor, "pk", None) else None,
        at=now,
        text=comment or evidence,
        new_status=status if status != old_status else "",
    )
    audited_create(actor=actor, obj=note, unit_path=directive.owner_unit.path)
    return directive
