"""The workforce API (/api/v1/workforce/): workers and their import, check-in and check-out at the lamp room,
who is underground and the muster list — each route's success, its bad inputs, and company B out of reach of
company A's users (404, as for an unknown code)."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from headframe.workforce.models import Certificate, Course, Presence, RosterEntry, Worker
from tests.factories import make_user

pytestmark = pytest.mark.django_db

BASE = "/api/v1/workforce"


def make_worker(employee_no: str, unit, tag: str | None, **extra) -> Worker:
    extra.setdefault("full_name", f"Nguyễn Văn {employee_no}")
    extra.setdefault("trade", "miner")
    extra.setdefault("health_class", 1)
    return Worker.objects.create(employee_no=employee_no, unit=unit, tag_no=tag, **extra)


@pytest.fixture
def lamp(daytime, tree):
    return build_lamp(tree)


@pytest.fixture
def staff(tree):
    return build_staff()


def build_lamp(tree) -> SimpleNamespace:
    """Mine A-M1 with a mandatory course and four people; mine B-M1 with one. Today's rosters at A-M1-K1-F1.

    - 1001 Trần Văn An: rostered, training valid, health class II — may go down;
    - 1002 Lê Văn Bình: rostered, safety training expired ten days ago;
    - 1003 Phạm Văn Cường: not rostered, never trained, health class V;
    - 1004 Đỗ Văn Dũng: rostered, trained — for double check-ins;
    - 2001 (company B): a tag A's users must not find."""
    today = timezone.localdate()
    course = Course.objects.create(
        code="ATVSLD-N3",
        name_vi="Huấn luyện an toàn, vệ sinh lao động nhóm 3",
        name_en="Occupational safety training, group 3",
        validity_months=12,
        required_underground=True,
    )
    ns = SimpleNamespace(course=course, today=today, site=tree.a_m1, position=tree.a_m1_k1_f1)
    ns.ok = make_worker("A-0001", tree.a_m1_k1, "1001", full_name="Trần Văn An", health_class=2)
    ns.lapsed = make_worker("A-0002", tree.a_m1_k1, "1002", full_name="Lê Văn Bình")
    ns.bad = make_worker("A-0003", tree.a_m1, "1003", full_name="Phạm Văn Cường", health_class=5)
    ns.other = make_worker("A-0004", tree.a_m1_k1, "1004", full_name="Đỗ Văn Dũng", trade="electromechanic")
    ns.b = make_worker("B-0001", tree.b_m1_k1, "2001", full_name="Hoàng Thị Bé")
    for worker in (ns.ok, ns.other, ns.b):
        Certificate.objects.create(
            worker=worker,
            course=course,
            passed_on=today - dt.timedelta(days=100),
            expires_on=today + dt.timedelta(days=265),
        )
    Certificate.objects.create(
        worker=ns.lapsed,
        course=course,
        passed_on=today - dt.timedelta(days=375),
        expires_on=today - dt.timedelta(days=10),
    )
    for worker in (ns.ok, ns.lapsed, ns.other):
        RosterEntry.objects.create(worker=worker, position=tree.a_m1_k1_f1, day=today, shift=1)
        RosterEntry.objects.create(worker=worker, position=tree.a_m1_k1_f1, day=today, shift=2)
        RosterEntry.objects.create(worker=worker, position=tree.a_m1_k1_f1, day=today, shift=3)
    RosterEntry.objects.create(worker=ns.b, position=tree.b_m1_k1_f1, day=today, shift=1)
    return ns


def build_staff() -> SimpleNamespace:
    return SimpleNamespace(
        lamp=make_user("den_a", ("lamp_room", "A-M1")),
        overman=make_user("quan_doc_a", ("overman", "A-M1")),
        personnel=make_user("to_chuc_a", ("personnel", "A")),
        viewer=make_user("xem_a", ("viewer", "A")),
        lamp_b=make_user("den_b", ("lamp_room", "B-M1")),
        personnel_b=make_user("to_chuc_b", ("personnel", "B")),
    )


def _post(client, headers, url, data, language: str | None = None):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.post(BASE + url, json.dumps(data), content_type="application/json", **headers, **extra)


def _types(response) -> set[str]:
    return {d["type"] for d in response.json()["detail"]}


# --- check-in -----------------------------------------------------------------------------------------------


def test_check_in_of_a_cleared_person_is_201(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1001", "site": "A-M1"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["employee_no"], body["site"], body["checked_out_at"]) == ("A-0001", "A-M1", None)
    assert body["checked_in_by"] == "den_a" and body["override_by"] is None and body["refusals"] == []
    assert Presence.objects.get(worker=lamp.ok).checked_out_at is None


def test_check_in_refused_lists_every_reason(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1003", "site": "A-M1"})
    assert response.status_code == 409
    assert _types(response) == {"not_rostered", "training_lapsed", "health_class"}
    assert all(d["loc"] == ["body", "tag"] for d in response.json()["detail"])
    assert not Presence.objects.exists()


def test_check_in_refused_for_lapsed_training_names_the_course_and_the_day(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1002", "site": "A-M1"})
    assert response.status_code == 409
    (item,) = response.json()["detail"]
    assert item["type"] == "training_lapsed"
    expired = lamp.today - dt.timedelta(days=10)
    assert "ATVSLD-N3" in item["msg"] or "Occupational safety" in item["msg"]
    assert expired.strftime("%d/%m/%Y") in item["msg"] or expired.isoformat() in item["msg"]


def test_refusal_answers_in_the_request_language(client, token_for, lamp, staff):
    headers = token_for(staff.lamp)
    english = _post(client, headers, "/presence/check-in", {"tag": "1003", "site": "A-M1"})
    vietnamese = _post(client, headers, "/presence/check-in", {"tag": "1003", "site": "A-M1"}, "vi")
    assert vietnamese.status_code == english.status_code == 409
    assert _types(vietnamese) == _types(english)
    assert [d["msg"] for d in vietnamese.json()["detail"]] != [d["msg"] for d in english.json()["detail"]]
    assert "Phạm Văn Cường" in vietnamese.json()["detail"][0]["msg"]


def test_overman_lets_a_refused_person_down_with_a_reason(api, lamp, staff):
    response = api(staff.overman).post(
        f"{BASE}/presence/check-in",
        {"tag": "1002", "site": "A-M1", "override_reason": "Đã huấn luyện lại sáng nay, chờ cấp thẻ"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["override_by"] == "quan_doc_a"
    assert body["override_reason"] == "Đã huấn luyện lại sáng nay, chờ cấp thẻ"
    assert [r["type"] for r in body["refusals"]] == ["training_lapsed"]


def test_lamp_room_operator_may_not_override(api, lamp, staff):
    response = api(staff.lamp).post(
        f"{BASE}/presence/check-in", {"tag": "1002", "site": "A-M1", "override_reason": "xin cho xuống"}
    )
    assert response.status_code == 403
    assert not Presence.objects.exists()


def test_unknown_tag_is_404_naming_the_field(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "9999", "site": "A-M1"})
    assert response.status_code == 404
    assert response.json()["detail"][0]["type"] == "unknown_tag"
    assert response.json()["detail"][0]["loc"] == ["body", "tag"]


def test_another_companys_tag_answers_as_an_unknown_one(api, lamp, staff):
    theirs = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "2001", "site": "A-M1"})
    unknown = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "2999", "site": "A-M1"})
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"][0]["msg"].replace("2001", "X") == unknown.json()["detail"][0][
        "msg"
    ].replace("2999", "X")
    assert "Hoàng Thị Bé" not in theirs.content.decode()


def test_check_in_at_another_companys_mine_is_404(api, lamp, staff):
    theirs = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "2001", "site": "B-M1"})
    unknown = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "2001", "site": "Z-M1"})
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"][0]["loc"] == ["body", "site"]
    assert not Presence.objects.exists()


def test_check_in_needs_the_lamp_room_role(api, lamp, staff):
    response = api(staff.viewer).post(f"{BASE}/presence/check-in", {"tag": "1001", "site": "A-M1"})
    assert response.status_code == 403
    assert not Presence.objects.exists()


def test_double_check_in_is_409(api, lamp, staff):
    first = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1004", "site": "A-M1"})
    again = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1004", "site": "A-M1"})
    assert first.status_code == 201 and again.status_code == 409
    assert _types(again) == {"already_underground"}
    assert Presence.objects.filter(worker=lamp.other).count() == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"site": "A-M1"}, ["body", "tag"]),
        ({"tag": "1001"}, ["body", "site"]),
        ({"tag": "", "site": "A-M1"}, ["body", "tag"]),
        ({"tag": "1001", "site": "A-M1", "override_reason": "x" * 1001}, ["body", "override_reason"]),
        ({"tag": 1001, "site": "A-M1"}, ["body", "tag"]),
    ],
    ids=["no tag", "no site", "empty tag", "reason too long", "tag not text"],
)
def test_bad_check_in_body_is_422(api, lamp, staff, body, loc):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_malformed_json_is_400(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", raw="{tag: 1")
    assert response.status_code == 400


def test_check_in_at_an_area_is_422(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1001", "site": "A-M1-K1"})
    assert response.status_code == 422 and _types(response) == {"not_a_site"}


def test_check_in_needs_a_token(api, lamp):
    response = api(None).post(f"{BASE}/presence/check-in", {"tag": "1001", "site": "A-M1"})
    assert response.status_code == 401


# --- check-out ----------------------------------------------------------------------------------------------


def test_check_out_closes_the_presence(api, lamp, staff):
    api(staff.lamp).post(f"{BASE}/presence/check-in", {"tag": "1001", "site": "A-M1"})
    response = api(staff.lamp).post(f"{BASE}/presence/check-out", {"tag": "1001", "site": "A-M1"})
    assert response.status_code == 200, response.json()
    assert response.json()["checked_out_at"] is not None and response.json()["checked_out_by"] == "den_a"
    assert not Presence.objects.filter(checked_out_at__isnull=True).exists()


def test_check_out_without_check_in_is_409(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-out", {"tag": "1001", "site": "A-M1"})
    assert response.status_code == 409 and _types(response) == {"not_underground"}


def test_check_out_of_unknown_tag_is_404(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-out", {"tag": "x-1", "site": "A-M1"})
    assert response.status_code == 404 and response.json()["detail"][0]["loc"] == ["body", "tag"]


def test_check_out_at_another_companys_mine_is_404(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-out", {"tag": "2001", "site": "B-M1"})
    assert response.status_code == 404


def test_check_out_body_without_tag_is_422(api, lamp, staff):
    response = api(staff.lamp).post(f"{BASE}/presence/check-out", {"site": "A-M1"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "tag"]


# --- who is underground, the muster list ---------------------------------------------------------------------


def _down(worker, site, hours_ago: float) -> Presence:
    return Presence.objects.create(
        worker=worker, site=site, checked_in_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )


def test_underground_lists_the_overdue_first(api, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 0.5)
    _down(lamp.other, tree.a_m1, 30)  # checked in yesterday: long past any shift's end
    _down(lamp.b, tree.b_m1, 1)
    response = api(staff.viewer).get(f"{BASE}/underground")
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"A-M1": 2} and body["total"] == 2
    assert [p["employee_no"] for p in body["people"]] == ["A-0004", "A-0001"]
    assert body["people"][0]["overdue"] is True and body["people"][1]["overdue"] is False
    assert body["people"][1]["position"] == "A-M1-K1-F1" and body["people"][1]["area"] == "A-M1-K1"
    assert "B-0001" not in response.content.decode()


def test_underground_of_one_mine(api, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 1)
    response = api(staff.viewer).get(f"{BASE}/underground", site="A-M1")
    assert response.status_code == 200 and response.json()["counts"] == {"A-M1": 1}


def test_underground_of_another_companys_mine_is_404(api, lamp, staff, tree):
    _down(lamp.b, tree.b_m1, 1)
    theirs = api(staff.viewer).get(f"{BASE}/underground", site="B-M1")
    unknown = api(staff.viewer).get(f"{BASE}/underground", site="Z-M1")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"][0]["loc"] == ["query", "site"]
    assert "B-0001" not in theirs.content.decode()


def test_muster_list_groups_by_area_and_position(api, lamp, staff, tree):
    _down(lamp.ok, tree.a_m1, 1)
    _down(lamp.other, tree.a_m1, 2)
    _down(lamp.bad, tree.a_m1, 1)  # let down without a roster: no position
    response = api(staff.viewer).get(f"{BASE}/muster/A-M1")
    assert response.status_code == 200
    body = response.json()
    assert body["site"] == "A-M1" and body["total"] == 3
    rostered = next(g for g in body["groups"] if g["position"] == "A-M1-K1-F1")
    assert rostered["area"] == "A-M1-K1" and rostered["count"] == 2
    assert sorted(p["employee_no"] for p in rostered["people"]) == ["A-0001", "A-0004"]
    assert sum(g["count"] for g in body["groups"]) == 3


def test_muster_list_of_another_companys_mine_is_404(api, lamp, staff, tree):
    _down(lamp.b, tree.b_m1, 1)
    theirs = api(staff.viewer).get(f"{BASE}/muster/B-M1")
    unknown = api(staff.viewer).get(f"{BASE}/muster/Z-M1")
    assert theirs.status_code == unknown.status_code == 404
    assert "Hoàng Thị Bé" not in theirs.content.decode()


# --- workers ------------------------------------------------------------------------------------------------


def test_workers_are_scoped_to_the_company(api, lamp, staff):
    response = api(staff.viewer).get(f"{BASE}/workers")
    assert response.status_code == 200
    numbers = {w["employee_no"] for w in response.json()["items"]}
    assert numbers == {"A-0001", "A-0002", "A-0003", "A-0004"}


def test_health_class_is_shown_only_to_who_manages_the_workers(api, lamp, staff):
    seen_by_viewer = api(staff.viewer).get(f"{BASE}/workers").json()["items"]
    seen_by_personnel = api(staff.personnel).get(f"{BASE}/workers").json()["items"]
    assert {w["health_class"] for w in seen_by_viewer} == {None}
    assert {w["employee_no"]: w["health_class"] for w in seen_by_personnel}["A-0003"] == 5


def test_workers_page_by_cursor(api, lamp, staff):
    first = api(staff.viewer).get(f"{BASE}/workers", limit=3).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = api(staff.viewer).get(f"{BASE}/workers", limit=3, before=first["next_cursor"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_workers_of_a_unit(api, lamp, staff):
    response = api(staff.viewer).get(f"{BASE}/workers", unit="A-M1-K1")
    assert {w["employee_no"] for w in response.json()["items"]} == {"A-0001", "A-0002", "A-0004"}


def test_workers_of_another_companys_unit_is_404(api, lamp, staff):
    response = api(staff.viewer).get(f"{BASE}/workers", unit="B")
    assert response.status_code == 404 and response.json()["detail"][0]["loc"] == ["query", "unit"]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"before": "x"}], ids=str)
def test_bad_workers_query_is_422(api, lamp, staff, query):
    assert api(staff.viewer).get(f"{BASE}/workers", **query).status_code == 422


HEADER = "employee_no,full_name,unit,team,trade,skill_grade,hire_date,health_class,tag_no\n"


def _import(client, headers, text: str, name: str = "nhan_su.csv", language: str | None = None):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    upload = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    return client.post(f"{BASE}/workers/import", {"file": upload}, **headers, **extra)


def test_import_creates_and_updates_workers(client, token_for, lamp, staff):
    csv = (
        HEADER
        + "A-0100,Vũ Văn Hải,A-M1-K1,Tổ 1,miner,4,15/03/2019,2,3100\n"
        + "A-0001,Trần Văn An,A-M1-K1,Tổ 2,miner,5,01/02/2015,2,1001\n"
    )
    response = _import(client, token_for(staff.personnel), csv)
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 1}
    hai = Worker.objects.get(employee_no="A-0100")
    assert (hai.full_name, hai.unit.code, hai.skill_grade, hai.tag_no) == ("Vũ Văn Hải", "A-M1-K1", 4, "3100")
    assert hai.hire_date == dt.date(2019, 3, 15)


def test_import_lists_every_bad_cell_and_writes_nothing(client, token_for, lamp, staff):
    csv = (
        HEADER
        + "A-0101,Vũ Văn Hải,A-M1-K1,,miner,9,15/03/2019,2,3101\n"
        + "A-0102,,A-M1-K1,,astronaut,3,32/13/2019,8,3102\n"
    )
    response = _import(client, token_for(staff.personnel), csv)
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert ("row", 2, "skill_grade") in locs
    assert {
        ("row", 3, "full_name"),
        ("row", 3, "trade"),
        ("row", 3, "hire_date"),
        ("row", 3, "health_class"),
    } <= locs
    assert not Worker.objects.filter(employee_no__in=["A-0101", "A-0102"]).exists()


def test_import_into_another_companys_unit_is_refused(client, token_for, lamp, staff):
    csv = HEADER + "A-0103,Vũ Văn Hải,B-M1-K1,,miner,3,15/03/2019,2,3103\n"
    response = _import(client, token_for(staff.personnel), csv)
    assert response.status_code in (403, 404, 422)
    assert response.json()["detail"][0]["loc"][0] == "row"
    assert not Worker.objects.filter(employee_no="A-0103").exists()


def test_import_needs_the_personnel_role(client, token_for, lamp, staff):
    csv = HEADER + "A-0104,Vũ Văn Hải,A-M1-K1,,miner,3,15/03/2019,2,3104\n"
    response = _import(client, token_for(staff.viewer), csv)
    assert response.status_code in (403, 422)
    assert not Worker.objects.filter(employee_no="A-0104").exists()


def test_import_of_a_file_that_is_not_a_table_is_422(client, token_for, lamp, staff):
    response = _import(client, token_for(staff.personnel), "hello", name="notes.txt")
    assert response.status_code == 422


def test_import_without_a_file_is_422(client, token_for, lamp, staff):
    response = client.post(f"{BASE}/workers/import", {}, **token_for(staff.personnel))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "file"


def test_import_errors_answer_in_vietnamese_when_asked(client, token_for, lamp, staff):
    csv = HEADER + "A-0105,Vũ Văn Hải,A-M1-K1,,astronaut,3,15/03/2019,2,3105\n"
    english = _import(client, token_for(staff.personnel), csv)
    vietnamese = _import(client, token_for(staff.personnel), csv, language="vi")
    assert english.status_code == vietnamese.status_code == 422
    assert english.json()["detail"][0]["msg"] != vietnamese.json()["detail"][0]["msg"]
