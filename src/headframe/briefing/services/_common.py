"""Helpers shared by the briefing services: scope checks, text and day checks, audit of a second place, the
chair, person and indicator look-ups, the closed-meeting guard."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from headframe.briefing.messages import label
from headframe.briefing.models import Meeting, MeetingStatus
from headframe.core.audit import audit_record
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, PermissionDenied, ValidationFailed
from headframe.core.text import check_clean_text
from headframe.org.models import Person, Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.models import Indicator


def _allowed(actor, perms: Iterable[str], path: str) -> bool:
    scope = scope_for(actor)
    return any(scope.allows(p, path) for p in perms)


def _require(
    actor, perms: Iterable[str], path: str, *, key: str, params: dict | None = None, loc=("body",)
) -> None:
    """`key`: the catalogue message (permission_denied.<what>) saying what the actor may not do."""
    if not _allowed(actor, perms, path):
        raise PermissionDenied(loc=loc, type="permission_denied", key=key, params=params or {})


# Free text (several lines allowed) vs names and titles (one line): both refuse NUL, bidi overrides and
# zero-width characters (headframe.core.text).
MULTILINE_FIELDS = {"narrative_vi", "narrative_en", "attendees", "text", "evidence", "comment", "description"}


def _clean_texts(texts: dict, *, loc: tuple = ("body",)) -> None:
    """Refuse hidden or control characters in the given fields ({field: text}); loc is the body's prefix."""
    for name, text in texts.items():
        check_clean_text(text, loc=(*loc, name), multiline=name in MULTILINE_FIELDS, label=name)


def _check_days(days: dict, *, loc: tuple = ("body",)) -> None:
    for name, day in days.items():
        check_day(day, loc=(*loc, name))


def _on_line(a: Unit, b: Unit) -> bool:
    """One unit lies in the other's subtree (or they are the same unit)."""
    return a.path.startswith(b.path) or b.path.startswith(a.path)


def _also_audit(actor, *, obj, primary: str, paths: Iterable[str], after: dict, action: str = "link") -> None:
    """A write that touches another place as well: its auditors get the row too, unless they already see the
    primary one (an auditor of a place sees the rows filed under it and below)."""
    for path in sorted(set(paths)):
        if path and not primary.startswith(path):
            audit_record(actor=actor, action=action, obj=obj, unit_path=path, after=after)


def _chair(actor, chair, unit: Unit, *, loc: tuple = ("body", "chair")):
    """The chair is a user (or username) who may see the meeting's unit: the chair runs the meeting and sees
    its pack. Anyone else is refused like an unknown user (who exists elsewhere is not revealed)."""
    if chair in (None, ""):
        return None
    user = chair
    if not getattr(chair, "pk", None):
        user = get_user_model().objects.filter(username=str(chair), is_active=True).first()
    name = getattr(user, "username", None) or str(chair)
    if user is None or not user.is_active or not scope_for(user).allows(Perm.VIEW, unit.path):
        raise ValidationFailed(
            loc=loc,
            type="unknown_user",
            params={"user": repr(name), "unit": unit.code},
            key="unknown_user.chair",
        )
    return user


def _person(person, *, under: Unit, loc: tuple) -> Person | None:
    """A person by instance, id or employee number, who must work in `under`'s subtree."""
    if person in (None, ""):
        return None
    if not isinstance(person, Person):
        qs = Person.objects.select_related("unit")
        found = qs.filter(employee_no=str(person)).first()
        if found is None and str(person).isdigit():
            found = qs.filter(pk=int(person)).first()
        if found is None or not found.unit.path.startswith(under.path):
            # One answer for an unknown number and for someone who works elsewhere (perhaps at another
            # company): no name, no hint that the number exists.
            raise ValidationFailed(
                loc=loc,
                type="unknown_person",
                params={"person": repr(person), "unit": under.code},
                key="unknown_person.in",
            )
        person = found
    if not person.unit.path.startswith(under.path):
        raise ValidationFailed(
            loc=loc,
            type="person_outside_unit",
            params={"person": person.full_name, "unit": under.code},
            key="person_outside_unit.named",
        )
    return person


def _indicator(code: str | None, *, loc: tuple):
    if not code:
        return None
    indicator = Indicator.objects.filter(code=code, is_active=True).first()
    if indicator is None:
        raise ValidationFailed(
            loc=loc, type="unknown_indicator", params={"indicator": repr(code)}, key="unknown_indicator.named"
        )
    return indicator


def _refuse_if_closed(meeting: Meeting, what: str, fields: list[str] = ()) -> None:
    """`what`: fields (then named in `fields`), agenda, bridge_points or directives."""
    if meeting.status == MeetingStatus.CLOSED:
        params = {"meeting": str(meeting.pk), "when": meeting.closed_at or ""}
        if what == "fields":
            params["fields"] = [
                {"vi": label(Meeting._meta.get_field(name).verbose_name)["vi"], "en": name} for name in fields
            ]
        raise Conflict(
            loc=("path", "meeting_id"), type="meeting_closed", key=f"meeting_closed.{what}", params=params
        )
