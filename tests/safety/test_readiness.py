"""The readiness gate: ready only when (a) the latest inspection passed, (b) no critical finding is open and
(c) every gas sensor at the position is online, fresh and not alarming — every combination, and random event
sequences checked against an independent model of the three conditions."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headframe.core.errors import ValidationFailed
from headframe.core.models import AuditEntry
from headframe.safety import selectors, services
from headframe.safety.models import CampaignPosition, Finding, ReadinessEvent
from tests.safety.conftest import NOW, TODAY, inspection_of

pytestmark = pytest.mark.django_db


def _critical_finding(people, position):
    return services.finding_create(
        actor=people.safety,
        position_code=position.code,
        severity="critical",
        title="Nóc lò có đá treo",
        deadline=TODAY,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("inspection_passed", "no_critical", "gas_ok"), list(itertools.product([True, False], repeat=3))
)
def test_ready_only_when_all_three_conditions_hold(
    campaign, mine, people, inspect, gas, inspection_passed, no_critical, gas_ok
):
    inspect(campaign, mine.face, fail=() if inspection_passed else ("R-SHIELDS",))
    if not no_critical:
        _critical_finding(people, mine.face)
    gas(mine.face, "ok" if gas_ok else "alarm")
    state = selectors.readiness(mine.face, NOW)
    assert state.ready is (inspection_passed and no_critical and gas_ok)
    codes = {r["code"] for r in state.reasons}
    assert ("inspection_failed" in codes) is (not inspection_passed)
    assert ("critical_finding" in codes) is (not no_critical or not inspection_passed)
    assert ("gas" in codes) is (not gas_ok)


@pytest.mark.parametrize("state", ["offline", "stale", "latched", "alarm"])
def test_gas_sensor_offline_stale_or_alarming_blocks(campaign, mine, inspect, gas, state):
    inspect(campaign, mine.face)
    gas(mine.face, state)
    readiness = selectors.readiness(mine.face, NOW)
    assert not readiness.ready
    assert [r["code"] for r in readiness.reasons] == ["gas"]


def test_position_without_sensors_is_judged_on_inspection_and_findings(campaign, mine, inspect):
    inspect(campaign, mine.face)
    state = selectors.readiness(mine.face, NOW)
    assert state.ready and not state.has_gas_sensors


def test_signed_but_not_countersigned_is_not_ready(campaign, mine, inspect):
    inspect(campaign, mine.face, countersign=False)
    state = selectors.readiness(mine.face, NOW)
    assert [r["code"] for r in state.reasons] == ["inspection_not_countersigned"]


def test_failed_inspection_passes_once_its_findings_are_closed(campaign, mine, people, inspect):
    inspection = inspect(campaign, mine.face, fail=("R-SHIELDS", "V-DOORS"))
    assert inspection.result == "failed"
    findings = list(Finding.objects.filter(inspection=inspection).order_by("id"))
    assert [(f.item.code, f.severity) for f in findings] == [("V-DOORS", "major"), ("R-SHIELDS", "critical")]
    services.finding_close(
        actor=people.safety, finding_id=findings[1].pk, action_taken="Thay cột", evidence="Đã thử áp", now=NOW
    )
    assert not selectors.readiness(mine.face, NOW).ready  # the major one still blocks the inspection
    services.finding_close(
        actor=people.safety,
        finding_id=findings[0].pk,
        action_taken="Sửa cửa gió",
        evidence="Đóng kín",
        now=NOW,
    )
    state = selectors.readiness(mine.face, NOW)
    assert state.ready and state.outcome == "passed_after_actions"


def test_every_change_of_state_is_logged(campaign, mine, people, inspect, gas):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get(inspection__position=mine.face)
    services.finding_close(
        actor=people.safety,
        finding_id=finding.pk,
        action_taken="Chống bổ sung",
        evidence="Đã kiểm tra",
        now=NOW,
    )
    services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    kinds = list(ReadinessEvent.objects.filter(position=mine.face).values_list("kind", flat=True))
    assert kinds == ["not_ready", "ready", "released"]
    audited = AuditEntry.objects.filter(object_type="safety.campaignposition").values_list(
        "action", flat=True
    )
    assert list(audited.order_by("id")) == ["readiness", "release"]
    cp = CampaignPosition.objects.get(campaign=campaign, position=mine.face)
    assert cp.ready and cp.released and cp.released_by == people.safety


def test_release_refused_with_open_critical_finding_or_gas_alarm(campaign, mine, people, inspect, gas):
    inspect(campaign, mine.face)
    _critical_finding(people, mine.face)
    gas(mine.face, "alarm")
    with pytest.raises(ValidationFailed) as exc:
        services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    assert exc.value.status == 422
    assert {i.type for i in exc.value.items} == {"critical_finding", "gas"}
    assert all(i.loc == ("body", "position") for i in exc.value.items)
    assert not CampaignPosition.objects.get(campaign=campaign, position=mine.face).released


def test_release_needs_the_safety_role(campaign, mine, people, inspect):
    from headframe.core.errors import NotFound, PermissionDenied

    inspect(campaign, mine.face)
    with pytest.raises(PermissionDenied):
        services.position_release(actor=people.overman, position_code=mine.face.code, now=NOW)
    with pytest.raises(NotFound):
        services.position_release(actor=people.safety_b, position_code=mine.face.code, now=NOW)


def test_new_critical_finding_revokes_a_release(campaign, mine, people, inspect):
    inspect(campaign, mine.face)
    services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    _critical_finding(people, mine.face)
    cp = CampaignPosition.objects.get(campaign=campaign, position=mine.face)
    assert not cp.released and cp.revoked_at is not None
    assert list(ReadinessEvent.objects.filter(position=mine.face).values_list("kind", flat=True))[-2:] == [
        "not_ready",
        "revoked",
    ]


def test_rollup_by_mine_and_area(campaign, mine, people, inspect):
    inspect(campaign, mine.face)
    inspect(campaign, mine.heading, fail=("R-SETS",))
    board = selectors.readiness_board(people.safety, mine.site, now=NOW)
    sites = {r.unit.code: (r.total, r.ready) for r in board.sites}
    areas = {r.unit.code: (r.total, r.ready) for r in board.areas}
    assert sites == {"A-M1": (4, 1)}
    assert areas == {"A-M1-K1": (2, 1), "A-M1-K2": (2, 0)}


# --- random event sequences --------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


EVENTS = st.lists(
    st.sampled_from(
        [
            "inspect_pass",
            "inspect_fail",
            "inspect_fail_critical",
            "close_one",
            "critical_walkround",
            "gas_on",
            "gas_off",
            "release",
        ]
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_never_ready_while_any_condition_fails(campaign, mine, people, inspect, gas, events):
    try:
        with transaction.atomic():
            _run(campaign, mine, people, inspect, gas, events)
            raise _Rollback
    except _Rollback:
        pass


def _run(campaign, mine, people, inspect, gas, events):
    face = mine.face
    gas(face, "ok")
    gas_alarm = False
    now = NOW
    for event in events:
        now += dt.timedelta(minutes=1)
        gas(face, "alarm" if gas_alarm else "ok", now=now)  # the sensor keeps reporting
        latest = inspection_of(campaign, face)
        if event.startswith("inspect"):
            if latest.status == "complete":
                services.inspection_repeat(
                    actor=people.safety, campaign=campaign, position_code=face.code, now=now
                )
            fail = {"inspect_pass": (), "inspect_fail": ("V-DOORS",), "inspect_fail_critical": ("R-ROOF",)}[
                event
            ]
            inspect(campaign, face, fail=fail, now=now)
        elif event == "close_one":
            finding = Finding.objects.filter(position=face, status="open").order_by("id").first()
            if finding is not None:
                services.finding_close(
                    actor=people.safety,
                    finding_id=finding.pk,
                    action_taken="Đã xử lý",
                    evidence="Ảnh",
                    now=now,
                )
        elif event == "critical_walkround":
            _critical_finding(people, face)
        elif event in ("gas_on", "gas_off"):
            gas_alarm = event == "gas_on"
            gas(face, "alarm" if gas_alarm else "ok", now=now)
        elif event == "release":
            with contextlib.suppress(ValidationFailed):
                services.position_release(actor=people.safety, position_code=face.code, now=now)
        # The independent model of the three conditions.
        latest = inspection_of(campaign, face)
        open_findings = list(Finding.objects.filter(position=face, status="open"))
        inspection_ok = latest.status == "complete" and (
            latest.result == "passed"
            or not any(
                f.inspection_id == latest.pk and f.severity in ("critical", "major") for f in open_findings
            )
        )
        no_critical = not any(f.severity == "critical" for f in open_findings)
        state = selectors.readiness(face, now)
        assert state.ready == (inspection_ok and no_critical and not gas_alarm), (events, state.reasons)
        cp = CampaignPosition.objects.get(campaign=campaign, position=face)
        if cp.released:
            assert (
                inspection_ok and no_critical
            )  # a release never survives a failed inspection or critical finding
