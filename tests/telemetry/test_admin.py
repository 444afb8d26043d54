"""The telemetry admin: scoped to the site, changes through the audited services, alarms read-only."""

from headframe.core.models import AuditEntry
from headframe.telemetry.models import Sensor


def test_a_site_administrator_sees_and_edits_only_its_own_sensors_with_audit(client, users, mine):
    client.force_login(users.admin_b)
    assert "A1-CH4-01" not in client.get("/admin/telemetry/sensor/").content.decode()
    client.force_login(users.admin_a)
    assert "A1-CH4-01" in client.get("/admin/telemetry/sensor/").content.decode()
    url = f"/admin/telemetry/gateway/{mine.gateway.pk}/change/"
    response = client.post(url, {"code": "GW-A1", "name": "Trạm A1 mới", "site": mine.site.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(object_type="telemetry.gateway", action="update")
    assert entry.after == {"name": "Trạm A1 mới"} and entry.channel == "admin"


def test_alarms_and_the_quarantine_cannot_be_changed_in_the_admin(client, users, mine):
    client.force_login(users.admin_a)
    assert client.get("/admin/telemetry/alarm/").status_code == 200
    assert client.get("/admin/telemetry/alarm/add/").status_code == 403
    assert client.get("/admin/telemetry/quarantine/add/").status_code == 403
    client.force_login(users.viewer_a)
    assert client.get("/admin/telemetry/quarantine/").status_code == 302  # not staff: to the admin login
    assert Sensor.objects.filter(code="A1-CH4-01").exists()
