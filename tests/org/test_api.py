import io
import json

import pytest
from django.test import Client

from headframe.core.models import AuditEntry
from headframe.org import services
from headframe.org.models import Unit


def _codes(nodes):
    out = []
    for node in nodes:
        out.append(node["code"])
        out.extend(_codes(node["children"]))
    return out


def _assert_error_shape(response, status, loc=None, type_=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], list) and body["detail"]
    item = body["detail"][0]
    assert set(item) == {"loc", "msg", "type"}
    assert item["msg"]
    if loc is not None:
        assert item["loc"] == loc
    if type_ is not None:
        assert item["type"] == type_
    return item


# --- authentication -----------------------------------------------------------------------------------


def test_no_credentials_is_401_with_bearer_challenge(client, tree):
    response = client.get("/api/v1/units")
    _assert_error_shape(response, 401, type_="unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401(client, tree):
    response = client.get("/api/v1/units", HTTP_AUTHORIZATION="Bearer hf_deadbeef_nope")
    _assert_error_shape(response, 401)


def test_revoked_token_is_401(client, users):
    token, raw = services.token_create(actor=None, user=users.viewer_a)
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    services.token_revoke(actor=None, token=token)
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_token_of_an_inactive_user_is_401(client, users):
    _, raw = services.token_create(actor=None, user=users.viewer_a)
    users.viewer_a.is_active = False
    users.viewer_a.save()
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_tokens_are_stored_hashed(users):
    token, raw = services.token_create(actor=None, user=users.viewer_a)
    assert raw not in (token.digest, token.prefix)
    assert raw.startswith(f"hf_{token.prefix}_")
    assert len(token.digest) == 64


def test_session_auth_works_and_needs_csrf_for_writes(users):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users.admin_a)
    assert browser.get("/api/v1/units").status_code == 200
    body = json.dumps({"code": "A-M7", "name_vi": "x", "kind": "site", "site_type": "port", "parent": "A"})
    response = browser.post("/api/v1/units", body, content_type="application/json")
    assert response.status_code == 403
    assert not Unit.objects.filter(code="A-M7").exists()
    browser.get("/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post("/api/v1/units", body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content


# --- reading the tree ------------------------------------------------------------------------------------


def test_tree_is_filtered_by_scope(api, users):
    response = api(users.viewer_a).get("/api/v1/units")
    assert response.status_code == 200
    roots = response.json()
    assert [r["code"] for r in roots] == ["A"]
    assert set(_codes(roots)) == {"A", "A-M1", "A-M1-K1", "A-M1-K1-F1", "A-M1-K2"}


def test_group_role_sees_the_whole_tree(api, users):
    roots = api(users.planner_g).get("/api/v1/units").json()
    assert [r["code"] for r in roots] == ["G"]
    assert "B-M1-K1-F1" in _codes(roots)


def test_tree_can_stop_at_a_kind(api, users):
    roots = api(users.planner_g).get("/api/v1/units", down_to="company").json()
    assert set(_codes(roots)) == {"G", "A", "B"}


def test_unit_detail_has_ancestors_children_and_history(api, users):
    body = api(users.viewer_a).get("/api/v1/units/A-M1").json()
    assert body["parent"] == "A"
    assert body["ancestors"] == ["A"]  # G is outside viewer_a's scope
    assert body["children"] == ["A-M1-K1", "A-M1-K2"]
    assert body["history"][0]["parent"] == "A"


def test_other_companys_unit_is_404(api, users):
    _assert_error_shape(api(users.viewer_a).get("/api/v1/units/B-M1"), 404, type_="not_found")


def test_unknown_unit_is_404(api, users):
    _assert_error_shape(api(users.planner_g).get("/api/v1/units/NOPE"), 404)


# --- writing ---------------------------------------------------------------------------------------------


def test_admin_creates_a_unit_in_its_subtree_and_it_is_audited(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units",
        {"code": "A-M1-K3", "name_vi": "Phân xưởng Khai thác 3", "kind": "area", "parent": "A-M1"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["path"] == "/G/A/A-M1/A-M1-K3/"
    entry = AuditEntry.objects.filter(object_repr__startswith="A-M1-K3").get()
    assert entry.channel == "api" and entry.actor_name == "admin_a"


def test_create_with_code_in_path(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units/A-M1-K4", {"name_vi": "PX 4", "kind": "area", "parent": "A-M1"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "A-M1-K4"


def test_reporter_cannot_create_units_403(api, users):
    response = api(users.reporter_a).post(
        "/api/v1/units", {"code": "A-M1-K5", "name_vi": "x", "kind": "area", "parent": "A-M1"}
    )
    _assert_error_shape(response, 403, loc=["body", "parent"], type_="permission_denied")
    assert not Unit.objects.filter(code="A-M1-K5").exists()


def test_admin_of_a_cannot_create_under_b_and_b_answers_as_an_unknown_code(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units", {"code": "B-M1-K9", "name_vi": "x", "kind": "area", "parent": "B-M1"}
    )
    _assert_error_shape(response, 422, loc=["body", "parent"], type_="unknown_unit")
    assert not Unit.objects.filter(code="B-M1-K9").exists()


def test_a_viewer_who_sees_the_parent_but_may_not_manage_it_gets_403(api, users):
    response = api(users.viewer_a).post(
        "/api/v1/units", {"code": "A-M1-K9", "name_vi": "x", "kind": "area", "parent": "A-M1"}
    )
    _assert_error_shape(response, 403)
    assert not Unit.objects.filter(code="A-M1-K9").exists()


def test_duplicate_code_is_422_on_code(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units", {"code": "A-M1-K1", "name_vi": "x", "kind": "area", "parent": "A-M1"}
    )
    _assert_error_shape(response, 422, loc=["body", "code"])


def test_unknown_parent_is_422_on_parent(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units", {"code": "Z1", "name_vi": "x", "kind": "area", "parent": "NOPE"}
    )
    _assert_error_shape(response, 422, loc=["body", "parent"], type_="unknown_unit")


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"code": "Z1", "name_vi": "x", "kind": "mine", "parent": "A"}, ["body", "kind"]),
        ({"code": "Z1", "name_vi": "", "kind": "area", "parent": "A-M1"}, ["body", "name_vi"]),
        ({"code": 5, "name_vi": "x", "kind": "area", "parent": "A-M1"}, ["body", "code"]),
        ({"name_vi": "x", "kind": "area", "parent": "A-M1"}, ["body", "code"]),
        (
            {"code": "Z1", "name_vi": "x", "kind": "area", "parent": "A-M1", "is_active": "maybe"},
            ["body", "is_active"],
        ),
        (
            {"code": "Z1", "name_vi": "x", "kind": "area", "parent": "A-M1", "valid_from": "31/02/2027"},
            ["body", "valid_from"],
        ),
    ],
)
def test_wrong_types_are_422_with_the_field(api, users, payload, loc):
    response = api(users.admin_a).post("/api/v1/units", payload)
    _assert_error_shape(response, 422, loc=loc)
    assert not Unit.objects.filter(code="Z1").exists()


def test_malformed_json_is_400_naming_the_body(api, users):
    item = _assert_error_shape(api(users.admin_a).post("/api/v1/units", raw="{code: "), 400, loc=["body"])
    assert item["type"] == "json_invalid"


def test_oversize_body_is_413(api, users, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    payload = {"code": "Z1", "name_vi": "x" * 2000, "kind": "area", "parent": "A-M1"}
    _assert_error_shape(api(users.admin_a).post("/api/v1/units", payload), 413, type_="body_too_large")
    assert not Unit.objects.filter(code="Z1").exists()


def test_patch_renames_and_audits(api, users):
    response = api(users.admin_a).patch("/api/v1/units/A-M1", {"name_vi": "Mỏ Núi Đá"})
    assert response.status_code == 200, response.content
    assert response.json()["name_vi"] == "Mỏ Núi Đá"
    entry = AuditEntry.objects.filter(action="update").latest("id")
    assert entry.before == {"name_vi": "Đơn vị A-M1"} and entry.after == {"name_vi": "Mỏ Núi Đá"}


def test_patch_moves_a_unit(api, users):
    response = api(users.admin_g).patch("/api/v1/units/A-M1-K2", {"parent": "B-M1"})
    assert response.status_code == 200, response.content
    assert response.json()["path"] == "/G/B/B-M1/A-M1-K2/"
    assert [h["parent"] for h in response.json()["history"]][-1] == "B-M1"


def test_patch_into_own_descendant_is_422_cycle(api, users):
    response = api(users.admin_a).patch("/api/v1/units/A-M1", {"parent": "A-M1-K1"})
    _assert_error_shape(response, 422, loc=["body", "parent"], type_="cycle")
    assert Unit.objects.get(code="A-M1").path == "/G/A/A-M1/"


def test_patch_other_companys_unit_is_404(api, users):
    _assert_error_shape(api(users.admin_a).patch("/api/v1/units/B-M1", {"name_vi": "x"}), 404)
    assert Unit.objects.get(code="B-M1").name_vi == "Đơn vị B-M1"


def test_patch_by_viewer_is_403(api, users):
    _assert_error_shape(api(users.viewer_a).patch("/api/v1/units/A-M1", {"name_vi": "x"}), 403)


def test_patch_null_name_is_422(api, users):
    _assert_error_shape(
        api(users.admin_a).patch("/api/v1/units/A-M1", {"name_vi": None}), 422, loc=["body", "name_vi"]
    )


def test_patch_with_a_bad_field_changes_nothing(api, users):
    response = api(users.admin_a).patch("/api/v1/units/A-M1", {"name_vi": "Mới", "parent": "NOPE"})
    _assert_error_shape(response, 422, loc=["body", "parent"])
    assert Unit.objects.get(code="A-M1").name_vi == "Đơn vị A-M1"


# --- other org lists --------------------------------------------------------------------------------------


def test_bridge_points_and_people_are_scoped(api, users):
    services.bridge_point_create(actor=None, code="DC-A", name_vi="Điểm cầu A", unit_code="A")
    services.bridge_point_create(actor=None, code="DC-B", name_vi="Điểm cầu B", unit_code="B")
    services.person_create(actor=None, employee_no="E1", full_name="Nguyễn Văn An", unit_code="A-M1")
    services.person_create(actor=None, employee_no="E2", full_name="Trần Văn Bình", unit_code="B-M1")
    assert [p["code"] for p in api(users.viewer_a).get("/api/v1/bridge-points").json()] == ["DC-A"]
    assert [p["employee_no"] for p in api(users.viewer_a).get("/api/v1/people").json()] == ["E1"]
    assert api(users.viewer_a).get("/api/v1/people", unit="B").status_code == 404


def test_me_lists_roles(api, users):
    body = api(users.reporter_a).get("/api/v1/me").json()
    assert body == {
        "username": "reporter_a",
        "is_superuser": False,
        "roles": [{"role": "reporter", "unit": "A-M1"}],
    }


def test_openapi_schema_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/units/{code}" in response.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_file_uploads_have_their_own_larger_limit(client, users, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    settings.MAX_UPLOAD_BODY_BYTES = 5000
    client.force_login(users.admin_a)
    photo = io.BytesIO(b"x" * 3000)
    photo.name = "photo.jpg"
    accepted = client.post("/api/v1/telemetry/sensors/import", {"file": photo})
    # past the JSON limit, within the upload limit: handled by the endpoint (which may refuse the content)
    assert accepted.status_code != 413 or accepted.json()["detail"][0]["type"] != "body_too_large"
    big = io.BytesIO(b"x" * 6000)
    big.name = "photo.jpg"
    refused = client.post("/api/v1/telemetry/sensors/import", {"file": big})
    assert refused.status_code == 413 and refused.json()["detail"][0]["type"] == "body_too_large"
