"""Navigation by permission: each demo role sees only the menu entries and actions it may use."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from headframe.briefing import services as briefing
from headframe.briefing.models import DirectiveStatus
from tests.factories import make_user

# The demo's roles (headframe.demo.DEMO_USERS) on the test tree: role, unit.
DEMO_ROLES = {
    "admin": ("admin", "G"),
    "planner": ("planner", "G"),
    "viewer": ("viewer", "G"),
    "dispatcher": ("dispatcher", "A"),
    "safety": ("safety_officer", "A"),
    "reporter": ("reporter", "A-M1"),
}
ALL_ENTRIES = {
    "home",
    "org",
    "production",
    "entry",
    "briefing",
    "priorities",
    "telemetry",
    "safety",
    "workforce",
    "audit",
}
HIDDEN = {
    "admin": set(),
    "planner": set(),
    "viewer": {"entry", "audit"},
    "dispatcher": {"audit"},
    "safety": {"entry"},
    "reporter": {"audit"},
}


@pytest.fixture
def role_users(tree):
    return {name: make_user(name, grant) for name, grant in DEMO_ROLES.items()}


def _nav_keys(html: str) -> set[str]:
    return set(re.findall(r'<li><a href="[^"]+" class="[^"]*" data-testid="nav-([a-z]+)"', html))


@pytest.mark.parametrize("name", list(DEMO_ROLES))
def test_each_role_sees_only_the_menu_entries_it_may_use(client, role_users, name):
    client.force_login(role_users[name])
    html = client.get("/").content.decode()
    assert _nav_keys(html) == ALL_ENTRIES - HIDDEN[name]
    # Every entry shown opens (no 403 behind a menu entry) and every hidden one would have refused.
    urls = dict(re.findall(r'<li><a href="([^"]+)" class="[^"]*" data-testid="nav-([a-z]+)"', html))
    for url, key in urls.items():
        assert client.get(url).status_code == 200, (name, key, url)
    if "audit" in HIDDEN[name]:
        assert client.get("/audit/").status_code == 403


def test_viewer_and_safety_do_not_see_enter_figures_in_vietnamese(client, role_users):
    for name in ("viewer", "safety"):
        client.force_login(role_users[name])
        html = client.get("/").content.decode()
        assert "Nhập số liệu" not in html
    for name in ("viewer", "dispatcher", "reporter"):
        client.force_login(role_users[name])
        assert "Nhật ký thay đổi" not in client.get("/").content.decode()
    client.force_login(role_users["planner"])
    html = client.get("/").content.decode()
    assert "Nhập số liệu" in html and "Nhật ký thay đổi" in html


def _offered(client, pk) -> list[str]:
    html = client.get(f"/briefing/directives/{pk}/").content.decode()
    select = re.search(r'<select name="status" data-testid="progress-status">(.*?)</select>', html, re.S)
    return re.findall(r'<option value="([a-z_]+)"', select.group(1)) if select else []


def test_directive_owner_is_offered_only_the_statuses_it_may_set(client, role_users):
    deadline = timezone.localdate() + dt.timedelta(days=10)
    d = briefing.directive_create(
        actor=role_users["planner"], text="Gia cố lò", owner_unit_code="A-M1", deadline=deadline
    )
    # The owner unit's reporter: moves it along, may not cancel (that is for where it was issued).
    client.force_login(role_users["reporter"])
    assert _offered(client, d.pk) == ["open", "in_progress", "done"]
    # A viewer may report nothing: no form at all.
    client.force_login(role_users["viewer"])
    assert _offered(client, d.pk) == []
    assert 'data-testid="progress-form"' not in client.get(f"/briefing/directives/{d.pk}/").content.decode()
    # The planner who issued it may cancel too.
    client.force_login(role_users["planner"])
    assert _offered(client, d.pk) == DirectiveStatus.values

    # Once done, the reporter may only comment (keep "done"); reopening is the issuer's.
    briefing.directive_update_status(
        actor=role_users["reporter"], directive=d, status="done", evidence="Đã gia cố 12 m"
    )
    client.force_login(role_users["reporter"])
    assert _offered(client, d.pk) == ["done"]
    # And what is offered is what the service accepts: each offered status posts without a refusal.
    response = client.post(f"/briefing/directives/{d.pk}/", {"status": "done", "comment": "Ảnh kèm theo"})
    assert response.status_code == 302
