"""`next=` sends the browser back into this site only (defect 10: open redirect on the readiness release)."""

from __future__ import annotations

import pytest

EVIL = [
    "https://evil.example/login",
    "//evil.example/login",
    "http://evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", EVIL)
def test_the_readiness_release_never_redirects_to_another_site(client, users, target):
    client.force_login(users.admin_a)
    response = client.post("/safety/readiness/release/", {"position": "A-M1-K1-F1", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/safety/readiness/"


def test_the_readiness_release_goes_back_to_the_page_it_came_from(client, users):
    client.force_login(users.admin_a)
    response = client.post(
        "/safety/readiness/release/", {"position": "A-M1-K1-F1", "next": "/safety/readiness/?unit=A"}
    )
    assert response["Location"] == "/safety/readiness/?unit=A"


@pytest.mark.parametrize("target", EVIL)
def test_the_unit_picker_never_redirects_to_another_site(client, users, target):
    client.force_login(users.admin_a)
    response = client.post("/unit-picker/", {"unit": "A", "next": target})
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", EVIL)
def test_the_login_page_never_redirects_to_another_site(client, users, target):
    response = client.post(
        "/accounts/login/", {"username": "viewer_a", "password": "correct-horse-battery", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
