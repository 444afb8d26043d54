"""The production gate: shift figures accepted for positions not released under a campaign in flag mode."""

from __future__ import annotations

from headframe.core.audit import audit_entry, audit_record_many
from headframe.safety.models import FlaggedActual
from headframe.safety.services._common import _actor


def production_flags_record(*, actor, rows: list[tuple]) -> int:
    """Called by production.services.actuals_upsert inside its transaction: remember shift figures accepted
    for positions not released under a campaign in flag mode. rows: (unit, indicator code, day, shift,
    GateBlock). Re-sending the same figures adds nothing."""
    if not rows:
        return 0
    keys = {(b.campaign_id, u.pk, code, day, shift) for u, code, day, shift, b in rows}
    existing = set(
        FlaggedActual.objects.filter(
            campaign_id__in={k[0] for k in keys}, unit_id__in={k[1] for k in keys}
        ).values_list("campaign_id", "unit_id", "indicator_code", "day", "shift")
    )
    new = []
    audits = []
    for unit, code, day, shift, block in rows:
        key = (block.campaign_id, unit.pk, code, day, shift)
        if key in existing:
            continue
        existing.add(key)
        flag = FlaggedActual(
            campaign_id=block.campaign_id,
            unit=unit,
            indicator_code=code,
            day=day,
            shift=shift,
            reason=block.reason[:400],
            entered_by=_actor(actor),
        )
        new.append(flag)
    FlaggedActual.objects.bulk_create(new)
    for flag in new:
        audits.append(
            audit_entry(
                actor=actor,
                action="flag",
                obj=flag,
                unit_path=flag.unit.path,
                object_repr=f"{flag.unit.code} {flag.indicator_code} {flag.day:%d/%m/%Y} ca {flag.shift}",
                after={"reason": flag.reason},
            )
        )
    audit_record_many(audits)
    return len(new)
