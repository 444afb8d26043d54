"""Scope checks and the unit tree on the demo group (≈370 units).

Every page, API call and export filters by the caller's subtree, so this is on every request's path.
Baseline: walking the tree level by level by parent id (what an adjacency list without the materialised
path would need), measured in the same run on the same data.
"""

from django.contrib.auth import get_user_model
from django.test import Client

from bench.timing import best_of, report
from headframe.org.models import Unit
from headframe.org.selectors import scope_for, unit_tree, units_visible


def _subtree_by_parent_walk(root_id: int) -> list[int]:
    found, frontier = [root_id], [root_id]
    while frontier:
        frontier = list(Unit.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        found.extend(frontier)
    return found


def run() -> None:
    User = get_user_model()
    company_user = User.objects.get(username="reporter_vso")
    group_user = User.objects.get(username="viewer")
    company = Unit.objects.get(code="VSO")

    def fresh(user):
        user.__dict__.pop("_headframe_scope", None)
        return user

    baseline = best_of(lambda: _subtree_by_parent_walk(company.id))
    report("baseline: company subtree by parent walk", baseline, "baseline", baseline)
    path_ids = best_of(lambda: list(units_visible(fresh(company_user)).values_list("id", flat=True)))
    report("company subtree by materialised path (+scope)", path_ids, "baseline", baseline)
    assert sorted(units_visible(fresh(company_user)).values_list("id", flat=True)) == sorted(
        _subtree_by_parent_walk(company.id)
    )

    group_walk = best_of(lambda: _subtree_by_parent_walk(Unit.objects.get(code="HFG").id), number=5)
    report("baseline: whole group by parent walk", group_walk, "baseline", group_walk)
    tree = best_of(lambda: unit_tree(fresh(group_user)), number=5)
    report("unit_tree() for the whole group (model objects)", tree, "group walk", group_walk)

    scope = scope_for(fresh(group_user))
    check = best_of(lambda: scope.allows("view", "/HFG/VSO/VSO-M1/"), number=10000)
    print(f"  {'Scope.allows() per call':<48} {check * 1e6:9.3f} µs")

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(group_user)
    api = best_of(lambda: client.get("/api/v1/units"), repeat=5, number=3)
    report("GET /api/v1/units, whole group as JSON", api, "group walk", group_walk)
    client.force_login(company_user)
    page = best_of(lambda: client.get("/org/units/"), repeat=5, number=3)
    report("GET /org/units/ page, one company", page, "group walk", group_walk)
    client.force_login(group_user)
    page = best_of(lambda: client.get("/org/units/"), repeat=3, number=2)
    report("GET /org/units/ page, whole group", page, "group walk", group_walk)
