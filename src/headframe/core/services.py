"""Audited create/update used by every app's services: validate, save, and write the audit row in one
transaction. Callers check permissions first; these helpers only guarantee "valid and audited or nothing"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import translation

from headframe.core.audit import audit_record, diff, snapshot
from headframe.core.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from headframe.core.actors import Actor

M = TypeVar("M", bound=models.Model)


def validate(
    obj: models.Model, *, exclude: list[str] | None = None, loc: tuple[str | int, ...] = ("body",)
) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed.from_django(exc, prefix=loc) from None


def _save(obj: models.Model, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError as exc:
        # full_clean catches the usual duplicates; this is the race where two writers pass it at once.
        record: dict[str, str] = {}
        for language in ("vi", "en"):
            with translation.override(language):
                record[language] = str(obj._meta.verbose_name)
        raise Conflict(
            params={"record": record, "detail": str(exc)}, key="conflict.concurrent_change"
        ) from None


@transaction.atomic
def audited_create(*, actor: Actor, obj: M, unit_path: str, loc: tuple[str | int, ...] = ("body",)) -> M:
    validate(obj, loc=loc)
    _save(obj)
    audit_record(actor=actor, action="create", obj=obj, unit_path=unit_path, after=snapshot(obj))
    return obj


@transaction.atomic
def audited_delete(*, actor: Actor, obj: models.Model, unit_path: str) -> None:
    """Delete obj, its last values kept in the audit log (what cached pages key on moves too)."""
    audit_record(actor=actor, action="delete", obj=obj, unit_path=unit_path, before=snapshot(obj))
    obj.delete()


@transaction.atomic
def audited_update(
    *,
    actor: Actor,
    obj: models.Model,
    changes: dict[str, Any],
    unit_path: str,
    action: str = "update",
    loc: tuple[str | int, ...] = ("body",),
) -> bool:
    """Apply changes; returns False (and writes nothing) when they change nothing — re-sending is idempotent."""
    before = snapshot(obj)
    for name, value in changes.items():
        setattr(obj, name, value)
    changed_before, changed_after = diff(before, snapshot(obj))
    if not changed_after:
        return False
    validate(obj, loc=loc)
    _save(obj)
    audit_record(
        actor=actor, action=action, obj=obj, unit_path=unit_path, before=changed_before, after=changed_after
    )
    return True
