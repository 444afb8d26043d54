"""The safety demo: a campaign under way with passed, failed and pending inspections; idempotent."""

import pytest

from headframe.safety.demo import CAMPAIGN_CODE, load_safety_demo
from headframe.safety.models import Campaign, Finding, Incident, Inspection
from tests.demo_snapshot import demo_database

pytestmark = pytest.mark.django_db


def test_demo_campaign_has_a_mix_and_loads_once():
    demo_database()
    campaign = Campaign.objects.get(code=CAMPAIGN_CODE)
    results = set(Inspection.objects.filter(campaign=campaign).values_list("result", flat=True))
    assert results == {"passed", "failed", ""}
    assert Finding.objects.filter(status="open").exists() and Finding.objects.filter(status="closed").exists()
    assert Incident.objects.count() == 4
    counts = (Inspection.objects.count(), Finding.objects.count())
    assert not load_safety_demo().created
    assert (Inspection.objects.count(), Finding.objects.count()) == counts
