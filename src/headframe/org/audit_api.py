"""Audit log browsing: GET /api/v1/audit."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from headframe.core.dates import Moment
from headframe.core.errors import NotFound
from headframe.core.models import AuditEntry
from headframe.core.selectors import MAX_PAGE, audit_page
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get

if TYPE_CHECKING:
    from django.db.models import Q

    from headframe.core.actors import Actor

router = Router(tags=["audit"])


class AuditFilter(Schema):
    unit: str | None = Field(None, description="unit code: entries for its whole subtree")
    user: str | None = Field(None, description="username of the actor")
    since: Moment | None = Field(None, alias="from", description="ISO-8601, inclusive")
    until: Moment | None = Field(None, alias="to", description="ISO-8601, exclusive")
    object_type: str | None = Field(None, description="e.g. org.unit")
    before: int | None = Field(
        None, ge=1, le=2**63 - 1, description="cursor: next_cursor of the previous page"
    )
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    user: str
    channel: str
    action: str
    object_type: str
    object_id: str
    object: str
    unit_path: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPageOut(Schema):
    items: list[AuditEntryOut]
    next_cursor: int | None


def _check_user_known(user: Actor, username: str, scope_q: Q) -> None:
    """A user name the caller may know: someone holding a role where the caller audits, or an actor of an entry
    the caller may read. Any other name — another company's user or nobody — is the same 404."""
    scope = scope_for(user)
    holds_role = (
        get_user_model()
        ._default_manager.filter(username=username)
        .filter(scope.q(Perm.AUDIT, "role_assignments__unit__path"))
        .exists()
    )
    if not holds_role and not AuditEntry.objects.filter(scope_q, actor_name=username).exists():
        raise NotFound(loc=("query", "user"), key="not_found.user", params={"user": repr(username)})


@router.get("", response=AuditPageOut, summary="Browse the audit log (newest first)")
def audit_list(request: HttpRequest, filters: Query[AuditFilter]) -> dict[str, Any]:
    unit_path = (
        unit_get(request.user, filters.unit, Perm.AUDIT, loc=("query", "unit")).path if filters.unit else None
    )
    scope_q = scope_for(request.user).q(Perm.AUDIT, "unit_path")
    if filters.user:
        _check_user_known(request.user, filters.user, scope_q)
    page = audit_page(
        scope_q,
        unit_path=unit_path,
        username=filters.user,
        since=filters.since,
        until=filters.until,
        object_type=filters.object_type,
        before=filters.before,
        limit=filters.limit,
    )
    items = [
        {
            "id": e.id,
            "at": e.at,
            "user": e.actor_name,
            "channel": e.channel,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "object": e.object_repr,
            "unit_path": e.unit_path,
            "before": e.before,
            "after": e.after,
        }
        for e in page.entries
    ]
    return {"items": items, "next_cursor": page.next_cursor}
