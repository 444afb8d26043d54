"""Writes of the notify app: the on-call roster (audited, scoped), the outbox (enqueued in the caller's
transaction, no network) and its delivery (claimed, sent outside any transaction, every attempt journalled).

Delivery is at least once: a worker that dies between sending and recording leaves its claim to expire, and the
delivery is sent again (journalled as such); webhook receivers de-duplicate on X-Headframe-Delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from headframe.core.audit import audit_record, snapshot
from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.notify import channels
from headframe.notify.models import (
    PRIORITY_RANK,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    OnCallEntry,
)
from headframe.org.messages import both_languages
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_named

log = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 after n failures: 10 s, 30 s, 1 min, 5 min, 15 min, 30 min, then hourly.
BACKOFF_S = (10, 30, 60, 300, 900, 1800, 3600)
CLAIM_CHUNK = 8  # deliveries claimed per transaction
ROSTER_KINDS = (UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE)

# Set when an enqueue commits, so the notifier of this process sends at once instead of at its next round.
wake = threading.Event()


# --- the on-call roster ----------------------------------------------------------------------------------


def roster_editable(actor, path: str) -> bool:
    scope = scope_for(actor)
    return scope.allows(Perm.MANAGE, path) or scope.allows(Perm.SAFETY, path)


def _require_roster(actor, path: str, *, loc: tuple = ("body", "unit")) -> None:
    if not roster_editable(actor, path):
        raise PermissionDenied(loc=loc, params={}, key="permission_denied.roster")


def _roster_unit(actor, code, *, loc: tuple = ("body", "unit")) -> Unit:
    unit = unit_named(actor, code, loc=loc)
    if unit.kind not in ROSTER_KINDS:
        raise ValidationFailed(
            loc=loc,
            type="roster_unit_kind",
            params={"unit": unit.code, "kind": both_languages(UnitKind(unit.kind).label, lower=True)},
            key="roster_unit_kind.named",
        )
    _require_roster(actor, unit.path, loc=loc)
    return unit


@transaction.atomic
def oncall_create(
    *,
    actor,
    unit_code: str,
    level: int,
    name: str,
    email: str = "",
    webhook_url: str = "",
    min_priority: str = "high",
    active: bool = True,
) -> OnCallEntry:
    """Put someone (a person, a desk, a gateway) on call for a unit at an escalation level; audited."""
    unit = _roster_unit(actor, unit_code)
    entry = OnCallEntry(
        unit=unit,
        level=level,
        name=(name or "").strip(),
        email=(email or "").strip(),
        webhook_url=(webhook_url or "").strip(),
        min_priority=min_priority,
        active=active,
    )
    audited_create(actor=actor, obj=entry, unit_path=unit.path)
    return entry


@transaction.atomic
def oncall_update(*, actor, entry: OnCallEntry, changes: dict) -> bool:
    """Change an entry; a move to another unit needs the role at both places and is audited under both."""
    _require_roster(actor, entry.unit.path, loc=("path", "entry_id"))
    changes = dict(changes)
    old_unit = entry.unit
    if "unit" in changes:
        code = changes.pop("unit")
        new_unit = _roster_unit(actor, code.code if isinstance(code, Unit) else code)
        if new_unit.pk != old_unit.pk:
            changes["unit"] = new_unit
    for name in ("name", "email", "webhook_url"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
    new_path = changes["unit"].path if "unit" in changes else old_unit.path
    changed = audited_update(actor=actor, obj=entry, changes=changes, unit_path=new_path)
    if changed and entry.unit.pk != old_unit.pk:
        audit_record(
            actor=actor,
            action="move",
            obj=entry,
            unit_path=old_unit.path,
            before={"unit": old_unit.code},
            after={"unit": entry.unit.code},
        )
    return changed


@transaction.atomic
def oncall_delete(*, actor, entry: OnCallEntry) -> None:
    """Remove an entry; what was already sent to it stays in the outbox with its target."""
    _require_roster(actor, entry.unit.path, loc=("path", "entry_id"))
    audit_record(actor=actor, action="delete", obj=entry, unit_path=entry.unit.path, before=snapshot(entry))
    entry.delete()


# --- the outbox ------------------------------------------------------------------------------------------


def _path_prefixes(site_path: str) -> list[str]:
    """The site and its ancestors: "/G/A/A-M1/" → ["/G/", "/G/A/", "/G/A/A-M1/"]."""
    codes = [c for c in site_path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


@transaction.atomic(savepoint=False)
def notification_enqueue(
    *,
    event: str,
    site_path: str,
    priority: str,
    level: int,
    subject: str,
    body: str,
    payload: dict,
    source_ref: str = "",
) -> int:
    """Write a notification and one pending delivery per channel of every active on-call entry of the site or
    its ancestors at `level` whose lowest priority is at or below `priority`; returns how many deliveries.

    Call it inside the transaction that makes the event true (the alarm's): both commit or neither. No network
    I/O: one query when nobody is on call, three when someone is. The worker sends after the commit."""
    if priority not in PRIORITY_RANK:
        raise ValueError(f"unknown priority {priority!r}")
    rank = PRIORITY_RANK[priority]
    entries = list(
        OnCallEntry.objects.filter(
            active=True,
            level=level,
            unit__path__in=_path_prefixes(site_path),
            min_priority__in=[p for p, r in PRIORITY_RANK.items() if r <= rank],
        )
        .order_by("id")
        .values_list("id", "email", "webhook_url")
    )
    targets = [
        (entry_id, channel, target)
        for entry_id, email, webhook_url in entries
        for channel, target in ((Channel.EMAIL, email), (Channel.WEBHOOK, webhook_url))
        if target
    ]
    if not targets:
        return 0
    now = timezone.now()
    notification = Notification.objects.create(
        created_at=now,
        event=event,
        site_path=site_path,
        priority=priority,
        level=level,
        subject=_one_line(subject, 255),  # a mail header: one line
        body=body,
        payload=payload,
        source_ref=source_ref[:100],
    )
    Delivery.objects.bulk_create(
        [
            Delivery(
                notification=notification,
                entry_id=entry_id,
                channel=channel,
                target=target,
                next_attempt_at=now,
            )
            for entry_id, channel, target in targets
        ]
    )
    transaction.on_commit(wake.set)
    return len(targets)


# --- delivery ---------------------------------------------------------------------------------------------


def backoff_s(failures: int) -> int:
    """Seconds before the next attempt after `failures` failed attempts."""
    return BACKOFF_S[min(max(failures, 1), len(BACKOFF_S)) - 1]


def _lease_s(count: int) -> int:
    """How long a claim holds: long enough for `count` sends through the pool, each with a few timeouts."""
    rounds = math.ceil(count / max(1, settings.NOTIFY_SENDERS))
    return max(120, 4 * settings.NOTIFY_TIMEOUT_S * rounds)


def _claim(now: dt.datetime, count: int) -> tuple[str, list[Delivery]]:
    """Mark up to `count` due deliveries "sending" under a fresh token, in a short transaction. On PostgreSQL
    rows another worker is claiming are skipped (SKIP LOCKED); SQLite has one writer at a time. A "sending"
    row whose lease ran out (its worker died) is due again, and that lost attempt is journalled."""
    token = uuid.uuid4().hex
    due_q = Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], next_attempt_at__lte=now
    )
    if not due_q.exists():  # the usual round: a read, no write lock (SQLite's writer is ingest's)
        return token, []
    with transaction.atomic():
        due = list(
            due_q.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("id", "status", "attempts")[:count]
        )
        if not due:
            return token, []
        expired = [(pk, attempts) for pk, status, attempts in due if status == DeliveryStatus.SENDING]
        if expired:
            DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(
                    delivery_id=pk,
                    number=attempts + 1,
                    at=now,
                    ok=False,
                    error="the worker sending it stopped before recording the result; sending again",
                    duration_ms=0,
                )
                for pk, attempts in expired
            )
            Delivery.objects.filter(pk__in=[pk for pk, _ in expired]).update(attempts=F("attempts") + 1)
        Delivery.objects.filter(pk__in=[pk for pk, _, _ in due]).update(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            next_attempt_at=now + dt.timedelta(seconds=_lease_s(len(due))),
        )
    claimed = list(Delivery.objects.filter(claim_token=token).select_related("notification").order_by("id"))
    return token, claimed


def _outgoing(delivery: Delivery) -> channels.Outgoing:
    n = delivery.notification
    document = {
        "delivery": delivery.id,
        "notification": n.id,
        "event": n.event,
        "created_at": n.created_at.isoformat(),
        "site_path": n.site_path,
        "priority": n.priority,
        "level": n.level,
        "subject": n.subject,
        "body": n.body,
        "source_ref": n.source_ref,
        "payload": n.payload,
    }
    return channels.Outgoing(delivery.id, delivery.channel, delivery.target, n.subject, n.body, document)


def _timed_send(out: channels.Outgoing) -> tuple[str | None, int]:
    started = time.monotonic()
    error = channels.send(out)
    return error, int((time.monotonic() - started) * 1000)


def _record(delivery: Delivery, token: str, error: str | None, duration_ms: int, at: dt.datetime) -> str:
    """Journal the attempt and move the delivery on (sent, retry later, or failed); returns the new status."""
    number = delivery.attempts + 1
    if error is None:
        changes = {"status": DeliveryStatus.SENT, "sent_at": at, "last_error": ""}
    elif number >= settings.NOTIFY_MAX_ATTEMPTS:
        changes = {"status": DeliveryStatus.FAILED, "last_error": error}
    else:
        changes = {
            "status": DeliveryStatus.PENDING,
            "last_error": error,
            "next_attempt_at": at + dt.timedelta(seconds=backoff_s(number)),
        }
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery_id=delivery.id,
            number=number,
            at=at,
            ok=error is None,
            error=error or "",
            duration_ms=duration_ms,
        )
        updated = Delivery.objects.filter(
            pk=delivery.id, status=DeliveryStatus.SENDING, claim_token=token
        ).update(attempts=number, claim_token="", **changes)
    if not updated:  # the lease ran out and another worker took over; this attempt is journalled anyway
        log.warning("delivery %d: claim lost while sending; its result is journalled only", delivery.id)
        return DeliveryStatus.SENDING
    if changes["status"] == DeliveryStatus.FAILED:
        log.error(
            "delivery %d (%s) failed for good after %d attempts: %s",
            delivery.id,
            delivery.channel,
            number,
            error,
        )
    return changes["status"]


def notifications_deliver(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send up to `limit` due deliveries; returns how many attempts were made. Sending happens outside any
    transaction, several at a time; each result is recorded in its own short transaction. Pass `now` to run
    the clock of a round by hand (tests): due-ness, leases, backoff and the journal use it."""
    attempted = 0
    with ThreadPoolExecutor(
        max_workers=max(1, settings.NOTIFY_SENDERS), thread_name_prefix="notify-send"
    ) as pool:
        while attempted < limit:
            token, claimed = _claim(now or timezone.now(), min(CLAIM_CHUNK, limit - attempted))
            if not claimed:
                break
            results = pool.map(_timed_send, [_outgoing(d) for d in claimed])
            for delivery, (error, duration_ms) in zip(claimed, results, strict=True):
                _record(delivery, token, error, duration_ms, now or timezone.now())
            attempted += len(claimed)
    return attempted
