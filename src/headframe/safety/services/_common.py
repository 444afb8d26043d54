"""Helpers shared by the safety services: the acting user, scope checks, clean text, audit rows filed at
several places, the inspection lock and the photo store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from headframe.core.audit import audit_record
from headframe.core.errors import Conflict, NotFound, PermissionDenied
from headframe.core.text import check_clean_text
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety.messages import both_languages
from headframe.safety.models import Inspection, InspectionStatus


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _visible(actor, unit: Unit, perm: str, *, loc: tuple, key: str = "") -> None:
    """404 when the unit is outside the actor's view, 403 when visible without perm (`key`: the catalogue's
    message for the refusal, with the unit as {unit})."""
    scope = scope_for(actor)
    if not scope.allows(Perm.VIEW, unit.path):
        raise NotFound(loc=loc, key="not_found.unit", params={"unit": repr(unit.code)})
    if not scope.allows(perm, unit.path):
        if key:
            raise PermissionDenied(loc=loc, key=key, params={"unit": unit.code})
        raise PermissionDenied(
            loc=loc,
            key="permission_denied.perm_for",
            params={"action": both_languages(Perm(perm).label), "unit": unit.code},
        )


def _clean_texts(texts: dict, *, loc: tuple = ("body",), multiline: Iterable[str] = ()) -> None:
    """Refuse NUL, control, bidi-override and zero-width characters in names and free text ({field: text});
    fields named in `multiline` may hold line breaks and tabs."""
    multiline = set(multiline)
    for name, text in texts.items():
        check_clean_text(text, loc=(*loc, name), multiline=name in multiline, label=name)


def _audit_also(actor, *, obj, primary: str, paths: Iterable[str], action: str, after: dict) -> None:
    """A write that touches other places as well (a campaign over several units, an incident linked to
    findings elsewhere): each place's auditors get the row, unless they already see the primary one (an
    auditor of a place sees the rows filed under it and below)."""
    for path in sorted(set(paths)):
        if path and not primary.startswith(path):
            audit_record(actor=actor, action=action, obj=obj, unit_path=path, after=after)


def _editable(inspection: Inspection) -> None:
    """Lock the inspection row for the rest of the transaction and check, on its current state, that it is
    still open: the tablet saves in the background while the inspector may press "Sign", and two writers
    must not both insert the same answer (nor write answers into an inspection just signed)."""
    inspection.status = (
        Inspection.objects.select_for_update().values_list("status", flat=True).get(pk=inspection.pk)
    )
    if inspection.status != InspectionStatus.PENDING:
        raise Conflict(
            loc=("path", "id"),
            type="signed",
            params={"id": str(inspection.pk)},
            key="signed.inspection",
        )


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _store(content: bytes, ext: str) -> tuple[str, str]:
    digest = hashlib.sha256(content).hexdigest()
    relative = f"safety/{digest[:2]}/{digest}.{ext}"
    target = media_root() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(content)
        os.replace(tmp, target)
    return digest, relative
