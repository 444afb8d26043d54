"""Inspections, their answers and photos, and the form's progress counter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety.models import Campaign, ChecklistTemplate, Finding, Inspection, Photo, TemplateItem
from headframe.safety.rules import is_answered
from headframe.safety.selectors._common import _allow_at


def inspection_get(user, inspection_id: int, perm: str = Perm.VIEW) -> Inspection:
    """404 when the inspection's position is outside the user's view, 403 when visible without perm."""
    inspection = (
        Inspection.objects.filter(pk=inspection_id)
        .select_related("position", "campaign", "template", "signed_by", "countersigned_by")
        .first()
    )
    _allow_at(
        user, inspection.position if inspection else None, perm, missing="inspection", ident=inspection_id
    )
    return inspection


def inspections_of(campaign: Campaign, user) -> QuerySet[Inspection]:
    return (
        Inspection.objects.filter(campaign=campaign)
        .filter(scope_for(user).q(Perm.VIEW, "position__path"))
        .select_related("position", "template", "signed_by", "countersigned_by")
        .order_by("position__path", "sequence")
    )


def answers_by_item(inspection: Inspection) -> dict[int, object]:
    return {a.item_id: a for a in inspection.answers.all()}


def answered_item_codes(inspection: Inspection) -> frozenset[str]:
    """Codes of the items that have an answer stored."""
    return frozenset(a.item.code for a in inspection.answers.select_related("item"))


def template_items(template: ChecklistTemplate) -> QuerySet[TemplateItem]:
    return template.items.all()


def inspection_findings(inspection: Inspection) -> QuerySet[Finding]:
    """The findings an inspection raised, in the order they were raised."""
    return inspection.findings.all().order_by("id")


def photos_by_item(inspection: Inspection) -> dict[int, list[Photo]]:
    out = defaultdict(list)
    for photo in inspection.photos.all():
        out[photo.item_id].append(photo)
    return out


def photo_get(user, photo_id: int) -> Photo:
    photo = Photo.objects.filter(pk=photo_id).select_related("unit").first()
    _allow_at(user, photo.unit if photo else None, Perm.VIEW, missing="photo")
    return photo


def site_of(position: Unit) -> Unit | None:
    """The site (mine) a work position belongs to, if any."""
    codes = position.path.strip("/").split("/")
    return Unit.objects.filter(code__in=codes, kind=UnitKind.SITE).first()


@dataclass(frozen=True)
class InspectionProgress:
    answered: int
    total: int


def inspection_progress(inspection: Inspection) -> InspectionProgress:
    """Items answered out of all items (a photo item counts once it has a photo), for the form's counter."""
    answers = {a.item_id: a for a in inspection.answers.all()}
    photo_items = set(inspection.photos.exclude(item=None).values_list("item_id", flat=True))
    items = list(inspection.template.items.all())
    answered = sum(is_answered(i, answers.get(i.pk), photo_items) for i in items)
    return InspectionProgress(answered=answered, total=len(items))


def item_photos(inspection: Inspection) -> dict[int, list[Photo]]:
    """Photos by item id (None: on the inspection as a whole), the drawn signature left out."""
    out: dict = {}
    for photo in inspection.photos.exclude(pk=inspection.signature_id or 0).order_by("id"):
        out.setdefault(photo.item_id, []).append(photo)
    return out
