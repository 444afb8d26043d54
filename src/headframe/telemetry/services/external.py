"""Conditions other parts of the system report to the alarm engine: a site and a subject string of theirs
("presence:42", limit "person_overdue") instead of a sensor or a gateway.

They go through the same ISA-18.2 state (engine.force_active / force_clear), the same compare-and-set on the
condition's version, the same journal, notifications and escalation as a sensor's alarms; operators
acknowledge them on the same console. telemetry never imports their reporter: the reporter calls these two
services (and `external_active` to learn what it raised before), telemetry knows only the subject string.
Fail safe: nobody may shelve or suppress them (see alarm_actions.no_operator_override) — the remedy is the
reporter's clear (the person checked out).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from headframe.core.errors import ValidationFailed
from headframe.org.models import Unit, UnitKind
from headframe.telemetry import engine
from headframe.telemetry.models import AlarmCondition, AlarmJournal, Priority
from headframe.telemetry.services.alarms import (
    _JOURNAL_EVENT,
    _close_or_return,
    _locked,
    _open_alarm,
    _persist,
    _state_of,
    _wake_live_pages,
)

SUBJECT_MAX = 120
LIMIT_CODE_MAX = 60


def _site(site) -> Unit:
    """A site (mine) given as a Unit, its pk or its code; anything else is refused (422 unknown_unit)."""
    if isinstance(site, Unit):
        found = Unit.objects.filter(pk=site.pk).first() if site.pk else None
    elif isinstance(site, int):
        found = Unit.objects.filter(pk=site).first()
    else:
        found = Unit.objects.filter(code=str(site or "").strip()).first()
    if found is None or found.kind != UnitKind.SITE:
        shown = site.code if isinstance(site, Unit) else site
        raise ValidationFailed(
            loc=("site",), type="unknown_unit", params={"site": repr(shown)}, key="unknown_unit.site"
        )
    return found


def _checked(subject: str, limit_code: str) -> tuple[str, str]:
    subject, limit_code = (subject or "").strip(), (limit_code or "").strip()
    if not subject or len(subject) > SUBJECT_MAX:
        raise ValueError(f"an external condition's subject is 1 to {SUBJECT_MAX} characters: {subject!r}")
    if not limit_code or len(limit_code) > LIMIT_CODE_MAX:
        raise ValueError(f"a limit code is 1 to {LIMIT_CODE_MAX} characters: {limit_code!r}")
    return subject, limit_code


def _ms(now: dt.datetime | None) -> tuple[dt.datetime, int]:
    now = now or timezone.now()
    return now, int(now.timestamp() * 1000)


def _journal(cond, state, event: str, site: Unit, at: dt.datetime, alarm, comment: str, value) -> None:
    AlarmJournal.objects.create(
        at=at,
        condition=cond,
        alarm=alarm,
        site_path=site.path,
        event=_JOURNAL_EVENT[event],
        state=engine.display_state(state, shelved=False, suppressed=False, out_of_service=False),
        value=value,
        comment=comment,
    )
    _wake_live_pages(site.path)


@transaction.atomic
def external_raise(
    *,
    site,
    subject: str,
    limit_code: str,
    priority: str,
    message: str,
    value: float | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Make the condition (site, subject, limit_code) active: a new occurrence with `message` at `priority`,
    announced to the people on call (urgent and high) and escalated while nobody acknowledges an urgent one.
    Already active: nothing changes (idempotent). Returns whether an occurrence was raised (or re-opened)."""
    site = _site(site)
    subject, limit_code = _checked(subject, limit_code)
    if priority not in Priority.values:
        raise ValueError(f"unknown priority {priority!r}")
    at, now_ms = _ms(now)
    cond, _created = AlarmCondition.objects.get_or_create(site=site, subject=subject, limit_code=limit_code)
    cond = _locked(AlarmCondition.objects.filter(pk=cond.pk)).get()
    state = _state_of(cond)
    event = engine.force_active(state, now_ms)
    if event is None:
        return False
    state.last_value = value
    if not cond.current_alarm_id:  # a new occurrence (a returned one not yet acked is re-opened instead)
        alarm = _open_alarm(
            cond,
            at=at,
            value=value,
            priority=priority,
            threshold=None,
            message=message,
            site_id=site.pk,
            site_path=site.path,
            sensor_id=None,
            gateway_id=None,
            subject=subject,
        )
        event = engine.RAISED
    else:
        alarm = _close_or_return(cond, event, at)
    _journal(cond, state, event, site, at, alarm, "", value)
    _persist(cond, state)
    return True


@transaction.atomic
def external_clear(*, site, subject: str, limit_code: str, now: dt.datetime | None = None) -> bool:
    """The reporter says the condition is over: an active one returns to normal (closed if it was already
    acknowledged, else it stays listed until acknowledged). Not active or unknown: nothing. Returns whether
    it changed."""
    site = _site(site)
    subject, limit_code = _checked(subject, limit_code)
    at, _now_ms = _ms(now)
    cond = _locked(
        AlarmCondition.objects.filter(site=site, subject=subject, limit_code=limit_code, active=True)
    ).first()
    if cond is None:
        return False
    state = _state_of(cond)
    event = engine.force_clear(state)
    if event is None:
        return False
    alarm = _close_or_return(cond, event, at)
    _journal(cond, state, event, site, at, alarm, "", None)
    _persist(cond, state)
    return True


def external_active(*, limit_code: str) -> list[tuple[int, str]]:
    """(site id, subject) of every active external condition with this limit code: what a reporter's scan
    raised before and may now have to clear. One query."""
    return list(
        AlarmCondition.objects.filter(site__isnull=False, limit_code=limit_code, active=True)
        .order_by("pk")
        .values_list("site_id", "subject")
    )
