import pytest

from headframe.core.models import AuditEntry
from headframe.org.models import Unit


@pytest.fixture
def admin_client_a(client, users):
    client.force_login(users.admin_a)
    return client


def test_scoped_admin_lists_only_its_subtree(admin_client_a):
    html = admin_client_a.get("/admin/org/unit/").content.decode()
    assert "A-M1-K1" in html
    assert "B-M1" not in html


def test_scoped_admin_cannot_open_another_companys_unit(admin_client_a, tree):
    response = admin_client_a.get(f"/admin/org/unit/{tree.b_m1.pk}/change/")
    assert response.status_code == 302  # Django admin: "doesn't exist", back to the index
    assert Unit.objects.get(code="B-M1").name_vi == "Đơn vị B-M1"


def test_viewer_has_no_admin(client, users):
    client.force_login(users.viewer_a)
    assert client.get("/admin/org/unit/").status_code == 302  # not staff: sent to the admin login


def test_admin_edit_goes_through_the_service_and_is_audited(admin_client_a, tree):
    url = f"/admin/org/unit/{tree.a_m1_k2.pk}/change/"
    form = {
        "name_vi": "Phân xưởng Khai thác 2",
        "name_en": "Mining section 2",
        "site_type": "",
        "position_kind": "",
        "parent": tree.a_m1.pk,
        "is_active": "on",
        "valid_from": "2027-01-01",
    }
    response = admin_client_a.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Unit.objects.get(code="A-M1-K2").name_vi == "Phân xưởng Khai thác 2"
    entry = AuditEntry.objects.filter(channel="admin", action="update").latest("id")
    assert entry.after["name_vi"] == "Phân xưởng Khai thác 2"


def test_admin_refuses_a_cycle_with_a_form_error(admin_client_a, tree):
    url = f"/admin/org/unit/{tree.a_m1.pk}/change/"
    form = {
        "name_vi": "x",
        "name_en": "",
        "site_type": "underground",
        "position_kind": "",
        "parent": tree.a_m1_k1.pk,
        "is_active": "on",
        "valid_from": "2027-01-01",
    }
    response = admin_client_a.post(url, form)
    assert response.status_code == 200  # form redisplayed with the error
    assert Unit.objects.get(code="A-M1").path == "/G/A/A-M1/"


def test_audit_log_in_admin_is_read_only_and_scoped(admin_client_a):
    response = admin_client_a.get("/admin/core/auditentry/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/G/B/" not in html
    assert admin_client_a.get("/admin/core/auditentry/add/").status_code == 403
