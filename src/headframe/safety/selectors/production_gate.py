"""The production gate: why a work position's shift figures are gated by a safety campaign."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from headframe.safety.models import CampaignPosition, CampaignStatus


@dataclass(frozen=True)
class GateBlock:
    campaign_id: int
    campaign_code: str
    mode: str  # reject / flag
    starts_on: dt.date
    reason: str


def production_gate(unit_ids) -> dict[int, GateBlock]:
    """{unit id: why its shift figures are gated} for work positions in an active campaign that have not been
    released. A figure for a day before the campaign started is not gated. Units in no campaign are absent."""
    out: dict[int, GateBlock] = {}
    rows = (
        CampaignPosition.objects.filter(
            position_id__in=list(unit_ids), campaign__status=CampaignStatus.ACTIVE
        )
        .filter(Q(released_at__isnull=True) | Q(revoked_at__isnull=False))
        .select_related("campaign", "position")
        .order_by("campaign__starts_on")
    )
    for cp in rows:
        campaign = cp.campaign
        reasons = "; ".join(r.get("msg", "") for r in cp.reasons[:3]) if cp.reasons else ""
        reason = _(
            "%(unit)s is not released to production after the safety inspection campaign %(campaign)s"
        ) % {
            "unit": cp.position.code,
            "campaign": campaign.code,
        }
        if reasons:
            reason = f"{reason}: {reasons}"
        previous = out.get(cp.position_id)
        # Two campaigns over one position: a rejecting one wins over a flagging one.
        if previous is None or (previous.mode == "flag" and campaign.gate_mode == "reject"):
            out[cp.position_id] = GateBlock(
                campaign.pk, campaign.code, campaign.gate_mode, campaign.starts_on, reason
            )
    return out
