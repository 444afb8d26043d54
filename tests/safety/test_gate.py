"""Safety-gated production: shift figures of a work position under an active campaign that has not been
released are rejected with the reason, or accepted and flagged when the campaign's planner chose so."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.production import services as production
from headframe.production.models import Actual
from headframe.production.services import ActualRow
from headframe.safety import services
from headframe.safety.models import FlaggedActual
from tests.safety.conftest import NOW, TODAY

pytestmark = pytest.mark.django_db

LATER = NOW + dt.timedelta(days=30)


@pytest.fixture
def put(indicator_catalogue):
    def store(*rows, actor=None):
        return production.actuals_upsert(
            actor=actor,
            rows=[
                ActualRow(u, "raw_coal_t", d, s, v, loc=("body", "rows", n))
                for n, (u, d, s, v) in enumerate(rows)
            ],
            source="api",
            now=LATER,
        )

    return store


def test_figures_for_a_position_not_released_are_rejected_naming_it(campaign, mine, put):
    with pytest.raises(ValidationFailed) as exc:
        put(("A-M1-K1-F1", TODAY, 1, 500), ("A-M1-K1-F2", TODAY, 1, 400))
    items = exc.value.items
    assert [i.loc for i in items] == [("body", "rows", 0, "unit"), ("body", "rows", 1, "unit")]
    assert {i.type for i in items} == {"not_released"}
    assert "A-M1-K1-F1" in items[0].msg and "TET-2027" in items[0].msg
    assert not Actual.objects.exists()  # nothing half-written


def test_released_position_reports_normally(campaign, mine, people, inspect, put):
    inspect(campaign, mine.face)
    services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    result = put(("A-M1-K1-F1", TODAY, 1, 500))
    assert result.created == 1 and result.flagged == 0


def test_days_before_the_campaign_are_not_gated(campaign, mine, put):
    result = put(("A-M1-K1-F1", campaign.starts_on - dt.timedelta(days=1), 1, 500))
    assert result.created == 1


def test_units_in_no_campaign_are_unaffected(campaign, tree, put):
    result = put(("B-M1-K1-F1", TODAY, 1, 500), ("A-M1", TODAY, 0, 900))
    assert result.created == 2 and result.flagged == 0
    assert not FlaggedActual.objects.exists()


def test_a_closed_campaign_lifts_the_gate(campaign, mine, people, put):
    services.campaign_update(actor=people.safety, campaign=campaign, status="closed")
    assert put(("A-M1-K1-F1", TODAY, 1, 500)).created == 1


def test_flag_mode_accepts_and_flags_each_figure_once(campaign, mine, people, put):
    services.campaign_update(actor=people.planner, campaign=campaign, gate_mode="flag")
    result = put(("A-M1-K1-F1", TODAY, 1, 500), ("A-M1-K1-F1", TODAY, 2, 450))
    assert result.created == 2 and result.flagged == 2
    flags = list(FlaggedActual.objects.order_by("shift"))
    assert [(f.unit.code, f.indicator_code, f.shift) for f in flags] == [
        ("A-M1-K1-F1", "raw_coal_t", 1),
        ("A-M1-K1-F1", "raw_coal_t", 2),
    ]
    assert "TET-2027" in flags[0].reason
    again = put(("A-M1-K1-F1", TODAY, 1, 500), ("A-M1-K1-F1", TODAY, 2, 450))
    assert again.unchanged == 2 and again.flagged == 0
    assert FlaggedActual.objects.count() == 2


def test_only_a_planner_chooses_flag_mode(campaign, people):
    with pytest.raises(PermissionDenied):
        services.campaign_update(actor=people.safety, campaign=campaign, gate_mode="flag")
    campaign.refresh_from_db()
    assert campaign.gate_mode == "reject"


def test_a_new_critical_finding_gates_a_released_position_again(campaign, mine, people, inspect, put):
    inspect(campaign, mine.face)
    services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    services.finding_create(
        actor=people.safety,
        position_code=mine.face.code,
        severity="critical",
        title="Tụt nóc",
        deadline=TODAY,
        now=NOW,
    )
    with pytest.raises(ValidationFailed) as exc:
        put(("A-M1-K1-F1", TODAY, 1, 500))
    assert exc.value.items[0].type == "not_released"
