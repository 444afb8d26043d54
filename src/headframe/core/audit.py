"""Writing audit rows. Services call `audit_record` inside their own transaction.atomic block, so the
change and its audit row commit or roll back together."""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from headframe.core.actors import is_user
from headframe.core.models import AuditEntry

if TYPE_CHECKING:
    from headframe.core.actors import Actor

# Which door a write came through: web, api, cli, admin, system. Set once per request or command.
current_channel: contextvars.ContextVar[str] = contextvars.ContextVar("headframe_channel", default="system")


@contextmanager
def channel(name: str) -> Iterator[None]:
    token = current_channel.set(name)
    try:
        yield
    finally:
        current_channel.reset(token)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Concrete field values of obj, by attribute name (foreign keys as their id), JSON-ready."""
    names = set(fields) if fields is not None else None
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if names is not None and f.name not in names and f.attname not in names:
            continue
        if f.name in {"password"}:
            continue
        if f.is_relation and getattr(obj, f.attname) is not None:
            # Auditors read codes, not database ids: a unit's parent shows as "NDA-M1", not 358.
            related = getattr(obj, f.name)
            data[f.name] = _jsonable(
                getattr(related, "code", None) or getattr(related, "username", None) or related.pk
            )
            continue
        data[f.name] = _jsonable(getattr(obj, f.attname))
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    unit_path: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the service's transaction.atomic block")
    entry = audit_entry(
        actor=actor,
        action=action,
        obj=obj,
        unit_path=unit_path,
        before=before,
        after=after,
        object_repr=object_repr,
    )
    entry.save()
    return entry


def audit_entry(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    unit_path: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """An unsaved audit row, for services that write many rows at once (see audit_record_many)."""
    return AuditEntry(
        actor=actor if is_user(actor) else None,
        actor_name=getattr(actor, "username", "") or "system",
        channel=current_channel.get(),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=(object_repr or str(obj))[:200],
        unit_path=unit_path,
        before=before,
        after=after,
    )


def audit_record_many(entries: list[AuditEntry]) -> None:
    """Insert many audit rows in one statement, inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record_many must run inside the service's transaction.atomic block")
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
