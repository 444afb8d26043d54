"""The lamp room: checking people in at a mine (with the refusals and the overman's override) and out."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.errors import Conflict, ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.formatting import LOCAL_TZ
from headframe.core.messages import named
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.selectors import calendar_for
from headframe.workforce.models import (
    UNDERGROUND_HEALTH_CLASSES,
    Certificate,
    Course,
    Presence,
    RosterEntry,
    Worker,
)
from headframe.workforce.rules import roster_days
from headframe.workforce.services._common import actor_user, person, unit_by_code, worker_by_tag
from headframe.workforce.services.overdue import overdue_clear

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}
TAG_LOC = ("body", "tag_no")
SITE_LOC = ("body", "site_code")


class CheckInRefused(Conflict):
    """The person may not go underground: every reason found, one item each (codes not_rostered,
    training_lapsed, health_class). HTTP 409."""

    default_type = "checkin_refused"


def _site(actor, site_code: str) -> Unit:
    site = unit_by_code(actor, site_code, Perm.LAMP_ROOM, loc=SITE_LOC, key="permission_denied.lamp_room")
    if site.kind != UnitKind.SITE:
        raise ValidationFailed(
            loc=SITE_LOC, type="not_a_site", key="not_a_site.named", params={"unit": site.code}
        )
    return site


def _moment(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationFailed(loc=("body", "at"), type="naive_time")
    return at


def refusals(worker: Worker, site: Unit, at: dt.datetime) -> list[ErrorItem]:
    """Every reason the worker may not go underground at the site at `at` (empty: may go)."""
    items: list[ErrorItem] = []
    who = person(worker)
    if not RosterEntry.objects.filter(
        worker=worker, day__in=roster_days(calendar_for(site), at), position__path__startswith=site.path
    ).exists():
        items.append(
            ErrorItem(
                TAG_LOC,
                type="not_rostered",
                key="not_rostered.today",
                params={"worker": who, "site": named(site)},
            )
        )
    today = at.astimezone(LOCAL_TZ).date()
    required = list(Course.objects.filter(required_underground=True).order_by("code"))
    certificates: dict[int, list[Certificate]] = {}
    for certificate in Certificate.objects.filter(worker=worker, course__in=required).order_by("-passed_on"):
        certificates.setdefault(certificate.course_id, []).append(certificate)
    for course in required:
        held = [c for c in certificates.get(course.pk, []) if c.passed_on <= today]
        if any(c.expires_on is None or c.expires_on >= today for c in held):
            continue
        if held:
            expired = max(c.expires_on for c in held if c.expires_on is not None)
            items.append(
                ErrorItem(
                    TAG_LOC,
                    type="training_lapsed",
                    key="training_lapsed.expired",
                    params={"worker": who, "course": named(course), "expired": expired},
                )
            )
        else:
            items.append(
                ErrorItem(
                    TAG_LOC,
                    type="training_lapsed",
                    key="training_lapsed.missing",
                    params={"worker": who, "course": named(course)},
                )
            )
    if worker.health_class not in UNDERGROUND_HEALTH_CLASSES:
        items.append(
            ErrorItem(
                TAG_LOC,
                type="health_class",
                key="health_class.underground",
                params={"worker": who, "health_class": ROMAN.get(worker.health_class, worker.health_class)},
            )
        )
    return items


@transaction.atomic
def check_in(
    *, actor, tag_no: str, site_code: str, at: dt.datetime | None = None, override_reason: str = ""
) -> Presence:
    """Check the person carrying `tag_no` in at the mine. Unknown tag (or another company's): 404 unknown_tag;
    already underground anywhere: 409 already_underground; then every refusal at once (not rostered today at a
    position of the mine, a mandatory course lapsed or missing, health class IV–VI): 409 CheckInRefused, unless
    `override_reason` is given and the actor holds the override on the mine (an overman): the presence then
    records who let the person down, why, and the refusals overridden. Needs the lamp-room permission."""
    site = _site(actor, site_code)
    moment = _moment(at)
    worker = worker_by_tag(tag_no, site)
    Worker.objects.select_for_update().filter(pk=worker.pk).first()  # one check-in of a person at a time
    open_presence = (
        Presence.objects.filter(worker=worker, checked_out_at__isnull=True).select_related("site").first()
    )
    if open_presence is not None:
        raise Conflict(
            loc=TAG_LOC,
            type="already_underground",
            key="already_underground.since",
            params={
                "worker": person(worker),
                "site": named(open_presence.site),
                "since": open_presence.checked_in_at,
            },
        )
    found = refusals(worker, site, moment)
    reason = (override_reason or "").strip()
    if found and not reason:
        raise CheckInRefused(items=found)
    overridden = bool(found)
    if overridden and not scope_for(actor).allows(Perm.CHECKIN_OVERRIDE, site.path):
        raise PermissionDenied(
            loc=("body", "override_reason"),
            key="permission_denied.checkin_override",
            params={"unit": site.code},
        )
    user = actor_user(actor)
    try:
        with transaction.atomic():
            presence = Presence.objects.create(
                worker=worker,
                site=site,
                checked_in_at=moment,
                checked_in_by=user,
                override_by=user if overridden else None,
                override_reason=reason if overridden else "",
                refusals=[{"type": item.type, "msg": item.msg} for item in found] if overridden else [],
            )
    except IntegrityError:  # a concurrent check-in of the same person won
        raise Conflict(loc=TAG_LOC, type="already_underground") from None
    after = {"event": "check_in", "worker": worker.employee_no, "site": site.code, "at": moment.isoformat()}
    if overridden:
        after |= {"override": True, "override_reason": reason, "refusals": presence.refusals}
    audit_record(actor=actor, action="create", obj=presence, unit_path=site.path, after=after)
    return presence


@transaction.atomic
def check_out(*, actor, tag_no: str, site_code: str, at: dt.datetime | None = None) -> Presence:
    """Check the person carrying `tag_no` out of the mine: 409 not_underground when not checked in there."""
    site = _site(actor, site_code)
    moment = _moment(at)
    worker = worker_by_tag(tag_no, site)
    presence = (
        Presence.objects.select_for_update()
        .filter(worker=worker, site=site, checked_out_at__isnull=True)
        .first()
    )
    if presence is None:
        raise Conflict(
            loc=TAG_LOC,
            type="not_underground",
            key="not_underground.at",
            params={"worker": person(worker), "site": named(site)},
        )
    if moment < presence.checked_in_at:
        raise ValidationFailed(
            loc=("body", "at"),
            type="period_order",
            key="period_order.check_out",
            params={"at": moment, "since": presence.checked_in_at},
        )
    presence.checked_out_at = moment
    presence.checked_out_by = actor_user(actor)
    presence.save(update_fields=["checked_out_at", "checked_out_by"])
    overdue_clear(presence_id=presence.pk, site=site)  # an overdue alarm returns at once
    audit_record(
        actor=actor,
        action="update",
        obj=presence,
        unit_path=site.path,
        after={
            "event": "check_out",
            "worker": worker.employee_no,
            "site": site.code,
            "at": moment.isoformat(),
        },
    )
    return presence
