import datetime as dt

import pytest
from django.test import Client

from headframe.core.models import AuditEntry
from headframe.org import services
from tests.factories import PASSWORD


@pytest.fixture
def browser_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_pages_need_a_login(client, tree):
    for url in ("/", "/org/units/", "/org/units/A/", "/audit/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_form_has_csrf_and_logs_in(users):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    assert page.status_code == 200
    token = browser.cookies["csrftoken"].value
    refused = browser.post("/accounts/login/", {"username": "viewer_a", "password": PASSWORD})
    assert refused.status_code == 403
    response = browser.post(
        "/accounts/login/", {"username": "viewer_a", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert browser.get("/").status_code == 200


def test_wrong_password_shows_an_error(client, users):
    response = client.post("/accounts/login/", {"username": "viewer_a", "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_page_is_vietnamese_by_default_and_english_on_request(browser_for, users):
    browser = browser_for(users.viewer_a)
    html = browser.get("/").content.decode()
    assert '<html lang="vi">' in html
    browser.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = browser.get("/").content.decode()
    assert '<html lang="en">' in html


def test_home_shows_only_the_users_units(browser_for, users):
    html = browser_for(users.viewer_a).get("/").content.decode()
    assert "/org/units/A/" in html
    assert "/org/units/B/" not in html


def test_unit_tree_is_scoped(browser_for, users):
    html = browser_for(users.viewer_a).get("/org/units/").content.decode()
    assert 'data-testid="unit-A-M1-K1-F1"' in html
    assert "B-M1" not in html


def test_other_companys_unit_page_is_404(browser_for, users):
    assert browser_for(users.viewer_a).get("/org/units/B-M1/").status_code == 404
    assert browser_for(users.viewer_a).get("/org/units/NOPE/").status_code == 404


def test_unit_page_shows_history_and_children(browser_for, users):
    html = browser_for(users.viewer_a).get("/org/units/A-M1/").content.decode()
    assert "/org/units/A-M1-K1/" in html and "/org/units/A-M1-K2/" in html


def test_dates_are_day_first_on_pages(browser_for, tree, users):
    services.unit_update(actor=None, unit=tree.a_m1, changes={"valid_from": dt.date(2027, 2, 3)})
    html = browser_for(users.viewer_a).get("/org/units/A-M1/").content.decode()
    assert "03/02/2027" in html


def test_numbers_are_grouped_the_vietnamese_way(rf):
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load headframe %}{{ value|number:1 }}")
    with translation.override("vi"):
        assert template.render(Context({"value": 1234567.8})) == "1.234.567,8"
    with translation.override("en"):
        assert template.render(Context({"value": 1234567.8})) == "1,234,567.8"


def test_audit_page_is_scoped_and_filters(browser_for, users, tree):
    services.unit_update(actor=users.admin_b, unit=tree.b_m1, changes={"name_vi": "Mỏ B"})
    services.unit_update(actor=users.admin_a, unit=tree.a_m1, changes={"name_vi": "Mỏ A"})
    browser = browser_for(users.admin_a)
    table = _audit_table(browser.get("/audit/"))
    assert "Mỏ A" in table and "Mỏ B" not in table
    assert "name_vi" not in table  # the field by its name in the UI language, not its code
    assert browser.get("/audit/?unit=B").status_code == 404
    assert "Mỏ A" not in _audit_table(browser.get("/audit/?unit=A-M1&user=nobody"))
    assert "Mỏ A" in _audit_table(browser.get("/audit/?unit=A-M1&user=admin_a"))


def _audit_table(response) -> str:
    return response.content.decode().split('data-testid="audit-table"', 1)[1].split("</table>", 1)[0]


def test_audit_page_rejects_bad_dates_with_400(browser_for, users):
    assert browser_for(users.admin_a).get("/audit/?from=yesterday").status_code == 400


def test_viewer_may_not_open_the_audit_page(browser_for, users):
    assert browser_for(users.viewer_a).get("/audit/").status_code == 403


def test_unit_picker_narrows_the_tree_and_refuses_foreign_units(browser_for, users):
    browser = browser_for(users.admin_g)
    browser.post("/unit-picker/", {"unit": "B"})
    html = browser.get("/org/units/").content.decode()
    assert 'data-testid="unit-B-M1"' in html and 'data-testid="unit-A-M1"' not in html
    assert browser.post("/unit-picker/", {"unit": "NOPE"}).status_code == 404
    other = browser_for(users.viewer_a)
    assert other.post("/unit-picker/", {"unit": "B"}).status_code == 404


def test_unit_picker_refuses_offsite_redirects(browser_for, users):
    response = browser_for(users.viewer_a).post(
        "/unit-picker/", {"unit": "A", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_security_headers(client, tree):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


def test_no_asset_comes_from_another_host(client, users):
    client.force_login(users.viewer_a)
    html = client.get("/").content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert "/static/headframe/vendor/htmx-2.0.11.min.js" in html


def test_vendored_assets_are_served(client):
    assert client.get("/static/headframe/app.css").status_code == 200
    assert client.get("/static/headframe/vendor/htmx-2.0.11.min.js").status_code == 200


def test_healthz(client, db):
    assert client.get("/healthz").json()["status"] == "ok"


def test_debug_is_off_by_default():
    from django.conf import settings

    assert settings.DEBUG is False


def test_audit_rows_from_pages_name_the_channel(browser_for, users):
    browser_for(users.admin_a).post("/unit-picker/", {"unit": "A"})
    assert not AuditEntry.objects.filter(object_repr__contains="picker").exists()  # picking is not a write


def test_english_browser_still_gets_vietnamese_pages_until_the_user_switches(client, users):
    client.force_login(users.viewer_a)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="vi">' in html


def test_api_follows_accept_language(api, users):
    response = api(users.admin_a).post(
        "/api/v1/units", {"code": "A-M1-K1", "name_vi": "x", "kind": "area", "parent": "A-M1"}
    )
    assert response.status_code == 422
    assert response["Content-Language"] == "vi"


def test_audit_page_takes_day_first_dates(browser_for, users, tree):
    from django.utils import timezone

    services.unit_update(actor=users.admin_a, unit=tree.a_m1, changes={"name_vi": "Mỏ A"})
    today = timezone.localdate()
    browser = browser_for(users.admin_a)
    assert "Mỏ A" in _audit_table(browser.get(f"/audit/?from={today:%d/%m/%Y}&to={today:%d/%m/%Y}"))
    tomorrow = today + dt.timedelta(days=1)
    assert "Mỏ A" not in _audit_table(browser.get(f"/audit/?from={tomorrow:%d/%m/%Y}"))
    assert browser.get("/audit/?from=31/02/2027").status_code == 400
