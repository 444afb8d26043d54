"""The meeting's fast directive form keeps what was typed: on an error every field comes back as typed and the
message shows once, next to its field; the person list holds only the people of the chosen owner unit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from headframe.briefing.models import Directive
from headframe.org import services as org_services
from tests.briefing.helpers_meetings import bridge_points, meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(tree, users):
    bridge_points(tree)
    org_services.person_create(actor=None, employee_no="P-A", full_name="Nguyễn Văn An", unit_code="A-M1")
    org_services.person_create(actor=None, employee_no="P-B", full_name="Trần Thị Bình", unit_code="B")
    return meeting(unit="G", actor=users.planner_g)


def _url(m, tail=""):
    return f"/briefing/meetings/{m.pk}/{tail}"


def _future(days=20) -> str:
    return f"{timezone.localdate() + dt.timedelta(days=days):%d/%m/%Y}"


def _typed(**over):
    data = {
        "text": "Kiểm tra lại băng tải số 3",
        "owner_unit": "A",
        "owner_person": "P-A",
        "deadline": _future(),
        "priority": "high",
    }
    return {**data, **over}


def test_a_refused_directive_keeps_every_typed_field(client, users, room):
    client.force_login(users.planner_g)
    past = f"{timezone.localdate() - dt.timedelta(days=3):%d/%m/%Y}"
    response = client.post(_url(room, "directives/"), _typed(deadline=past))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Kiểm tra lại băng tải số 3"' in html
    assert '<option value="A" selected>' in html
    assert '<option value="P-A" selected>' in html
    assert f'value="{past}"' in html
    assert '<option value="high" selected>' in html
    assert not Directive.objects.exists()


def test_the_error_shows_once_next_to_its_field(client, users, room):
    client.force_login(users.planner_g)
    past = f"{timezone.localdate() - dt.timedelta(days=3):%d/%m/%Y}"
    html = client.post(_url(room, "directives/"), _typed(deadline=past)).content.decode()
    assert html.count('data-testid="directive-error-deadline"') == 1
    assert html.count(past) == 2  # the typed value, and the message naming it once
    assert 'class="messages"' not in html


def test_a_badly_typed_deadline_is_a_vietnamese_field_error(client, users, room):
    client.force_login(users.planner_g)
    response = client.post(_url(room, "directives/"), _typed(deadline="31/31/2026"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "dd/mm/yyyy" in html and 'data-testid="directive-error-deadline"' in html
    assert 'value="Kiểm tra lại băng tải số 3"' in html


def test_an_empty_text_is_said_next_to_the_text(client, users, room):
    client.force_login(users.planner_g)
    html = client.post(_url(room, "directives/"), _typed(text="")).content.decode()
    assert html.count('data-testid="directive-error-text"') == 1
    assert '<option value="P-A" selected>' in html


def test_a_good_directive_is_recorded(client, users, room):
    client.force_login(users.planner_g)
    response = client.post(_url(room, "directives/"), _typed())
    assert response.status_code == 302
    d = Directive.objects.get()
    assert d.owner_unit.code == "A" and d.owner_person.employee_no == "P-A"


def test_the_person_list_holds_only_the_owner_units_people(client, users, room):
    client.force_login(users.planner_g)
    html = client.get(_url(room)).content.decode()
    first_owner = html.split('data-testid="directive-owner">')[1].split('value="')[1].split('"')[0]
    person_list = html.split('data-testid="directive-person"')[1].split("</select>")[0]
    assert first_owner == "G"  # the group: everyone under it
    assert "P-A" in person_list and "P-B" in person_list
    html = client.post(_url(room, "directives/"), _typed(text="")).content.decode()
    person_list = html.split('data-testid="directive-person"')[1].split("</select>")[0]
    assert "P-A" in person_list and "P-B" not in person_list


def test_people_endpoint_lists_the_people_of_one_owner_unit(client, users, room):
    client.force_login(users.planner_g)
    data = client.get(_url(room, "people/"), {"unit": "B"}).json()
    assert [p["employee_no"] for p in data["people"]] == ["P-B"]
    assert data["people"][0]["label"] == "B · Trần Thị Bình"


def test_people_endpoint_hides_units_one_may_not_see(client, users, room):
    client.force_login(users.admin_a)
    assert client.get(_url(room, "people/"), {"unit": "B"}).status_code == 404


def test_progress_form_keeps_comment_and_evidence_on_an_error(client, users, room):
    client.force_login(users.planner_g)
    client.post(_url(room, "directives/"), _typed())
    d = Directive.objects.get()
    response = client.post(
        f"/briefing/directives/{d.pk}/", {"status": "no-such", "comment": "Đã họp tổ", "evidence": "BB số 7"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Đã họp tổ" in html and "BB số 7" in html
    assert html.count('data-testid="progress-error-status"') == 1
