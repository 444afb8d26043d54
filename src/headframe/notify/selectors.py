"""Reads of the notify app, filtered by what the caller may see: rosters and deliveries of the units in view."""

from __future__ import annotations

import urllib.parse

from django.db.models import QuerySet

from headframe.core.errors import NotFound
from headframe.notify.models import Delivery, OnCallEntry
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for

MAX_PAGE = 500


def oncall_visible(user, *, under: Unit | None = None) -> QuerySet[OnCallEntry]:
    """The on-call entries of the units the user may view (operators see who will be called)."""
    qs = OnCallEntry.objects.filter(scope_for(user).q(Perm.VIEW, "unit__path")).select_related("unit")
    if under is not None:
        qs = qs.filter(unit__path__startswith=under.path)
    return qs.order_by("unit__path", "level", "name", "id")


def oncall_get(user, entry_id: int) -> OnCallEntry:
    entry = oncall_visible(user).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(loc=("path", "entry_id"), key="not_found.oncall_entry", params={"id": str(entry_id)})
    return entry


def deliveries_visible(
    user,
    *,
    under: Unit | None = None,
    status: str | None = None,
    source_ref: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """Deliveries of the sites in view, newest first; a cursor page (ids below `before`)."""
    qs = Delivery.objects.filter(scope_for(user).q(Perm.VIEW, "notification__site_path")).select_related(
        "notification", "entry"
    )
    if under is not None:
        qs = qs.filter(notification__site_path__startswith=under.path)
    if status:
        qs = qs.filter(status=status)
    if source_ref:
        qs = qs.filter(notification__source_ref=source_ref)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return list(qs.order_by("-id")[: min(limit, MAX_PAGE)])


def redacted_url(url: str) -> str:
    """A webhook URL as readers who may not edit it see it: scheme and host only (chat and SMS gateways put
    their secret in the path or the query)."""
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    rest = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment or parts.username) else "/"
    return f"{parts.scheme}://{host}{rest}"
