from django.contrib.auth import get_user_model

from headframe.core.models import AuditEntry
from headframe.demo import DEMO_PASSWORD, DEMO_USERS, build_plan, load_demo
from headframe.org.models import BridgePoint, Unit
from headframe.org.roles import Role


def test_demo_group_has_the_promised_shape(demo_org, db):
    count = {
        kind: Unit.objects.filter(kind=kind).count()
        for kind in ("group", "company", "site", "area", "position")
    }
    assert count["group"] == 1
    assert count["company"] == 8
    assert 55 <= count["area"] <= 70
    assert 270 <= count["position"] <= 330
    site_types = set(Unit.objects.filter(kind="site").values_list("site_type", flat=True))
    assert site_types == {"underground", "open_pit", "plant", "port"}
    assert BridgePoint.objects.count() == 6


def test_demo_has_a_user_for_every_role_who_can_log_in(demo_org, db):
    roles = {role for grants in DEMO_USERS.values() for role, _ in grants}
    assert roles == set(Role.values)
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(DEMO_PASSWORD)


def test_demo_is_idempotent(demo_org, db):
    units, audit = Unit.objects.count(), AuditEntry.objects.count()
    again = load_demo()
    assert again.created_units == 0 and again.created_users == []
    assert Unit.objects.count() == units
    assert AuditEntry.objects.count() == audit


def test_demo_plan_is_deterministic():
    first = [(u.code, u.name_vi) for u in build_plan().units]
    second = [(u.code, u.name_vi) for u in build_plan().units]
    assert first == second
    assert len({code for code, _ in first}) == len(first)
