"""A bad parameter in an address answers 400 with a page in the UI language, with the navigation, naming the
parameter and offering the way back — never Django's bare "Bad Request (400)"."""

import pytest

pytestmark = pytest.mark.django_db


def test_bad_date_names_the_parameter_in_vietnamese_with_the_navigation(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/production/u/A/?date=99/99/2026")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bad Request" not in html
    assert "Địa chỉ không hợp lệ" in html
    assert "“date”" in html and "99/99/2026" in html and "dd/mm/yyyy" in html
    assert 'href="/production/u/A/"' in html  # the way back: the same page without the parameters
    assert 'class="nav' in html or "<nav" in html  # the base template's navigation


def test_bad_date_page_follows_the_ui_language(client, users):
    client.force_login(users.viewer_a)
    client.cookies["django_language"] = "en"
    html = client.get("/production/u/A/?date=99/99/2026").content.decode()
    assert "The address is not valid" in html and "“date”" in html


def test_out_of_range_date_names_the_parameter(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/production/u/A/?date=01/01/1890")
    assert response.status_code == 400
    html = response.content.decode()
    assert "“date”" in html and "01/01/1890" in html
    assert "expected" not in html


def test_other_page_400_is_the_same_page(client, users):
    client.force_login(users.viewer_a)
    response = client.get("/production/holidays/?year=abc")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Địa chỉ không hợp lệ" in html and "Bad Request" not in html


def test_api_400_keeps_the_json_shape(client, users):
    from django.test import RequestFactory

    from headframe.core.failures import bad_request

    request = RequestFactory().get("/api/v1/anything")
    response = bad_request(request, None)
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
