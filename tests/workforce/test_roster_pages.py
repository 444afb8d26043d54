"""Rosters over the API and on the page: the grid of a day, a crew set, last week copied, a workbook imported (all
rows or none, every bad cell named by row and column), and company B out of reach of company A's people."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from headframe.core.models import AuditEntry
from headframe.workforce.models import RosterEntry
from tests.factories import make_user
from tests.workforce.conftest import TODAY, roster

BASE = "/api/v1/workforce"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _crew(position, day=TODAY, shift=1) -> set[str]:
    return set(
        RosterEntry.objects.filter(position=position, day=day, shift=shift).values_list(
            "worker__employee_no", flat=True
        )
    )


def _csv(text: str, name: str = "rosters.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_the_api_sets_reads_and_refuses(wf):
    client = _client(wf.personnel_a)
    body = {"position": "A-M1-K1-F1", "day": TODAY.isoformat(), "shift": 1, "employee_nos": ["A001", "A002"]}
    answer = client.put(f"{BASE}/rosters", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["crew"] == 2 and _crew(wf.a_m1_k1_f1) == {"A001", "A002"}
    grid = client.get(f"{BASE}/rosters", {"unit": "A-M1", "day": TODAY.isoformat()}).json()
    assert grid["people"] == 2 and grid["shifts"] == 3
    face = next(p for p in grid["positions"] if p["position"] == "A-M1-K1-F1")
    assert [p["employee_no"] for p in face["shifts"][0]] == ["A001", "A002"]  # by name: An, Bình
    # the same person at another position on the same shift: 409 naming the field as sent
    other = {**body, "position": "A-M1-K1-F2", "employee_nos": ["A001"]}
    answer = client.put(f"{BASE}/rosters", other, content_type="application/json")
    assert answer.status_code == 409
    assert answer.json()["detail"][0]["loc"] == ["body", "employee_nos", 0]
    # a position of company B is not revealed; a worker of B is unknown
    answer = client.put(
        f"{BASE}/rosters", {**body, "position": "B-M1-K1-F1"}, content_type="application/json"
    )
    assert answer.status_code == 404 and answer.json()["detail"][0]["loc"] == ["body", "position"]
    answer = client.put(
        f"{BASE}/rosters", {**body, "employee_nos": ["B001"]}, content_type="application/json"
    )
    assert answer.status_code == 404
    assert client.get(f"{BASE}/rosters", {"unit": "B-M1", "day": TODAY.isoformat()}).status_code == 404
    assert _crew(wf.a_m1_k1_f1) == {"A001", "A002"}  # nothing half-written by the refusals


def test_copy_week_over_the_api(wf):
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    roster(wf.ann, wf.a_m1_k1_f1, day=monday - dt.timedelta(days=7))
    client = _client(wf.personnel_a)
    body = {
        "unit": "A-M1",
        "from_monday": (monday - dt.timedelta(days=7)).isoformat(),
        "to_monday": monday.isoformat(),
    }
    answer = client.post(f"{BASE}/rosters/copy-week", body, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"rows": 1}
    assert _crew(wf.a_m1_k1_f1, day=monday) == {"A001"}
    answer = client.post(
        f"{BASE}/rosters/copy-week",
        {**body, "to_monday": TODAY.isoformat() if TODAY.weekday() else "2027-02-09"},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "to_monday"]


def test_the_import_sets_every_crew_listed(wf):
    roster(wf.cuong, wf.a_m1_k1_f1)  # replaced: the file lists the whole crew of that shift
    day = TODAY.strftime("%d/%m/%Y")
    text = f"day,shift,position,employee_no\n{day},1,A-M1-K1-F1,A001\n{day},1,A-M1-K1-F1,A002\n{day},2,A-M1-K1-F2,A003\n"
    answer = _client(wf.personnel_a).post(f"{BASE}/rosters/import", {"file": _csv(text)})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"rows": 3}
    assert _crew(wf.a_m1_k1_f1) == {"A001", "A002"} and _crew(wf.a_m1_k1_f2, shift=2) == {"A003"}


def test_a_bad_import_names_each_row_and_column_and_writes_nothing(wf):
    roster(wf.cuong, wf.a_m1_k1_f1)
    before = RosterEntry.objects.count()
    audits = AuditEntry.objects.count()
    day = TODAY.strftime("%d/%m/%Y")
    text = (
        "day,shift,position,employee_no\n"
        f"{day},1,A-M1-K1-F1,A001\n"
        f"31/02/2027,1,A-M1-K1-F1,A002\n"  # no such day
        f"{day},x,A-M1-K1-F1,A002\n"  # no such shift
        f"{day},1,A-M1-K1-F2,A001\n"  # A001 twice on the same shift
        f"{day},1,A-M1-K1-F1,\n"  # no one named
    )
    answer = _client(wf.personnel_a).post(
        f"{BASE}/rosters/import", {"file": _csv(text)}, HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert answer.status_code == 422
    locs = [tuple(item["loc"]) for item in answer.json()["detail"]]
    assert locs == [
        ("row", 3, "day"),
        ("row", 4, "shift"),
        ("row", 5, "employee_no"),
        ("row", 6, "employee_no"),
    ]
    assert "A001" in answer.json()["detail"][2]["msg"] and "2" in answer.json()["detail"][2]["msg"]
    # refusals of roster_set itself (B's worker is unknown here) point at the file's row too
    text = f"day,shift,position,employee_no\n{day},1,A-M1-K1-F1,A001\n{day},1,A-M1-K1-F1,B001\n"
    answer = _client(wf.personnel_a).post(f"{BASE}/rosters/import", {"file": _csv(text)})
    assert answer.status_code == 422
    assert [tuple(i["loc"]) for i in answer.json()["detail"]] == [("row", 3, "employee_no")]
    assert RosterEntry.objects.count() == before and AuditEntry.objects.count() == audits
    assert _crew(wf.a_m1_k1_f1) == {"A003"}
    answer = _client(wf.personnel_a).post(f"{BASE}/rosters/import", {"file": _csv("day,shift\n", "r.csv")})
    assert answer.status_code == 422
    assert {tuple(i["loc"]) for i in answer.json()["detail"]} == {
        ("header", "position"),
        ("header", "employee_no"),
    }


def test_the_page_shows_the_grid_and_saves_a_crew(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    client = _client(wf.personnel_a)
    page = client.get("/workforce/rosters/A-M1/", {"day": TODAY.isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nguyễn Văn An" in html and 'data-testid="crew-form"' in html
    answer = client.post(
        f"/workforce/rosters/A-M1/?day={TODAY.isoformat()}",
        {"action": "set", "position": "A-M1-K1-F1", "shift": "1", "employee_nos": "A001\nA002"},
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert answer.status_code == 302
    assert _crew(wf.a_m1_k1_f1) == {"A001", "A002"}
    page = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Trần Văn Bình" in page
    # a refusal is shown in the page's language, and nothing changes
    answer = client.post(
        f"/workforce/rosters/A-M1/?day={TODAY.isoformat()}",
        {"action": "set", "position": "A-M1-K1-F2", "shift": "1", "employee_nos": "A001"},
    )
    assert _crew(wf.a_m1_k1_f2) == set()
    page = client.get(answer["Location"]).content.decode()
    assert "A-M1-K1-F1" in page  # the message names where A001 already works


def test_who_may_see_and_edit_the_page(wf):
    viewer = _client(wf.lamp_a)  # sees A-M1, may not edit rosters
    page = viewer.get("/workforce/rosters/A-M1/", {"day": TODAY.isoformat()})
    assert page.status_code == 200 and 'data-testid="crew-form"' not in page.content.decode()
    assert _client(wf.personnel_a).get("/workforce/rosters/B-M1/").status_code == 404
    assert _client(wf.personnel_a).get("/workforce/rosters/").status_code == 302
    page = _client(wf.personnel_a).get(
        "/workforce/rosters/A-M1/", {"day": "31/02/2027"}, HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert page.status_code == 200 and "Không phải ngày (dd/mm/yyyy): 31/02/2027" in page.content.decode()


@pytest.fixture(autouse=True)
def _db(db):
    return db


def test_a_group_officer_cannot_roster_one_companys_worker_at_anothers_position(wf):
    """One person, one company: company A's worker is unknown at B's work positions (as at B's lamp room), so
    B's roster never shows A's people."""
    group_hr = make_user("hr_group", ("personnel", "G"))
    body = {"position": "B-M1-K1-F1", "day": TODAY.isoformat(), "shift": 1, "employee_nos": ["A001"]}
    answer = _client(group_hr).put(f"{BASE}/rosters", body, content_type="application/json")
    assert answer.status_code == 404 and answer.json()["detail"][0]["loc"] == ["body", "employee_nos", 0]
    assert not RosterEntry.objects.filter(position=wf.b_m1_k1_f1).exists()
