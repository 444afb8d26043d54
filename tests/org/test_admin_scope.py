"""The Django admin as a company administrator (defect 8): no changelist, add form or change form of any admin
shows another company's units, gateways, sensors, people or user names — every foreign-key choice and every
changelist is cut to the units the user may administer — while a superuser still sees the whole group."""

from __future__ import annotations

import pytest
from django.contrib import admin

from headframe.notify import services as notify_services
from headframe.org import services
from headframe.org.models import Person, Unit
from headframe.telemetry import services as telemetry_services
from headframe.telemetry.models import Gateway, Limit, Quarantine, SiteLimitSetting
from tests.factories import make_user

# Strings that only company B's rows carry.
B_MARKERS = [
    "B-M1",
    "GW-B1",
    "B1-CH4-01",
    "admin_b",
    "reporter_b",
    "Trần Văn Bê",
    "BP-B",
    "Đơn vị B",
    "Trực ca B",
]


@pytest.fixture
def both_companies(tree, users, limit_profiles, client):
    """Rows of every admin-managed kind in company A and in company B."""
    make_user("reporter_b", ("reporter", "B-M1"))
    for company, site, position in (("A", tree.a_m1, tree.a_m1_k1_f1), ("B", tree.b_m1, tree.b_m1_k1_f1)):
        services.bridge_point_create(
            actor=None, code=f"BP-{company}", name_vi=f"Điểm cầu {company}", unit_code=company
        )
        services.person_create(
            actor=None,
            employee_no=f"NV-{company}-1",
            full_name="Trần Văn Bê" if company == "B" else "Nguyễn Văn An",
            unit_code=site.code,
        )
        gateway = Gateway.objects.create(code=f"GW-{company}1", site=site)
        telemetry_services.sensor_create(
            actor=None,
            code=f"{company}1-CH4-01",
            kind="ch4_pct",
            location="face_return",
            position=position,
            gateway=gateway,
        )
        SiteLimitSetting.objects.create(
            site=site, limit=Limit.objects.order_by("pk").first(), threshold=0.9, reason=f"override {company}"
        )
        Quarantine.objects.create(
            gateway_code=f"GW-{company}1", sensor_code=f"{company}1-CH4-01", reason="unknown_sensor"
        )
        notify_services.oncall_create(
            actor=None,
            unit_code=site.code,
            level=1,
            name=f"Trực ca {company}",
            email=f"{company}@example.com",
        )
    for name in ("reporter_b", "reporter_a"):  # a log-in lock for a user of each company
        for _ in range(5):
            client.post("/accounts/login/", {"username": name, "password": "wrong-password"})
    client.logout()


def _pages(model_admin, user, client):
    """The admin pages of one registered model that the user may open: changelist, add form, a change form."""
    model = model_admin.model
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    changelist = client.get(base)
    if changelist.status_code != 200:
        return []
    pages = [(base, changelist)]
    add = client.get(f"{base}add/")
    if add.status_code == 200:
        pages.append((f"{base}add/", add))

    class _Request:  # what get_queryset needs to pick a row the user may open
        pass

    request = _Request()
    request.user = user
    row = model_admin.get_queryset(request).order_by("pk").first()
    if row is not None:
        url = f"{base}{row.pk}/change/"
        pages.append((url, client.get(url)))
    return pages


def test_a_company_admin_sees_nothing_of_another_company_anywhere_in_the_admin(client, users, both_companies):
    client.force_login(users.admin_a)
    opened = []
    for model_admin in admin.site._registry.values():
        for url, response in _pages(model_admin, users.admin_a, client):
            assert response.status_code == 200, url
            html = response.content.decode()
            leaks = [marker for marker in B_MARKERS if marker in html]
            assert not leaks, f"{url} shows {leaks}"
            opened.append(url)
    # the walk really went through the scoped admins, forms included
    for url in (
        "/admin/telemetry/gateway/add/",
        "/admin/telemetry/sensor/add/",
        "/admin/org/roleassignment/add/",
    ):
        assert url in opened
    assert "/admin/telemetry/sitelimitsetting/add/" in opened and "/admin/telemetry/quarantine/" in opened
    gateway_form = client.get("/admin/telemetry/gateway/add/").content.decode()
    assert "A-M1" in gateway_form and "Đơn vị G" not in gateway_form  # its own site, not the group
    sensor_form = client.get("/admin/telemetry/sensor/add/").content.decode()
    assert "GW-A1" in sensor_form
    role_form = client.get("/admin/org/roleassignment/add/").content.decode()
    assert "reporter_a" in role_form and "planner_g" not in role_form


def test_a_superuser_still_sees_the_whole_group(client, both_companies):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="a-long-root-secret")
    client.force_login(root)
    html = client.get("/admin/telemetry/gateway/add/").content.decode()
    assert "B-M1" in html and "A-M1" in html
    assert "GW-B1" in client.get("/admin/telemetry/quarantine/").content.decode()


def test_a_company_admin_cannot_post_another_companys_site_into_a_gateway(client, users, both_companies):
    client.force_login(users.admin_a)
    b_site = Unit.objects.get(code="B-M1")
    response = client.post("/admin/telemetry/gateway/add/", {"code": "GW-X9", "name": "x", "site": b_site.pk})
    assert response.status_code == 200  # the form again, with "select a valid choice"
    assert not Gateway.objects.filter(code="GW-X9").exists()


def test_a_company_admin_cannot_move_a_person_to_another_companys_unit(client, users, both_companies):
    client.force_login(users.admin_a)
    person = Person.objects.get(employee_no="NV-A-1")
    form = {"employee_no": "NV-A-1", "full_name": "Nguyễn Văn An", "unit": Unit.objects.get(code="B").pk}
    response = client.post(f"/admin/org/person/{person.pk}/change/", {**form, "is_active": "on"})
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.unit.code == "A-M1"
