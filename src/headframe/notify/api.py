"""Notify endpoints under /api/v1/notify/: on-call rosters and the delivery log. Parse → service → serialise."""

from __future__ import annotations

from ninja import Field, Query, Router, Schema, Status

from headframe.core.errors import ValidationFailed
from headframe.notify import selectors, services
from headframe.notify.models import Delivery, DeliveryStatus, OnCallEntry
from headframe.notify.schemas import DeliveryPageOut, OnCallIn, OnCallOut, OnCallPatchIn, StatusLiteral
from headframe.org.selectors import unit_get

router = Router(tags=["notifications"])


def _entry_out(user, entry: OnCallEntry) -> dict:
    editable = services.roster_editable(user, entry.unit.path)
    return {
        "id": entry.id,
        "unit": entry.unit.code,
        "unit_path": entry.unit.path,
        "level": entry.level,
        "name": entry.name,
        "email": entry.email,
        "webhook_url": entry.webhook_url if editable else selectors.redacted_url(entry.webhook_url),
        "min_priority": entry.min_priority,
        "active": entry.active,
        "editable": editable,
    }


class OnCallFilter(Schema):
    unit: str | None = Field(None, description="unit code: the entries of its whole subtree")


@router.get("/on-call", response=list[OnCallOut], summary="On-call rosters of the units you may see")
def oncall_list(request, filters: Query[OnCallFilter]):
    under = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    return [_entry_out(request.user, e) for e in selectors.oncall_visible(request.user, under=under)]


@router.post("/on-call", response={201: OnCallOut}, summary="Put someone on call for a unit")
def oncall_create(request, payload: OnCallIn):
    entry = services.oncall_create(
        actor=request.user, unit_code=payload.unit, **payload.dict(exclude={"unit"})
    )
    return Status(201, _entry_out(request.user, entry))


@router.get("/on-call/{entry_id}", response=OnCallOut, summary="One on-call entry")
def oncall_detail(request, entry_id: int):
    return _entry_out(request.user, selectors.oncall_get(request.user, entry_id))


@router.patch("/on-call/{entry_id}", response=OnCallOut, summary="Change an on-call entry")
def oncall_patch(request, entry_id: int, payload: OnCallPatchIn):
    entry = selectors.oncall_get(request.user, entry_id)
    changes = payload.dict(exclude_unset=True)
    for name in ("unit", "level", "name", "min_priority", "active"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(loc=("body", name), type="null", params={"field": name}, key="null.field")
    for name in ("email", "webhook_url"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    services.oncall_update(actor=request.user, entry=entry, changes=changes)
    return _entry_out(request.user, entry)


@router.delete("/on-call/{entry_id}", response={204: None}, summary="Take an entry off the roster")
def oncall_remove(request, entry_id: int):
    services.oncall_delete(actor=request.user, entry=selectors.oncall_get(request.user, entry_id))
    return Status(204, None)


class DeliveryFilter(Schema):
    unit: str | None = Field(None, description="unit code: deliveries for sites in its subtree")
    status: StatusLiteral | None = None
    source: str | None = Field(None, description='what caused it, e.g. "alarm:123"')
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=selectors.MAX_PAGE)


def _delivery_out(d: Delivery) -> dict:
    n = d.notification
    return {
        "id": d.id,
        "notification": n.id,
        "event": n.event,
        "source_ref": n.source_ref,
        "site_path": n.site_path,
        "priority": n.priority,
        "level": n.level,
        "subject": n.subject,
        "created_at": n.created_at,
        "entry": d.entry.name if d.entry is not None else None,
        "channel": d.channel,
        "target": d.target if d.channel == "email" else selectors.redacted_url(d.target),
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        "last_error": d.last_error,
        "sent_at": d.sent_at,
    }


@router.get("/deliveries", response=DeliveryPageOut, summary="Notification deliveries, newest first")
def deliveries(request, filters: Query[DeliveryFilter]):
    under = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    page = selectors.deliveries_visible(
        request.user,
        under=under,
        status=filters.status,
        source_ref=filters.source,
        before=filters.before,
        limit=filters.limit + 1,
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {"items": [_delivery_out(d) for d in page], "next_cursor": page[-1].id if more else None}
