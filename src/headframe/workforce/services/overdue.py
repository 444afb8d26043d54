"""People still underground past their shift end + grace: an URGENT alarm at their mine through telemetry's
alarm engine (telemetry.services.external), so the control room sees it on the alarm console, the people on
call are told and nobody acknowledging it escalates it. Checked out (or no longer overdue): it returns.

`overdue_scan` runs with the watchdog's scans (`headframe ingest`, `headframe serve`, the demo); any process
may run it: the engine's compare-and-set keeps one alarm per presence whoever raises it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.telemetry import services as telemetry
from headframe.telemetry.models import Priority
from headframe.workforce.selectors.lamp_room import UndergroundRow, underground_now

PERSON_OVERDUE = "person_overdue"  # the limit code of the condition

log = logging.getLogger(__name__)


def presence_subject(presence_id: int) -> str:
    """The alarm condition's subject of one stay underground."""
    return f"presence:{presence_id}"


def overdue_message(row: UndergroundRow, now: dt.datetime) -> str:
    """ "Nguyễn Văn An (A001) còn dưới lò quá giờ: hết ca 14:00 + 30 phút, vị trí A-M1-K1-F1" (Vietnamese: the
    alarm's stored text, as every alarm message and notification is)."""
    end = timezone.localtime(row.shift_end, LOCAL_TZ)
    shown = end.strftime("%H:%M")
    if end.date() != timezone.localtime(now, LOCAL_TZ).date():
        shown += end.strftime(" %d/%m")
    place = row.position.code if row.position else (row.area.code if row.area else row.site.code)
    return (
        f"{row.full_name} ({row.employee_no}) còn dưới lò quá giờ: hết ca {shown} + "
        f"{settings.WORKFORCE_GRACE_MINUTES} phút, vị trí {place}"
    )


def overdue_scan(*, now: dt.datetime | None = None) -> int:
    """Raise the alarm of every open presence past its shift end + grace that has none active yet; return the
    alarms of presences no longer overdue (checked out, roster changed). Returns how many were raised.
    Over the whole group: underground_now (three queries) and one query for what is active; the engine is
    called only for what changes."""
    now = now or timezone.now()
    rows = underground_now(None, now=now)  # the system's scope: every mine of the group
    overdue = {presence_subject(r.presence_id): r for r in rows if r.overdue}
    active = dict(
        (subject, site_id) for site_id, subject in telemetry.external_active(limit_code=PERSON_OVERDUE)
    )
    raised = 0
    # One person's failure must not cost the others their alarm: each is its own transaction, logged and
    # skipped (the next scan tries again); a database down stops the round for the watchdog to retry.
    for subject, row in overdue.items():
        if subject in active:
            continue
        try:
            raised += telemetry.external_raise(
                site=row.site,
                subject=subject,
                limit_code=PERSON_OVERDUE,
                priority=Priority.URGENT,
                message=overdue_message(row, now),
                now=now,
            )
        except DatabaseError:
            raise
        except Exception:
            log.exception("overdue alarm of %s could not be raised", subject)
    for subject, site_id in active.items():
        if subject not in overdue:
            try:
                telemetry.external_clear(site=site_id, subject=subject, limit_code=PERSON_OVERDUE, now=now)
            except DatabaseError:
                raise
            except Exception:
                log.exception("overdue alarm of %s could not be cleared", subject)
    return raised


def overdue_clear(*, presence_id: int, site, now: dt.datetime | None = None) -> bool:
    """The person checked out: their overdue alarm (if any) returns at once, to be acknowledged if nobody has."""
    return telemetry.external_clear(
        site=site, subject=presence_subject(presence_id), limit_code=PERSON_OVERDUE, now=now
    )
