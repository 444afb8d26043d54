"""Reads of the audit log, always within the caller's scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from headframe.core.models import AuditEntry

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None  # pass as `before` to get the next (older) page


def audit_page(
    scope_q,
    *,
    unit_path: str | None = None,
    username: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    object_type: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, keyset-paginated by id (stable while new rows keep arriving).

    scope_q is the caller's scope as a filter on `unit_path` (org.selectors.Scope.q(Perm.AUDIT, "unit_path")).
    """
    qs: QuerySet[AuditEntry] = AuditEntry.objects.filter(scope_q)
    if unit_path:
        qs = qs.filter(unit_path__startswith=unit_path)
    if username:
        qs = qs.filter(actor_name=username)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if before:
        qs = qs.filter(id__lt=before)
    limit = max(1, min(limit, MAX_PAGE))
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if has_more else None)
