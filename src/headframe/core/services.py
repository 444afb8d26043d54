"""Audited create/update used by every app's services: validate, save, and write the audit row in one
transaction. Callers check permissions first; these helpers only guarantee "valid and audited or nothing"."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from headframe.core.audit import audit_record, diff, snapshot
from headframe.core.errors import Conflict, ValidationFailed


def validate(obj: models.Model, *, exclude: list[str] | None = None, loc: tuple = ("body",)) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed.from_django(exc, prefix=loc) from None


def _save(obj: models.Model, **kwargs) -> None:
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError as exc:
        # full_clean catches the usual duplicates; this is the race where two writers pass it at once.
        raise Conflict(f"{obj._meta.verbose_name} conflicts with a concurrent change: {exc}") from None


@transaction.atomic
def audited_create(*, actor, obj: models.Model, unit_path: str, loc: tuple = ("body",)) -> models.Model:
    validate(obj, loc=loc)
    _save(obj)
    audit_record(actor=actor, action="create", obj=obj, unit_path=unit_path, after=snapshot(obj))
    return obj


@transaction.atomic
def audited_update(
    *, actor, obj: models.Model, changes: dict, unit_path: str, action: str = "update", loc: tuple = ("body",)
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
