import datetime as dt

from django.utils import timezone

from headframe.core.audit import channel
from headframe.org import services


def test_audit_api_is_scoped_to_the_callers_units(api, users, tree):
    services.unit_update(actor=users.admin_b, unit=tree.b_m1, changes={"name_vi": "b"})
    items = api(users.admin_a).get("/api/v1/audit", limit=500).json()["items"]
    assert items
    assert all(item["unit_path"].startswith("/G/A/") for item in items)
    assert api(users.admin_a).get("/api/v1/audit", unit="B").status_code == 404


def test_viewer_may_not_read_the_audit_log(api, users):
    items = api(users.viewer_a).get("/api/v1/audit").json()["items"]
    assert items == []
    assert api(users.viewer_a).get("/api/v1/audit", unit="A").status_code == 403


def test_audit_api_filters_by_unit_user_and_time(api, users, tree):
    with channel("web"):
        services.unit_update(actor=users.admin_a, unit=tree.a_m1_k2, changes={"name_vi": "PX 2"})
    body = api(users.admin_g).get("/api/v1/audit", unit="A-M1-K2", user="admin_a").json()
    assert [(i["action"], i["user"], i["channel"]) for i in body["items"]] == [("update", "admin_a", "web")]
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert api(users.admin_g).get("/api/v1/audit", **{"from": future}).json()["items"] == []


def test_audit_api_pages_with_a_cursor(api, users):
    first = api(users.admin_g).get("/api/v1/audit", limit=3).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = api(users.admin_g).get("/api/v1/audit", limit=3, before=first["next_cursor"]).json()
    assert second["items"][0]["id"] < first["items"][-1]["id"]
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)


def test_audit_api_rejects_bad_limits(api, users):
    response = api(users.admin_g).get("/api/v1/audit", limit=0)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
