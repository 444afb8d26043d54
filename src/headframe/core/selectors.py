"""Reads of the audit log, always within the caller's scope; the keyset pagination list endpoints share."""

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
    """Newest first, keyset-paginated by id (keyset_page).

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
    rows, next_cursor = keyset_page(qs, before=before, limit=max(1, min(limit, MAX_PAGE)))
    return AuditPage(rows, next_cursor)


def keyset_page(qs: QuerySet, *, before: int | None, limit: int) -> tuple[list, int | None]:
    """Newest first, keyset-paginated by id (stable while new rows keep arriving): at most `limit` rows with
    an id below `before` (any, without it) and the cursor of the next, older page (None on the last one)."""
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].pk if has_more else None
