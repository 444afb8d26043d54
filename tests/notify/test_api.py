"""The on-call roster through the API and the admin: administrators and safety officers of a unit keep it, every
change is audited, others get 403 (or do not see the unit at all), and an entry needs a channel."""

import pytest

from headframe.core.models import AuditEntry
from headframe.notify.models import OnCallEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/notify/on-call"

ENTRY = {
    "unit": "A-M1",
    "level": 1,
    "name": "Phòng điều khiển trung tâm A-M1",
    "email": "dieukhien@a-m1.vn",
    "webhook_url": "https://sms.a-m1.vn/send?key=bi-mat",
    "min_priority": "high",
}


@pytest.fixture
def delete(client, token_for):
    return lambda user, url: client.delete(url, **token_for(user))


def test_a_safety_officer_puts_someone_on_call_lists_and_removes_them_with_audit(api, people, mine, delete):
    response = api(people.safety_a).post(URL, ENTRY)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (
        created["unit"] == "A-M1" and created["webhook_url"] == ENTRY["webhook_url"] and created["editable"]
    )
    entry = OnCallEntry.objects.get()
    audit = AuditEntry.objects.get(object_type="notify.oncallentry", action="create")
    assert (audit.actor_name, audit.channel, audit.unit_path) == ("an_toan_a", "api", mine.site.path)
    assert audit.after["email"] == "dieukhien@a-m1.vn" and audit.after["unit"] == "A-M1"

    listed = api(people.safety_a).get(URL, unit="A").json()
    assert [e["id"] for e in listed] == [entry.id]

    assert delete(people.safety_a, f"{URL}/{entry.id}").status_code == 204
    assert not OnCallEntry.objects.exists()
    removed = AuditEntry.objects.get(object_type="notify.oncallentry", action="delete")
    assert removed.before["name"] == ENTRY["name"] and removed.unit_path == mine.site.path


def test_a_change_is_audited_with_what_changed(api, people, mine):
    entry_id = api(people.admin_a).post(URL, ENTRY).json()["id"]
    response = api(people.admin_a).patch(f"{URL}/{entry_id}", {"level": 2, "unit": "A"})
    assert response.status_code == 200, response.content
    assert (response.json()["unit"], response.json()["level"]) == ("A", 2)
    update = AuditEntry.objects.get(object_type="notify.oncallentry", action="update")
    assert update.before == {"unit": "A-M1", "level": 1} and update.after == {"unit": "A", "level": 2}
    assert update.unit_path == mine.company.path
    move = AuditEntry.objects.get(object_type="notify.oncallentry", action="move")
    assert move.unit_path == mine.site.path  # filed under the place it left as well


def test_a_viewer_of_the_unit_may_read_but_not_write_the_roster(api, people, mine, delete):
    entry_id = api(people.admin_a).post(URL, ENTRY).json()["id"]
    response = api(people.viewer_a).post(URL, {**ENTRY, "name": "Người khác"})
    assert response.status_code == 403
    assert response.json()["detail"][0]["loc"] == ["body", "unit"]
    assert api(people.viewer_a).patch(f"{URL}/{entry_id}", {"active": False}).status_code == 403
    assert delete(people.viewer_a, f"{URL}/{entry_id}").status_code == 403
    [shown] = api(people.viewer_a).get(URL).json()
    assert shown["webhook_url"] == "https://sms.a-m1.vn/…" and not shown["editable"]  # the key is not shown
    assert OnCallEntry.objects.count() == 1
    assert not AuditEntry.objects.filter(object_type="notify.oncallentry", actor_name="viewer_a").exists()


def test_another_companys_administrator_does_not_even_see_the_unit(api, people, mine, delete):
    entry_id = api(people.admin_a).post(URL, ENTRY).json()["id"]
    response = api(people.admin_b).post(URL, ENTRY)
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "unknown_unit"
    assert api(people.admin_b).get(URL).json() == []
    assert delete(people.admin_b, f"{URL}/{entry_id}").status_code == 404
    assert OnCallEntry.objects.count() == 1


def test_an_entry_without_email_or_webhook_is_refused_field_by_field(api, people, mine):
    response = api(people.admin_a).post(URL, {**ENTRY, "email": "", "webhook_url": ""})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {tuple(d["loc"]) for d in detail} == {("body", "email"), ("body", "webhook_url")}
    assert all(d["type"] == "channel_required" and "webhook" in d["msg"] for d in detail)
    assert not OnCallEntry.objects.exists() and not AuditEntry.objects.filter(
        object_type="notify.oncallentry"
    )


def test_bad_addresses_and_units_are_field_errors(api, people, mine):
    response = api(people.admin_a).post(
        URL, {**ENTRY, "email": "not-an-address", "webhook_url": "ftp://x.vn/"}
    )
    assert response.status_code == 422
    assert {tuple(d["loc"]) for d in response.json()["detail"]} == {
        ("body", "email"),
        ("body", "webhook_url"),
    }
    response = api(people.admin_a).post(URL, {**ENTRY, "unit": "A-M1-K1"})  # an area: rosters are per site
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "roster_unit_kind"
    response = api(people.admin_a).post(URL, {**ENTRY, "level": 4})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "level"]


def test_the_admin_keeps_the_roster_through_the_audited_services(client, people, mine):
    people.admin_a.is_staff = True
    people.admin_a.save()
    client.force_login(people.admin_a)
    response = client.post(
        "/admin/notify/oncallentry/add/",
        {
            "unit": mine.site.pk,
            "level": 2,
            "name": "Trực ban an toàn",
            "email": "",
            "webhook_url": "",
            "min_priority": "urgent",
            "active": "on",
        },
    )
    assert response.status_code == 200 and "webhook" in response.content.decode()  # the form shows the error
    response = client.post(
        "/admin/notify/oncallentry/add/",
        {
            "unit": mine.site.pk,
            "level": 2,
            "name": "Trực ban an toàn",
            "email": "truc-ban@a.vn",
            "webhook_url": "",
            "min_priority": "urgent",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = OnCallEntry.objects.get()
    audit = AuditEntry.objects.get(object_type="notify.oncallentry", action="create")
    assert audit.channel == "admin" and audit.object_id == str(entry.pk)
    response = client.post(f"/admin/notify/oncallentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not OnCallEntry.objects.exists()
    assert AuditEntry.objects.filter(
        object_type="notify.oncallentry", action="delete", channel="admin"
    ).exists()


def test_the_outbox_is_read_only_in_the_admin_and_scoped(client, people, mine, on_call, make_alarm):
    from headframe.notify.models import Delivery
    from headframe.telemetry.notifications import alarm_raised

    on_call(mine.site, 1, email="dieukhien@a-m1.vn", webhook_url="https://sms.a-m1.vn/send?key=bi-mat")
    alarm_raised(make_alarm())
    delivery = Delivery.objects.get(channel="webhook")
    for user in (people.admin_a, people.admin_b):
        user.is_staff = True
        user.save()
    client.force_login(people.admin_a)
    page = client.get("/admin/notify/delivery/").content.decode()
    assert "dieukhien@a-m1.vn" in page and "bi-mat" not in page
    assert client.get(f"/admin/notify/delivery/{delivery.pk}/change/").status_code == 200
    assert client.get("/admin/notify/notification/").status_code == 200
    assert client.get("/admin/notify/delivery/add/").status_code == 403
    client.force_login(people.admin_b)
    assert "dieukhien@a-m1.vn" not in client.get("/admin/notify/delivery/").content.decode()


def test_removing_an_entry_keeps_what_was_sent_to_it(api, people, mine, make_alarm, delete):
    from headframe.notify.models import Delivery
    from headframe.telemetry.notifications import alarm_raised

    entry_id = api(people.admin_a).post(URL, {**ENTRY, "webhook_url": ""}).json()["id"]
    alarm_raised(make_alarm())
    assert delete(people.admin_a, f"{URL}/{entry_id}").status_code == 204
    delivery = Delivery.objects.get()
    assert delivery.entry is None and delivery.target == "dieukhien@a-m1.vn" and delivery.status == "pending"
    [listed] = api(people.admin_a).get("/api/v1/notify/deliveries").json()["items"]
    assert listed["entry"] is None and listed["target"] == "dieukhien@a-m1.vn"
