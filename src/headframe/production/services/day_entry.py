"""The day form's save: a unit's day reported as a whole (shift 0) turned into shifts, or back, in one step.

A day is reported either as a whole or shift by shift (services.actuals._mixed_shift_errors). The form shows both; when
an indicator is typed in the other form than the one stored, the stored figures of the old form are removed and
the typed ones stored in one transaction — all or nothing, each removal in the audit log."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from headframe.core.audit import audit_entry, audit_record_many
from headframe.core.errors import PermissionDenied
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production import selectors
from headframe.production.models import Actual, Indicator
from headframe.production.services.actuals import ActualRow, UpsertResult, actuals_upsert, refresh_totals


def day_entry_save(
    *,
    actor,
    unit: Unit,
    day: dt.date,
    rows: list[ActualRow],
    remove: list[tuple[str, int]],
    source: str = "web",
) -> UpsertResult:
    """Store `rows` (figures of `unit` on `day`) after removing the stored figures `remove` names as
    (indicator code, shift): the form of the day an indicator leaves. Raises what actuals_upsert raises,
    with nothing removed."""
    if not remove:
        return actuals_upsert(actor=actor, rows=rows, source=source)
    scope = scope_for(actor)
    if not scope.allows(Perm.REPORT, unit.path):
        raise PermissionDenied(
            loc=("body", "unit"), params={"unit": unit.code}, key="permission_denied.report"
        )
    if selectors.month_locked(unit, day) and not scope.allows(Perm.PLAN, unit.path):
        raise PermissionDenied(
            loc=("body", "day"),
            params={"month": f"{day:%m/%Y}", "unit": unit.code},
            key="permission_denied.month_closed",
        )
    indicators = {i.code: i for i in Indicator.objects.filter(code__in={code for code, _shift in remove})}
    with transaction.atomic():
        gone = []
        for actual in Actual.objects.select_for_update().filter(
            unit=unit, day=day, indicator__in=indicators.values()
        ):
            code = next(c for c, i in indicators.items() if i.pk == actual.indicator_id)
            if (code, actual.shift) in remove:
                gone.append((code, actual))
        audits = [
            audit_entry(
                actor=actor,
                action="delete",
                obj=actual,
                unit_path=unit.path,
                object_repr=f"{unit.code} {code} {day:%d/%m/%Y} ca {actual.shift}",
                before={"value": format(actual.value.normalize(), "f")},
            )
            for code, actual in gone
        ]
        Actual.objects.filter(pk__in=[actual.pk for _code, actual in gone]).delete()
        audit_record_many(audits)
        refresh_totals({(unit.pk, actual.indicator_id, day) for _code, actual in gone})
        return actuals_upsert(actor=actor, rows=rows, source=source)
