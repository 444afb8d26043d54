"""The top bar's search: scoped to what the user may see, grouped by kind, accent- and case-insensitive."""

import pytest
from django.contrib.auth import get_user_model

from headframe.org import services
from headframe.web.search import MAX_QUERY, fold, search

User = get_user_model()


def kinds(result) -> dict:
    return {g.kind: [h.label for h in g.hits] for g in result.groups}


def test_fold_drops_case_accents_and_d_stroke():
    assert fold("Quảng Ninh") == "quang ninh"
    assert fold("ĐÈO  NAI") == "deo nai"
    assert fold("Núi Đá") == fold("nui da") == fold("NUI DA")


def test_unaccented_lower_case_query_finds_the_vietnamese_name(demo_org, db):
    admin = User.objects.get(username="admin")
    for query in ("nui da", "NÚI ĐÁ", "Núi Đá 1", "mo ham lo nui da"):
        labels = kinds(search(admin, query))["units"]
        assert any("Núi Đá" in label for label in labels), query
    assert kinds(search(admin, "nda-m1"))["units"][0].startswith("NDA-M1 — ")  # the exact code ranks first


def test_quang_ninh_finds_quang_ninh(tree, db):
    services.unit_create(
        actor=None,
        code="QN",
        name_vi="Công ty Than Quảng Ninh",
        name_en="Quang Ninh Coal",
        kind="company",
        parent_code="G",
    )
    admin = services.user_create(actor=None, username="root_g", grants=[("admin", "G")], password=None)
    assert kinds(search(admin, "quang ninh"))["units"] == ["QN — Công ty Than Quảng Ninh"]


def test_a_user_of_one_company_never_finds_another_companys_data(demo_org, db):
    nda = User.objects.get(username="reporter")  # NDA-M1 only
    vso = User.objects.get(username="reporter_vso")  # VSO only
    admin = User.objects.get(username="admin")

    everything = search(admin, "VSO")
    assert {"units", "sensors"} <= set(kinds(everything))
    assert search(nda, "VSO").groups == []  # no unit, sensor, person, directive or finding of VSO
    assert search(nda, "vang son").groups == []

    mine = kinds(search(nda, "NDA-M1"))
    assert mine["units"] and all(label.startswith("NDA-M1") for label in mine["units"])
    assert all(label.startswith("NDA-M1") for label in mine.get("sensors", []))
    assert search(vso, "NDA").groups == [] and search(vso, "nui da").groups == []

    # every hit of every kind, for a broad query, lies in the user's scope
    for group in search(nda, "CH4").groups + search(nda, "nguyen").groups + search(nda, "kiem tra").groups:
        for hit in group.hits:
            assert "VSO" not in hit.label + hit.detail and "BLU" not in hit.label + hit.detail


def test_people_directives_and_findings_are_found_and_linked(demo_org, db):
    admin = User.objects.get(username="admin")
    result = search(admin, "nguyen")
    assert result.groups and "people" in kinds(result)
    assert all(g.hits[0].url.startswith("/") for g in result.groups)
    directives = next(g for g in search(admin, "kiem tra").groups if g.kind == "directives")
    assert directives.hits[0].url.startswith("/briefing/directives/")
    findings = next(g for g in search(admin, "kiem tra").groups if g.kind == "findings")
    assert findings.hits[0].url.startswith("/safety/findings/")


def test_search_page_groups_results_with_links(client, demo_org, db):
    client.force_login(User.objects.get(username="viewer"))
    page = client.get("/search/", {"q": "nui da"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="search-group-units"' in html and 'href="/org/units/NDA/"' in html
    assert 'id="topsearch-q"' in html  # the box is in the top bar of every page
    partial = client.get("/search/", {"q": "nui da"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


@pytest.mark.parametrize("query", ["x" * (MAX_QUERY + 1), "ab\u202ecd"])
def test_a_bad_query_is_a_400_naming_the_field(client, users, query):
    client.force_login(users.viewer_a)
    page = client.get("/search/", {"q": query})
    assert page.status_code == 400
    assert 'data-testid="search-error"' in page.content.decode()
    assert 'aria-invalid="true"' in page.content.decode()


def test_short_query_and_login(client, users):
    assert client.get("/search/", {"q": "ab"}).status_code == 302
    client.force_login(users.viewer_a)
    assert search(users.viewer_a, "a").groups == []
    assert client.get("/search/", {"q": "a"}).status_code == 200


def test_search_api_is_scoped_and_refuses_a_bad_query_on_the_field(api, demo_org, db):
    nda = User.objects.get(username="reporter")
    answer = api(nda).get("/api/v1/search", q="nui da")
    assert answer.status_code == 200
    body = answer.json()
    units = next(g for g in body["groups"] if g["kind"] == "units")
    assert units["hits"][0]["url"].startswith("/org/units/NDA")
    assert api(nda).get("/api/v1/search", q="vang son").json()["groups"] == []
    refused = api(nda).get("/api/v1/search", q="x" * (MAX_QUERY + 1))
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "q"]
    assert api(None).get("/api/v1/search", q="nui da").status_code == 401
