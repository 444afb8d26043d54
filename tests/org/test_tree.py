import datetime as dt

import pytest

from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org import selectors, services
from headframe.org.models import Unit, UnitParentPeriod, WorkPosition
from tests.factories import make_unit


def _codes(qs):
    return sorted(qs.values_list("code", flat=True))


def test_path_and_depth_follow_the_tree(tree):
    assert tree.a_m1_k1_f1.path == "/G/A/A-M1/A-M1-K1/A-M1-K1-F1/"
    assert tree.a_m1_k1_f1.depth == 4
    assert _codes(selectors.subtree(tree.a)) == ["A", "A-M1", "A-M1-K1", "A-M1-K1-F1", "A-M1-K2"]


def test_work_positions_are_the_position_leaves(tree):
    assert _codes(WorkPosition.objects.all()) == ["A-M1-K1-F1", "B-M1-K1-F1"]


def test_duplicate_code_is_rejected_with_field_message(tree):
    with pytest.raises(ValidationFailed) as err:
        make_unit("A-M1", "site", "B")
    assert err.value.items[0].loc == ("body", "code")
    assert err.value.items[0].type == "unique"


@pytest.mark.parametrize("code", ["a-lower", "-LEADING", "WITH SPACE", "X" * 41, "Ă"])
def test_malformed_codes_are_rejected(tree, code):
    with pytest.raises(ValidationFailed) as err:
        make_unit(code, "area", "A-M1")
    assert err.value.items[0].loc == ("body", "code")


@pytest.mark.parametrize(
    ("kind", "parent", "message"),
    [
        ("company", "A", "cannot be placed under a company"),
        ("position", "A", "cannot be placed under a company"),
        ("site", None, "must have a parent"),
        ("group", "G", "cannot be placed under a group"),
    ],
)
def test_kind_rules_decide_where_a_unit_may_hang(tree, kind, parent, message):
    with pytest.raises(ValidationFailed, match=message):
        make_unit("NEW", kind, parent)


def test_unknown_parent_is_a_field_error(tree):
    with pytest.raises(ValidationFailed) as err:
        make_unit("NEW", "area", "NOPE")
    assert err.value.items[0].loc == ("body", "parent")
    assert err.value.items[0].type == "unknown_unit"


def test_site_needs_a_site_type(tree):
    with pytest.raises(ValidationFailed):
        services.unit_create(actor=None, code="S9", name_vi="x", kind="site", parent_code="A")


def test_unit_cannot_be_placed_under_its_own_descendant(tree):
    with pytest.raises(ValidationFailed) as err:
        services.unit_move(actor=None, unit=tree.a_m1_k1, new_parent_code="A-M1-K1")
    assert err.value.items[0].type == "cycle"
    area = Unit.objects.get(code="A-M1-K1")
    assert area.path == "/G/A/A-M1/A-M1-K1/"


def test_moving_a_deeper_descendant_is_a_cycle_too(tree):
    make_unit("A-M1-K1-S", "area", "A-M1-K1")
    with pytest.raises(ValidationFailed, match="descendants"):
        services.unit_move(actor=None, unit=tree.a_m1_k1, new_parent_code="A-M1-K1-S")


def test_move_rewrites_the_subtree_paths_and_keeps_history(tree):
    day1, day2 = dt.date(2027, 1, 10), dt.date(2027, 3, 1)
    services.unit_move(actor=None, unit=tree.a_m1_k1, new_parent_code="B-M1", on=day2)
    face = Unit.objects.get(code="A-M1-K1-F1")
    assert face.path == "/G/B/B-M1/A-M1-K1/A-M1-K1-F1/"
    assert face.depth == 4
    area = Unit.objects.get(code="A-M1-K1")
    assert area.parent.code == "B-M1"
    assert selectors.parent_on(area, day1).code == "A-M1"
    assert selectors.parent_on(area, day2).code == "B-M1"
    periods = list(UnitParentPeriod.objects.filter(unit=area).order_by("valid_from"))
    assert [(p.parent.code, p.valid_to) for p in periods] == [("A-M1", day2), ("B-M1", None)]
    entry = AuditEntry.objects.filter(action="move").latest("id")
    assert entry.before == {"parent": "A-M1", "path": "/G/A/A-M1/A-M1-K1/"}
    assert entry.after["parent"] == "B-M1"


def test_move_twice_on_the_same_day_replaces_the_placement(tree):
    day = dt.date(2027, 5, 1)
    services.unit_move(actor=None, unit=tree.a_m1_k1, new_parent_code="B-M1", on=day)
    services.unit_move(actor=None, unit=Unit.objects.get(code="A-M1-K1"), new_parent_code="A-M1", on=day)
    area = Unit.objects.get(code="A-M1-K1")
    assert area.path == "/G/A/A-M1/A-M1-K1/"
    assert selectors.parent_on(area, day).code == "A-M1"
    assert UnitParentPeriod.objects.filter(unit=area, valid_to__isnull=True).count() == 1


def test_moving_needs_manage_on_both_ends(tree, users):
    with pytest.raises(ValidationFailed, match="unknown unit"):  # B-M1 is not even visible to admin_a
        services.unit_move(actor=users.admin_a, unit=tree.a_m1_k1, new_parent_code="B-M1")
    with pytest.raises(PermissionDenied):  # visible to the viewer, not managed by them
        services.unit_move(actor=users.viewer_a, unit=tree.a_m1_k1, new_parent_code="A-M1")
    assert Unit.objects.get(code="A-M1-K1").path == "/G/A/A-M1/A-M1-K1/"
    services.unit_move(actor=users.admin_g, unit=tree.a_m1_k1, new_parent_code="B-M1")


def test_cannot_deactivate_a_unit_with_active_children(tree, users):
    with pytest.raises(ValidationFailed, match="active unit"):
        services.unit_update(actor=users.admin_a, unit=tree.a_m1_k1, changes={"is_active": False})
    services.unit_update(actor=users.admin_a, unit=tree.a_m1_k1_f1, changes={"is_active": False})
    services.unit_update(
        actor=users.admin_a, unit=Unit.objects.get(code="A-M1-K1"), changes={"is_active": False}
    )
    assert not Unit.objects.get(code="A-M1-K1").is_active


def test_kind_and_code_cannot_be_changed(tree, users):
    for field in ("kind", "code", "path"):
        with pytest.raises(ValidationFailed) as err:
            services.unit_update(actor=users.admin_a, unit=tree.a_m1, changes={field: "x"})
        assert err.value.items[0].loc == ("body", field)
