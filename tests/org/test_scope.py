import pytest

from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.org import selectors, services
from headframe.org.roles import Perm
from headframe.org.selectors import Scope
from tests.factories import make_user


def _visible(user):
    return set(selectors.units_visible(user).values_list("code", flat=True))


def test_role_on_a_company_covers_its_subtree_only(users):
    assert _visible(users.viewer_a) == {"A", "A-M1", "A-M1-K1", "A-M1-K1-F1", "A-M1-K2"}
    assert _visible(users.reporter_a) == {"A-M1", "A-M1-K1", "A-M1-K1-F1", "A-M1-K2"}


def test_role_on_the_group_covers_everything(users):
    assert "B-M1-K1-F1" in _visible(users.planner_g)
    assert "A-M1-K1-F1" in _visible(users.planner_g)


def test_user_without_roles_sees_nothing(tree):
    from tests.factories import UserFactory

    assert _visible(UserFactory()) == set()


def test_inactive_user_sees_nothing(users):
    users.viewer_a.is_active = False
    users.viewer_a.save()
    assert _visible(users.viewer_a) == set()


def test_other_companys_unit_is_not_found_rather_than_forbidden(users):
    with pytest.raises(NotFound):
        selectors.unit_get(users.admin_a, "B-M1")


def test_visible_unit_without_the_permission_is_forbidden(users):
    with pytest.raises(PermissionDenied):
        selectors.unit_get(users.viewer_a, "A-M1", Perm.REPORT)
    assert selectors.unit_get(users.reporter_a, "A-M1-K1", Perm.REPORT).code == "A-M1-K1"


def test_scope_keeps_only_the_outermost_roots():
    scope = Scope(grants=(("/G/A/", "viewer"), ("/G/A/A-M1/", "admin"), ("/G/B/", "viewer")))
    assert scope.paths(Perm.VIEW) == ["/G/A/", "/G/B/"]
    assert scope.paths(Perm.MANAGE) == ["/G/A/A-M1/"]
    assert scope.allows(Perm.MANAGE, "/G/A/A-M1/K/")
    assert not scope.allows(Perm.MANAGE, "/G/A/")
    assert not scope.allows(Perm.VIEW, "/G/C/")


def test_prefix_of_a_code_is_not_a_subtree():
    # "/G/A/" must not match "/G/AB/": paths end with a slash so prefixes stop at code boundaries
    scope = Scope(grants=(("/G/A/", "viewer"),))
    assert not scope.allows(Perm.VIEW, "/G/AB/")


def test_revoking_a_role_removes_the_scope(users):
    assignment = users.viewer_a.role_assignments.get()
    services.role_revoke(actor=users.admin_a, assignment=assignment)
    fresh = type(users.viewer_a).objects.get(pk=users.viewer_a.pk)
    assert _visible(fresh) == set()


def test_scoped_admin_cannot_grant_roles_outside_its_subtree(users):
    # A unit the admin cannot see answers as an unknown code would: no hint that it exists.
    with pytest.raises(ValidationFailed) as err:
        services.role_grant(actor=users.admin_a, user=users.viewer_a, role="viewer", unit_code="B")
    assert err.value.items[0].type == "unknown_unit"
    with pytest.raises(PermissionDenied):  # seen but not managed: refused as such
        services.role_grant(actor=users.viewer_a, user=users.viewer_a, role="admin", unit_code="A")


def test_scoped_admin_gets_staff_for_the_admin_site(tree):
    user = make_user("boss", ("admin", "A"))
    assert user.is_staff and not user.is_superuser


def test_unknown_role_is_refused(tree):
    from headframe.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="unknown role"):
        make_user("x", ("chief", "A"))
