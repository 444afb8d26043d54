"""A release never outruns readiness: a critical finding committed between the release's readiness check and
its write is seen under the lock (the release is refused), and a position that is released while its stored
state already says "not ready" loses the release on the next refresh, however it got there."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.core.errors import ValidationFailed
from headframe.production import services as production
from headframe.production.services import ActualRow
from headframe.safety import selectors, services
from headframe.safety.models import CampaignPosition, ReadinessEvent
from headframe.safety.services import readiness as readiness_services
from tests.safety.conftest import NOW, TODAY

pytestmark = pytest.mark.django_db

LATER = NOW + dt.timedelta(days=30)


def _critical_finding(people, position):
    return services.finding_create(
        actor=people.safety,
        position_code=position.code,
        severity="critical",
        title="Tụt nóc",
        deadline=TODAY,
        now=NOW,
    )


def _put(position):
    return production.actuals_upsert(
        actor=None,
        rows=[ActualRow(position.code, "raw_coal_t", TODAY, 1, 500, loc=("body", "rows", 0))],
        source="api",
        now=LATER,
    )


def test_critical_finding_committed_during_a_release_refuses_it(
    campaign, mine, people, inspect, indicator_catalogue, monkeypatch
):
    inspect(campaign, mine.face)
    real = services.readiness_refresh
    calls = []

    def refresh(**kw):
        states = real(**kw)
        if not calls:  # another request commits a critical finding between the check and the release
            calls.append(1)
            _critical_finding(people, mine.face)
        return states

    monkeypatch.setattr(readiness_services, "readiness_refresh", refresh)
    with pytest.raises(ValidationFailed) as exc:
        services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    monkeypatch.setattr(readiness_services, "readiness_refresh", real)
    assert exc.value.status == 422
    assert {i.type for i in exc.value.items} == {"critical_finding"}
    assert all(i.loc == ("body", "position") and mine.face.code in i.msg for i in exc.value.items)
    cp = CampaignPosition.objects.get(campaign=campaign, position=mine.face)
    assert not cp.released and cp.released_at is None and not cp.ready
    assert not ReadinessEvent.objects.filter(position=mine.face, kind=ReadinessEvent.Kind.RELEASED).exists()
    services.readiness_refresh(actor=None, campaign=campaign, now=NOW)
    cp.refresh_from_db()
    assert not cp.released
    with pytest.raises(ValidationFailed) as exc:
        _put(mine.face)
    assert exc.value.items[0].type == "not_released"


def test_a_released_position_already_stored_not_ready_is_revoked_by_the_next_refresh(
    campaign, mine, people, inspect, indicator_catalogue
):
    """The stored ready/reasons equal the computed ones (nothing changes), yet the release still goes."""
    inspect(campaign, mine.face)
    _critical_finding(people, mine.face)
    state = selectors.readiness(mine.face, NOW, campaign=campaign)
    assert not state.ready
    CampaignPosition.objects.filter(campaign=campaign, position=mine.face).update(
        released_at=NOW, released_by=people.safety, ready=False, reasons=state.reasons
    )
    services.readiness_refresh(actor=None, campaign=campaign, now=NOW)
    cp = CampaignPosition.objects.get(campaign=campaign, position=mine.face)
    assert not cp.released and cp.revoked_at == NOW and "Tụt nóc" in cp.revoke_reason
    assert not cp.ready and cp.reasons == state.reasons
    kinds = list(ReadinessEvent.objects.filter(position=mine.face).values_list("kind", flat=True))
    assert kinds[-1] == "revoked" and kinds.count("revoked") == 1
    services.readiness_refresh(actor=None, campaign=campaign, now=NOW)  # revoked once, not on every refresh
    kinds = list(ReadinessEvent.objects.filter(position=mine.face).values_list("kind", flat=True))
    assert kinds.count("revoked") == 1
    with pytest.raises(ValidationFailed) as exc:
        _put(mine.face)
    assert exc.value.items[0].type == "not_released"


def test_a_ready_release_still_goes_through_after_the_recheck(
    campaign, mine, people, inspect, indicator_catalogue
):
    inspect(campaign, mine.face)
    cp = services.position_release(actor=people.safety, position_code=mine.face.code, note="ok", now=NOW)
    assert cp.released and cp.ready
    again = services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    assert again.released_at == cp.released_at
    kinds = list(ReadinessEvent.objects.filter(position=mine.face).values_list("kind", flat=True))
    assert kinds.count("released") == 1
    assert _put(mine.face).created == 1
