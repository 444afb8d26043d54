"""Readiness of work positions in a campaign (recomputed and logged) and their release to production."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_entry, audit_record_many
from headframe.core.errors import ErrorItem, NotFound, ValidationFailed
from headframe.core.services import audited_update
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety import selectors
from headframe.safety.models import Campaign, CampaignPosition, CampaignStatus, ReadinessEvent
from headframe.safety.readiness_hooks import hook_codes
from headframe.safety.services._common import _actor, _clean_texts, _visible


def _refresh_after(actor, position: Unit, campaign: Campaign | None, now) -> None:
    campaign = campaign if campaign is not None and campaign.status == CampaignStatus.ACTIVE else None
    campaign = campaign or selectors.active_campaign_for(position)
    if campaign is not None:
        readiness_refresh(actor=actor, campaign=campaign, positions=[position], now=now)


@transaction.atomic
def readiness_refresh(*, actor, campaign: Campaign, positions: list[Unit] | None = None, now=None) -> dict:
    """Recompute the readiness of a campaign's positions (all of them, or those given) and log every change of
    state. A released position that stops being ready because of its inspection or a critical finding loses
    its release (a gas alarm alone does not: the gas system trips the power itself)."""
    now = now or timezone.now()
    # Locked (in a fixed order) so that a release and a refresh never interleave: whichever comes second sees
    # what the first committed — a release re-checks readiness, a refresh sees the release and revokes it.
    cps = (
        CampaignPosition.objects.filter(campaign=campaign)
        .select_related("position")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if positions is not None:
        cps = cps.filter(position__in=positions)
    cps = list(cps)
    states = selectors.readiness_many([cp.position for cp in cps], campaign=campaign, now=now)
    events, audits = [], []
    soft = hook_codes()
    for cp in cps:
        state = states[cp.position_id]
        # gas and the checks of the apps above (a rostered person not fit) block a release but do not revoke it
        blocking = [r for r in state.reasons if r["code"] != "gas" and r["code"] not in soft]
        must_revoke = cp.released and bool(blocking)  # even when the stored state already says so
        if cp.ready == state.ready and cp.reasons == state.reasons and not must_revoke:
            continue
        became = cp.ready != state.ready
        cp.ready, cp.reasons = state.ready, state.reasons
        fields = ["ready", "reasons"]
        if became:
            cp.state_changed_at = now
            fields.append("state_changed_at")
            kind = ReadinessEvent.Kind.READY if state.ready else ReadinessEvent.Kind.NOT_READY
            events.append(
                ReadinessEvent(
                    campaign=campaign,
                    position=cp.position,
                    at=now,
                    kind=kind,
                    reasons=state.reasons,
                    actor=_actor(actor),
                )
            )
            audits.append(
                audit_entry(
                    actor=actor,
                    action="readiness",
                    obj=cp,
                    unit_path=cp.position.path,
                    object_repr=f"{campaign.code} {cp.position.code}",
                    before={"ready": not state.ready},
                    after={"ready": state.ready, "reasons": state.reasons},
                )
            )
        if must_revoke:
            cp.revoked_at = now
            cp.revoke_reason = "; ".join(r["msg"] for r in blocking)[:300]
            fields += ["revoked_at", "revoke_reason"]
            events.append(
                ReadinessEvent(
                    campaign=campaign,
                    position=cp.position,
                    at=now,
                    kind=ReadinessEvent.Kind.REVOKED,
                    reasons=blocking,
                    actor=_actor(actor),
                )
            )
            audits.append(
                audit_entry(
                    actor=actor,
                    action="revoke",
                    obj=cp,
                    unit_path=cp.position.path,
                    object_repr=f"{campaign.code} {cp.position.code}",
                    after={"revoked_at": now.isoformat(), "reasons": blocking},
                )
            )
        cp.save(update_fields=fields)
    ReadinessEvent.objects.bulk_create(events)
    audit_record_many(audits)
    return states


def position_release(
    *, actor, position_code: str, campaign_code: str = "", note: str = "", now: dt.datetime | None = None
) -> CampaignPosition:
    """Release a work position to production: safety role, and only when it is ready now (its reasons are
    the 422's items otherwise). Re-releasing a released position changes nothing."""
    now = now or timezone.now()
    unit = Unit.objects.filter(code=position_code).first()
    if unit is None or not scope_for(actor).allows(Perm.VIEW, unit.path):
        raise NotFound(loc=("body", "position"), key="not_found.unit", params={"unit": repr(position_code)})
    _clean_texts({"note": note}, multiline=("note",))
    _visible(
        actor,
        unit,
        Perm.SAFETY,
        loc=("body", "position"),
        key="permission_denied.release",
    )
    if campaign_code:
        campaign = Campaign.objects.filter(code=campaign_code, status=CampaignStatus.ACTIVE).first()
    else:
        campaign = selectors.active_campaign_for(unit)
    cp = CampaignPosition.objects.filter(campaign=campaign, position=unit).first() if campaign else None
    if cp is None:
        raise ValidationFailed(
            loc=("body", "position"),
            type="not_in_campaign",
            params={"unit": unit.code},
            key="not_in_campaign.active",
        )

    def refused(state) -> ValidationFailed:
        return ValidationFailed(
            items=[
                # the reason is already in the request's language (readiness keeps it so for the page)
                ErrorItem(
                    ("body", "position"),
                    type=r["code"],
                    params={"unit": unit.code, "reason": r["msg"]},
                    key="not_ready.reason",
                )
                for r in state.reasons
            ]
        )

    states = readiness_refresh(actor=actor, campaign=campaign, positions=[unit], now=now)  # logs what it saw
    state = states[unit.pk]
    if not state.ready:
        raise refused(state)
    with transaction.atomic():
        cp = CampaignPosition.objects.select_for_update().get(pk=cp.pk)
        if cp.released:
            return cp
        # Re-checked under the lock: a critical finding (or a failed inspection) committed since the check above
        # must not be released over. The refresh is kept (it logs what it saw) and the release refused after.
        state = readiness_refresh(actor=actor, campaign=campaign, positions=[unit], now=now)[unit.pk]
        if state.ready:
            cp.refresh_from_db()
            audited_update(
                actor=actor,
                obj=cp,
                changes={
                    "released_at": now,
                    "released_by": actor,
                    "release_note": note[:300],
                    "revoked_at": None,
                    "revoke_reason": "",
                },
                unit_path=unit.path,
                action="release",
            )
            ReadinessEvent.objects.create(
                campaign=campaign,
                position=unit,
                at=now,
                kind=ReadinessEvent.Kind.RELEASED,
                actor=_actor(actor),
                reasons=[{"code": "released", "msg": note[:300]}] if note else [],
            )
    if not state.ready:
        raise refused(state)
    return cp
