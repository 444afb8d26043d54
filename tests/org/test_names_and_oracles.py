"""Names people type refuse hidden characters (defect 9), and a code outside the caller's scope answers exactly
as an unknown code does (defect 10: no existence oracle)."""

from __future__ import annotations

import pytest

from headframe.core.errors import ValidationFailed
from headframe.org import services
from headframe.org.models import Person, Unit

UNIT = {"code": "A-M1-K5", "kind": "area", "parent": "A-M1"}


@pytest.mark.parametrize(
    "name",
    ["Lò chợ\x00 1", "Lò chợ \u202e1-01", "Lò\u200bchợ", "Lò chợ\ufeff", "Lò chợ\u2067 1", "Lò\x07chợ"],
    ids=["nul", "rtl-override", "zero-width-space", "bom", "isolate", "bell"],
)
def test_a_unit_name_with_a_hidden_character_is_refused(api, users, name):
    response = api(users.admin_a).post("/api/v1/units", {**UNIT, "name_vi": name})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["body", "name_vi"] and item["type"] == "hidden_character"
    assert not Unit.objects.filter(code="A-M1-K5").exists()


def test_renaming_a_unit_refuses_hidden_characters_in_either_language(api, users):
    response = api(users.admin_a).patch("/api/v1/units/A-M1-K1", {"name_en": "Face\u202e10"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name_en"]
    assert Unit.objects.get(code="A-M1-K1").name_en == "Unit A-M1-K1"


def test_vietnamese_names_with_diacritics_are_welcome(api, users):
    name = "Phân xưởng Khai thác 5 — Lò chợ Ⅱ (ca 3)"
    response = api(users.admin_a).post("/api/v1/units", {**UNIT, "name_vi": name})
    assert response.status_code == 201
    assert Unit.objects.get(code="A-M1-K5").name_vi == name


def test_a_persons_name_with_a_zero_width_character_is_refused(tree):
    with pytest.raises(ValidationFailed) as err:
        services.person_create(
            actor=None, employee_no="NV-1", full_name="Nguyễn\u200bVăn An", unit_code="A-M1"
        )
    assert err.value.items[0].type == "hidden_character"
    assert not Person.objects.exists()


def test_the_admin_form_refuses_a_persons_name_with_a_hidden_character(client, users):
    client.force_login(users.admin_a)
    unit = Unit.objects.get(code="A-M1")
    form = {"employee_no": "NV-2", "full_name": "Trần\u202eVăn Bình", "unit": unit.pk, "is_active": "on"}
    response = client.post("/admin/org/person/add/", form)
    assert response.status_code == 200  # the form again, with the error on the name
    assert "U+202E" in response.content.decode()
    assert not Person.objects.filter(employee_no="NV-2").exists()


@pytest.mark.parametrize("username", ["an\u202enimda", "an\x00", "an\u200b"])
def test_a_user_name_with_a_hidden_character_is_refused(tree, username):
    with pytest.raises(ValidationFailed) as err:
        services.user_create(actor=None, username=username, grants=[("viewer", "A")])
    assert err.value.items[0].loc == ("body", "username")
    assert err.value.items[0].type == "hidden_character"


# --- existence oracles ------------------------------------------------------------------------------------


def _answer(response, code: str) -> tuple:
    """What a caller learns from a response, with the code they sent blanked out."""
    return response.status_code, response.content.decode().replace(code, "<code>")


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("get", "/api/v1/units/{code}", None),
        ("get", "/api/v1/units?root={code}", None),
        ("get", "/api/v1/people?unit={code}", None),
        ("get", "/api/v1/audit?unit={code}", None),
        ("post", "/api/v1/units", {"code": "A-M1-K7", "name_vi": "x", "kind": "area", "parent": "{code}"}),
        ("patch", "/api/v1/units/A-M1-K1", {"parent": "{code}"}),
    ],
)
def test_another_companys_code_answers_exactly_like_an_unknown_code(api, users, method, url, payload):
    caller = api(users.admin_a)

    def call(code):
        target = url.format(code=code)
        if method == "get":
            path, _, query = target.partition("?")
            params = dict([query.split("=")]) if query else {}
            return caller.get(path, **params)
        body = {k: (v.format(code=code) if isinstance(v, str) else v) for k, v in payload.items()}
        return getattr(caller, method)(target, body)

    out_of_scope, unknown = call("B-M1"), call("ZZ-M9")
    assert out_of_scope.status_code in (404, 422)
    assert _answer(out_of_scope, "B-M1") == _answer(unknown, "ZZ-M9")
    assert Unit.objects.get(code="A-M1-K1").path == "/G/A/A-M1/A-M1-K1/"


def test_another_companys_user_name_in_the_audit_filter_answers_like_an_unknown_one(api, users):
    caller = api(users.admin_a)
    out_of_scope, unknown = (
        caller.get("/api/v1/audit", user="admin_b"),
        caller.get("/api/v1/audit", user="nobody"),
    )
    assert out_of_scope.status_code == 404
    assert _answer(out_of_scope, "admin_b") == _answer(unknown, "nobody")
    assert out_of_scope.json()["detail"][0]["loc"] == ["query", "user"]
    own = caller.get("/api/v1/audit", user="reporter_a")  # a user of company A is a filter like any other
    assert own.status_code == 200
