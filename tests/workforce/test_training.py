"""Who may work where: rosters refuse the unfit (health class, lapsed or missing training underground, a trade's
licence anywhere), a week's copy is all or none, the safety readiness gate counts the unfit rostered at a
position; the training matrix, its coverage and the certificates' import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from headframe.core.errors import NotFound, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.safety.selectors import readiness
from headframe.workforce.models import Certificate, Course, RosterEntry
from headframe.workforce.selectors.training import training_coverage, training_matrix
from headframe.workforce.services import roster_copy_week, roster_set
from headframe.workforce.services.training import add_months, certificates_import
from tests.factories import make_unit
from tests.workforce.conftest import NOW, TODAY, make_worker, roster

F1 = "A-M1-K1-F1"


def test_roster_refuses_health_class_and_lapsed_or_missing_training_underground(wf):
    wf.binh.health_class = 4
    wf.binh.save()
    Certificate.objects.filter(worker=wf.cuong).update(expires_on=dt.date(2027, 2, 1))
    dung = make_worker("A004", wf.a_m1_k1, name="Đỗ Văn Dũng")  # no certificate at all
    with pytest.raises(ValidationFailed) as caught:
        roster_set(
            actor=wf.personnel_a,
            position_code=F1,
            day=TODAY,
            shift=1,
            employee_nos=["A001", "A002", "A003", "A004"],
        )
    items = caught.value.items
    assert [(i.loc[-1], i.type) for i in items] == [
        (1, "health_class"),
        (2, "training_lapsed"),
        (3, "training_lapsed"),
    ]
    assert "Trần Văn Bình" in items[0].msg and "IV" in items[0].msg
    assert "01/02/2027" in items[1].msg and dung.full_name in items[2].msg
    assert not RosterEntry.objects.exists()  # nothing written


def test_a_trade_licence_is_needed_everywhere_and_underground_rules_only_underground(wf):
    Course.objects.create(
        code="NOMIN",
        name_vi="Nổ mìn",
        name_en="Blasting licence",
        validity_months=24,
        required_trades=["blaster"],
    )
    make_unit("A-P1", "site", "A", site_type="open_pit")
    make_unit("A-P1-K1", "area", "A-P1")
    make_unit("A-P1-K1-F1", "position", "A-P1-K1")
    blaster = make_worker("A009", wf.a_m1_k1, trade="blaster", health=5)
    with pytest.raises(ValidationFailed) as caught:
        roster_set(
            actor=wf.personnel_a, position_code="A-P1-K1-F1", day=TODAY, shift=1, employee_nos=["A009"]
        )
    assert [i.type for i in caught.value.items] == ["trade_licence"]  # health and ATVSLD: not at an open pit
    Certificate.objects.create(
        worker=blaster, course=Course.objects.get(code="NOMIN"), passed_on=dt.date(2026, 1, 5)
    )
    assert (
        roster_set(
            actor=wf.personnel_a, position_code="A-P1-K1-F1", day=TODAY, shift=1, employee_nos=["A009"]
        )
        == 1
    )
    with pytest.raises(ValidationFailed) as caught:  # underground: health class V and no ATVSLD
        roster_set(actor=wf.personnel_a, position_code=F1, day=TODAY, shift=2, employee_nos=["A009"])
    assert sorted(i.type for i in caught.value.items) == ["health_class", "training_lapsed"]


def test_a_certificate_counts_from_the_day_passed_to_its_expiry_inclusive(wf):
    Certificate.objects.filter(worker=wf.ann).update(passed_on=TODAY, expires_on=TODAY)
    assert roster_set(actor=wf.personnel_a, position_code=F1, day=TODAY, shift=1, employee_nos=["A001"]) == 1
    with pytest.raises(ValidationFailed):
        roster_set(
            actor=wf.personnel_a,
            position_code=F1,
            day=TODAY + dt.timedelta(days=1),
            shift=1,
            employee_nos=["A001"],
        )
    with pytest.raises(ValidationFailed):  # not yet passed the day before
        roster_set(
            actor=wf.personnel_a,
            position_code=F1,
            day=TODAY - dt.timedelta(days=1),
            shift=1,
            employee_nos=["A001"],
        )


def test_copying_a_week_with_someone_unfit_copies_nothing_and_names_each_once(wf):
    last_monday, monday = dt.date(2027, 2, 1), dt.date(2027, 2, 8)
    for offset in range(3):
        roster(wf.ann, wf.a_m1_k1_f1, last_monday + dt.timedelta(days=offset), 1)
        roster(wf.binh, wf.a_m1_k1_f1, last_monday + dt.timedelta(days=offset), 1)
    Certificate.objects.filter(worker=wf.binh).update(expires_on=monday + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as caught:
        roster_copy_week(actor=wf.personnel_a, unit_code="A-M1", from_monday=last_monday, to_monday=monday)
    [item] = caught.value.items
    assert item.type == "training_lapsed" and "Trần Văn Bình" in item.msg
    assert "10/02/2027" in item.msg  # the first day it bites
    assert not RosterEntry.objects.filter(day__gte=monday).exists()
    Certificate.objects.filter(worker=wf.binh).update(expires_on=dt.date(2027, 6, 1))
    assert (
        roster_copy_week(actor=wf.personnel_a, unit_code="A-M1", from_monday=last_monday, to_monday=monday)
        == 6
    )


def test_the_readiness_gate_counts_the_unfit_rostered_today_without_naming_them(wf):
    roster(wf.ann, wf.a_m1_k1_f1, TODAY, 1)
    roster(wf.binh, wf.a_m1_k1_f1, TODAY, 2)
    roster(wf.cuong, wf.a_m1_k1_f1, TODAY, 3)
    codes = [r["code"] for r in readiness(wf.a_m1_k1_f1, NOW).reasons]
    assert "workforce_unfit" not in codes
    wf.binh.health_class = 5
    wf.binh.save()
    Certificate.objects.filter(worker=wf.cuong).delete()
    roster(wf.ann, wf.a_m1_k1_f1, TODAY + dt.timedelta(days=1), 1)  # another day: not counted
    reasons = [r for r in readiness(wf.a_m1_k1_f1, NOW).reasons if r["code"] == "workforce_unfit"]
    assert len(reasons) == 1
    msg = reasons[0]["msg"]
    assert "2" in msg and "Bình" not in msg and "A002" not in msg and "ATVSLD" not in msg
    assert not readiness(wf.a_m1_k1_f2, NOW).reasons or all(
        r["code"] != "workforce_unfit" for r in readiness(wf.a_m1_k1_f2, NOW).reasons
    )


def test_training_matrix_states_totals_and_coverage(wf):
    Course.objects.create(code="NOMIN", name_vi="Nổ mìn", validity_months=24, required_trades=["blaster"])
    Certificate.objects.filter(worker=wf.ann).update(expires_on=TODAY + dt.timedelta(days=20))
    Certificate.objects.filter(worker=wf.binh).update(expires_on=TODAY + dt.timedelta(days=75))
    Certificate.objects.filter(worker=wf.cuong).update(expires_on=TODAY - dt.timedelta(days=1))
    make_worker("A005", wf.a_m1_k1, trade="blaster")
    Certificate.objects.create(
        worker_id=Certificate.objects.get(worker=wf.ann).worker_id,
        course=wf.first_aid,
        passed_on=dt.date(2026, 1, 1),
        expires_on=dt.date(2030, 1, 1),
    )
    matrix = training_matrix(wf.personnel_a, "A", on=TODAY)
    assert [c.code for c in matrix.courses] == ["ATVSLD", "NOMIN", "SOCUU"]
    states = {r.worker.employee_no: [c.state for c in r.cells] for r in matrix.rows}
    assert states == {
        "A001": ["expiring_30", "missing", "valid"],
        "A002": ["expiring_90", "missing", "missing"],
        "A003": ["expired", "missing", "missing"],
        "A005": ["missing", "missing", "missing"],
    }
    needed = {r.worker.employee_no: [c.needed for c in r.cells] for r in matrix.rows}
    assert needed["A005"] == [True, True, False] and needed["A001"] == [True, False, False]
    totals = {t.course.code: (t.valid, t.expiring, t.expired, t.missing) for t in matrix.totals}
    assert totals == {"ATVSLD": (0, 2, 1, 1), "NOMIN": (0, 0, 0, 1), "SOCUU": (1, 0, 0, 0)}
    assert matrix.coverage == 50  # A001 and A002 of four
    assert training_coverage(wf.a, TODAY) == 50
    assert training_coverage(wf.a_m1_k2, TODAY) == 0
    assert training_coverage(wf.a_m2, TODAY) is None
    assert "B001" not in states  # another company's people never show


def test_training_matrix_of_another_company_is_not_found(wf):
    with pytest.raises(NotFound):
        training_matrix(wf.personnel_a, "B")


def _csv(text: str) -> tuple[bytes, str]:
    return text.encode(), "chung_chi.csv"


def test_certificates_import_all_or_none_every_bad_cell_named(wf):
    content, name = _csv(
        "employee_no,course,passed_on,expires_on\n"
        "A001,SOCUU,05/01/2027,\n"
        "A002,NOPE,05/01/2027,\n"
        "B001,SOCUU,05/01/2027,\n"
        "A003,SOCUU,31/02/2027,01/01/2026\n"
        "A001,ATVSLD,10/01/2027,01/01/2027\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        certificates_import(actor=wf.personnel_a, content=content, filename=name)
    locs = [(i.loc, i.type) for i in caught.value.items]
    assert locs == [
        (("row", 3, "course"), "unknown_course"),
        (("row", 4, "employee_no"), "unknown_worker"),  # company B's worker is not revealed
        (("row", 5, "passed_on"), "bad_date"),
        (("row", 6, "expires_on"), "period_order"),
    ]
    assert Certificate.objects.count() == 4


def test_certificates_import_creates_then_updates_with_the_course_validity(wf):
    content, name = _csv(
        "employee_no,course,passed_on,expires_on\nA001,SOCUU,31/01/2027,\nA002,ATVSLD,01/02/2027,\n"
    )
    result = certificates_import(actor=wf.personnel_a, content=content, filename=name)
    assert (result.created, result.updated) == (2, 0)
    assert Certificate.objects.get(worker=wf.ann, course=wf.first_aid).expires_on == dt.date(2029, 1, 31)
    assert AuditEntry.objects.filter(object_type="workforce.certificate", action="create").count() == 2
    content, name = _csv("employee_no,course,passed_on,expires_on\nA001,SOCUU,31/01/2027,15/03/2028\n")
    result = certificates_import(actor=wf.personnel_a, content=content, filename=name)
    assert (result.created, result.updated) == (0, 1)
    assert Certificate.objects.get(worker=wf.ann, course=wf.first_aid).expires_on == dt.date(2028, 3, 15)
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)


def test_certificates_import_refuses_another_file_type(wf):
    with pytest.raises(ValidationFailed) as caught:
        certificates_import(actor=wf.personnel_a, content=b"x", filename="a.pdf")
    assert caught.value.items[0].type == "unsupported_type"


def test_training_api_page_and_export(wf, api, client):
    response = api(wf.personnel_a).get(
        "/api/v1/workforce/training/matrix", unit="A-M1", on="2027-02-10", limit=2
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total_rows"] == 3 and len(body["rows"]) == 2 and body["coverage"] == 100.0
    assert body["rows"][0]["cells"][0] == {
        "course": "ATVSLD",
        "state": "valid",
        "until": "2027-06-01",
        "needed": True,
    }
    assert api(wf.personnel_a).get("/api/v1/workforce/training/matrix", unit="B").status_code == 404
    upload = SimpleUploadedFile("c.csv", b"employee_no,course,passed_on\nA001,SOCUU,01/02/2027\n", "text/csv")
    response = client.post(
        "/api/v1/workforce/certificates/import",
        {"file": upload},
        HTTP_AUTHORIZATION=api(wf.personnel_a).headers["HTTP_AUTHORIZATION"],
    )
    assert response.status_code == 200 and response.json() == {"created": 1, "updated": 0}
    client.force_login(wf.personnel_a)
    page = client.get("/workforce/training/?unit=A-M1&on=2027-02-10")
    html = page.content.decode()
    assert page.status_code == 200 and "Nguyễn Văn An" in html and "Phạm Văn Bảo" not in html
    assert 'data-testid="training-coverage">100,0 %' in html
    export = client.get("/workforce/training.xlsx?unit=A-M1&on=2027-02-10")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert client.get("/workforce/training/?unit=B").status_code == 404


def test_one_certificate_recorded_by_the_api(wf, api):
    caller = api(wf.personnel_a)
    body = {"employee_no": "A002", "course": "socuu", "passed_on": "2027-01-31"}
    response = caller.post("/api/v1/workforce/certificates", body)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "employee_no": "A002",
        "course": "SOCUU",
        "passed_on": "2027-01-31",
        "expires_on": "2029-01-31",
    }
    again = caller.post("/api/v1/workforce/certificates", {**body, "expires_on": "2028-12-31"})
    assert again.status_code == 201 and again.json()["expires_on"] == "2028-12-31"
    assert Certificate.objects.filter(worker=wf.binh, course=wf.first_aid).count() == 1
    assert caller.post("/api/v1/workforce/certificates", {**body, "employee_no": "B001"}).status_code == 404
    assert caller.post("/api/v1/workforce/certificates", {**body, "course": "X"}).status_code == 404
    bad = caller.post("/api/v1/workforce/certificates", {**body, "expires_on": "2026-01-01"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "expires_on"]
    assert api(wf.viewer_b).post("/api/v1/workforce/certificates", body).status_code == 404
