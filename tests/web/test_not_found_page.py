"""A wrong address answers 404 with a page in the UI language and the navigation — never Django's bare English
"Not Found"; the API keeps its JSON error shape."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_address_is_a_vietnamese_page_with_the_navigation(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/telemetry/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not Found" not in html and "requested resource" not in html
    assert "Không tìm thấy trang" in html and "/telemetry/no-such-page/" in html
    assert 'data-testid="nav-' in html  # the base template's navigation: the user can go on from here


def test_unknown_address_follows_the_ui_language(client, users):
    client.force_login(users.viewer_a)
    client.cookies["django_language"] = "en"
    assert "Page not found" in client.get("/no-such-page/").content.decode()


def test_another_companys_object_reads_like_an_unknown_one(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/production/u/NO-SUCH-UNIT/")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.content.decode()


def test_unknown_api_address_keeps_the_json_shape(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["detail"][0]["type"] == "not_found"
