"""The safety pages render for the roles that use them and refuse units outside one's scope."""

from __future__ import annotations

import pytest

from headframe.safety.models import Answer, Finding
from tests.factories import PASSWORD
from tests.safety.conftest import inspection_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client):
    def log_in(user):
        client.login(username=user.username, password=PASSWORD)
        return client

    return log_in


def test_every_page_renders(as_user, campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get()
    client = as_user(people.safety)
    for url in (
        "/safety/",
        "/safety/campaigns/TET-2027/",
        f"/safety/inspections/{inspection_of(campaign, mine.face).pk}/",
        f"/safety/inspections/{inspection_of(campaign, mine.heading).pk}/",
        "/safety/readiness/?unit=A-M1",
        "/safety/findings/?unit=A",
        f"/safety/findings/{finding.pk}/",
        "/safety/incidents/?unit=A-M1",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    export = client.get("/safety/campaigns/TET-2027/?format=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_form_saves_answers_and_shows_errors_in_place(as_user, campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    client = as_user(people.safety)
    url = f"/safety/inspections/{inspection.pk}/"
    bad = client.post(url, {"action": "save", "a-G-CH4-number": "150", "a-R-ROOF-choice": "pass"})
    assert bad.status_code == 200 and "error-G-CH4" in bad.content.decode()
    assert not Answer.objects.exists()
    ok = client.post(url, {"action": "save", "a-G-CH4-number": "1,2", "a-R-ROOF-choice": "pass"})
    assert ok.status_code == 302
    answer = Answer.objects.get(item__code="G-CH4")
    assert answer.number == 1.2 and answer.passed is False


def test_pages_outside_scope_are_404(as_user, campaign, mine, people):
    client = as_user(people.safety_b)
    assert client.get(f"/safety/inspections/{inspection_of(campaign, mine.face).pk}/").status_code == 404
    assert client.get("/safety/campaigns/TET-2027/").status_code == 404
