"""The safety readiness gate knows who may work where: an unfit person rostered at a face today blocks its release
(the reason counts people, names nobody), and never revokes a release already given (the roster is fixed, the
lamp room refuses the person at check-in)."""

from __future__ import annotations

import datetime as dt

import pytest

from headframe.core.errors import ValidationFailed
from headframe.safety import selectors, services
from headframe.safety.models import CampaignPosition
from headframe.workforce.models import Certificate, Course, RosterEntry, Worker
from tests.safety.conftest import NOW, TODAY, _media, campaign, inspect, mine, people  # noqa: F401

pytestmark = pytest.mark.django_db


def _worker(no: str, unit, health: int = 1) -> Worker:
    worker = Worker.objects.create(employee_no=no, full_name=f"Thợ lò {no}", unit=unit, health_class=health)
    course, _ = Course.objects.get_or_create(
        code="ATVSLD", defaults={"name_vi": "ATVSLĐ", "validity_months": 12, "required_underground": True}
    )
    Certificate.objects.create(worker=worker, course=course, passed_on=dt.date(2026, 6, 1))
    return worker


def test_an_unfit_person_rostered_today_blocks_the_release_but_never_revokes_it(
    campaign,  # noqa: F811 (the safety fixtures, imported above)
    mine,  # noqa: F811
    people,  # noqa: F811
    inspect,  # noqa: F811
):
    inspect(campaign, mine.face)
    sick = _worker("A101", mine.k1, health=5)
    _worker("A102", mine.k1)
    RosterEntry.objects.create(worker=sick, position=mine.face, day=TODAY, shift=2)
    state = selectors.readiness(mine.face, NOW)
    assert not state.ready and [r["code"] for r in state.reasons] == ["workforce_unfit"]
    assert "A101" not in state.reasons[0]["msg"]
    with pytest.raises(ValidationFailed) as caught:
        services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    assert caught.value.items[0].type == "workforce_unfit"
    RosterEntry.objects.all().delete()
    services.position_release(actor=people.safety, position_code=mine.face.code, now=NOW)
    RosterEntry.objects.create(worker=sick, position=mine.face, day=TODAY, shift=3)
    services.readiness_refresh(actor=None, campaign=campaign, positions=[mine.face], now=NOW)
    cp = CampaignPosition.objects.get(campaign=campaign, position=mine.face)
    assert cp.released and not cp.ready and cp.revoked_at is None
