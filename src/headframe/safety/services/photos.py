"""Photos on an inspection item, a finding (evidence) or an incident: stored by content hash, read back."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create
from headframe.core.text import hidden_character
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety import selectors
from headframe.safety.images import check_photo
from headframe.safety.models import FindingStatus, Photo
from headframe.safety.services._common import _actor, _editable, _store, media_root


@transaction.atomic
def photo_add(
    *,
    actor,
    content: bytes,
    filename: str = "",
    inspection_id: int | None = None,
    item_code: str = "",
    finding_id: int | None = None,
    incident_id: int | None = None,
    now=None,
) -> Photo:
    """Attach a photo to an inspection item, a finding (evidence) or an incident. Type is read from the
    bytes (JPEG/PNG/WebP), size is capped (SAFETY_PHOTO_MAX_BYTES, default 8 MB)."""
    now = now or timezone.now()
    # The name is only shown: hidden characters (a right-to-left override turning "gpj.exe" around) are dropped.
    name = "".join(c for c in (filename or "") if hidden_character(c) is None)[:200]
    photo = Photo(original_name=name, uploaded_by=_actor(actor), uploaded_at=now)
    if inspection_id is not None:
        inspection = selectors.inspection_get(actor, inspection_id, Perm.SAFETY)
        _editable(inspection)
        item = None
        if item_code:
            item = inspection.template.items.filter(code=item_code).first()
            if item is None:
                raise ValidationFailed(
                    loc=("body", "item"),
                    type="unknown_item",
                    params={"item": repr(item_code), "template": str(inspection.template)},
                    key="unknown_item.in_template",
                )
        photo.inspection, photo.item, photo.unit = inspection, item, inspection.position
    elif finding_id is not None:
        finding = selectors.finding_get(actor, finding_id, Perm.VIEW)
        if not selectors.may_report_or_inspect(scope_for(actor), finding.position.path):
            raise PermissionDenied(
                loc=("path", "id"), key="permission_denied.evidence", params={"unit": finding.position.code}
            )
        if finding.status == FindingStatus.CLOSED:
            raise Conflict(loc=("path", "id"), type="closed", params={}, key="closed.finding")
        photo.finding, photo.unit = finding, finding.position
    elif incident_id is not None:
        incident = selectors.incident_get(actor, incident_id, Perm.VIEW)
        if not selectors.may_report_or_inspect(scope_for(actor), incident.unit.path):
            raise PermissionDenied(
                loc=("path", "id"), key="permission_denied.photos", params={"unit": incident.unit.code}
            )
        photo.incident, photo.unit = incident, incident.unit
    else:
        raise ValidationFailed(loc=("body",), type="missing", params={}, key="missing.photo_target")
    content_type, ext = check_photo(content)
    photo.sha256, photo.path = _store(content, ext)
    photo.content_type, photo.size = content_type, len(content)
    audited_create(actor=actor, obj=photo, unit_path=photo.unit.path)
    return photo


def photo_path(photo: Photo) -> Path:
    return media_root() / photo.path


def photo_open(photo: Photo):
    """The photo's file, open for reading; NotFound (404) if it is gone from the media folder (restored from
    an older backup, removed by hand) — the record stays, the page and the API say so instead of failing."""
    try:
        return open(photo_path(photo), "rb")  # the response closes it
    except OSError:
        raise NotFound(
            loc=("path", "photo_id"),
            type="photo_file_missing",
            params={"id": str(photo.pk)},
            key="photo_file_missing.id",
        ) from None
