"""Health records: only the medical role records and reads a person's examinations, every read is audited (without
the findings), the latest examination's class becomes the worker's (and the lamp room follows it), others see
counts; a worker's own data export; company B's people out of reach."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.workforce.demo import health as health_demo
from headframe.workforce.models import MedicalExam, Worker
from headframe.workforce.selectors import health as selectors
from headframe.workforce.services import CheckInRefused, check_in
from headframe.workforce.services import health as services
from tests.factories import make_user
from tests.workforce.conftest import NOW, TODAY, roster

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workforce"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def med(wf):
    wf.medical_a = make_user("medical_a", ("medical", "A"))
    wf.admin_a = make_user("admin_a", ("admin", "A"))
    wf.viewer_a = make_user("viewer_a", ("viewer", "A"))
    return wf


def _exam(wf, who="A001", day=TODAY, health_class=2, **extra):
    return services.exam_record(
        actor=wf.medical_a, employee_no=who, examined_on=day, health_class=health_class, **extra
    )


def test_latest_exam_class_becomes_the_workers_and_is_audited_without_findings(med):
    _exam(med, day=TODAY - dt.timedelta(days=400), health_class=1)
    exam = _exam(med, health_class=4, findings="Bụi phổi nghi ngờ", pneumoconiosis="suspected")
    assert Worker.objects.get(employee_no="A001").health_class == 4
    row = AuditEntry.objects.filter(object_type="workforce.medicalexam", object_id=str(exam.pk)).get()
    assert row.after == {"worker": "A001", "examined_on": TODAY.isoformat(), "health_class": 4}
    assert "Bụi phổi" not in str(row.after) and "suspected" not in str(row.after)


def test_older_exam_recorded_later_leaves_the_latest_class(med):
    _exam(med, health_class=2)
    _exam(med, day=TODAY - dt.timedelta(days=300), health_class=5)
    assert Worker.objects.get(employee_no="A001").health_class == 2


def test_health_class_iv_is_refused_at_the_lamp_room(med):
    roster(med.ann, med.a_m1_k1_f1)
    _exam(med, health_class=4)
    with pytest.raises(CheckInRefused) as refused:
        check_in(actor=med.lamp_a, tag_no="T-A1", site_code="A-M1")
    assert "health_class" in {item.type for item in refused.value.items}


def test_admin_and_personnel_may_not_record_or_read(med):
    for user in (med.admin_a, med.personnel_a, med.viewer_a):
        with pytest.raises(PermissionDenied):
            services.exam_record(actor=user, employee_no="A001", examined_on=TODAY, health_class=1)
        with pytest.raises(PermissionDenied):
            selectors.exams_of(user, "A001")
    assert not MedicalExam.objects.exists()


def test_another_companys_worker_is_not_found_like_an_unknown_one(med):
    for number in ("B001", "NOPE"):
        with pytest.raises(NotFound) as missing:
            services.exam_record(actor=med.medical_a, employee_no=number, examined_on=TODAY, health_class=1)
        assert missing.value.items[0].type == "unknown_worker"


def test_bad_inputs_are_each_named_and_nothing_is_written(med):
    with pytest.raises(ValidationFailed) as bad:
        _exam(
            med,
            day=TODAY + dt.timedelta(days=1),
            health_class=7,
            kind="dental",
            pneumoconiosis="maybe",
            next_due=TODAY,
        )
    assert {item.loc[-1] for item in bad.value.items} == {
        "examined_on",
        "health_class",
        "kind",
        "pneumoconiosis",
        "next_due",
    }
    assert not MedicalExam.objects.exists()


def test_same_exam_twice_is_a_conflict(med, api):
    _exam(med)
    body = {"employee_no": "A001", "examined_on": TODAY.isoformat(), "health_class": 1}
    response = api(med.medical_a).post(f"{BASE}/health/exams", body)
    assert response.status_code == 409
    assert response.json()["detail"][0]["type"] == "duplicate_exam"


def test_every_read_of_a_record_is_audited(med, api):
    _exam(med, findings="Phổi bình thường")
    before = AuditEntry.objects.filter(action="read").count()
    response = api(med.medical_a).get(f"{BASE}/health/exams", employee_no="A001")
    assert response.status_code == 200
    assert response.json()["exams"][0]["findings"] == "Phổi bình thường"
    api(med.medical_a).get(f"{BASE}/health/exams", employee_no="A001")
    reads = AuditEntry.objects.filter(action="read").order_by("id")
    assert reads.count() == before + 2
    assert reads.last().actor_name == "medical_a" and reads.last().unit_path == med.a_m1_k1.path


def test_read_without_the_medical_role_is_403_in_vietnamese(med, api, client):
    response = api(med.admin_a).get(f"{BASE}/health/exams", employee_no="A001")
    assert response.status_code == 403
    client.force_login(med.admin_a)
    page = client.get("/workforce/health/A001/", HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 403
    assert "y tế" in page.content.decode()


def test_counts_for_a_viewer_show_no_names(med, api):
    _exam(med, health_class=4, pneumoconiosis="suspected", next_due=TODAY + dt.timedelta(days=300))
    _exam(med, who="A002", day=TODAY - dt.timedelta(days=400), next_due=TODAY - dt.timedelta(days=35))
    _exam(med, who="A003", pneumoconiosis="confirmed", health_class=3)
    response = api(med.viewer_a).get(f"{BASE}/health/counts", unit="A")
    assert response.status_code == 200
    body = response.json()
    assert body["workers"] == 3
    assert body["by_class"]["4"] == 1 and body["not_underground"] == 1
    assert (body["overdue"], body["pneumoconiosis_suspected"], body["pneumoconiosis_confirmed"]) == (1, 1, 1)
    assert "Nguyễn" not in response.content.decode()
    assert api(med.viewer_a).get(f"{BASE}/health/counts", unit="B").status_code == 404


def test_exams_due_lists_the_overdue_and_the_never_examined(med):
    _exam(med, who="A001", next_due=TODAY + dt.timedelta(days=200))
    _exam(med, who="A002", day=TODAY - dt.timedelta(days=400), next_due=TODAY - dt.timedelta(days=5))
    rows = selectors.exams_due(med.medical_a)
    assert [r.worker.employee_no for r in rows] == ["A003", "A002"]
    assert rows[1].overdue
    assert selectors.exams_due(med.personnel_a) == []


def test_a_workers_own_export(med, api):
    _exam(med, findings="Bình thường")
    as_hr = api(med.personnel_a).get(f"{BASE}/workers/A001/export")
    assert as_hr.status_code == 200
    body = as_hr.json()
    assert body["worker"]["full_name"] == "Nguyễn Văn An"
    assert body["certificates"][0]["course"] == "ATVSLD"
    assert body["medical_exams"] is None
    reads = AuditEntry.objects.filter(action="read").count()
    as_medical = api(med.medical_a).get(f"{BASE}/workers/A001/export").json()
    assert as_medical["medical_exams"][0]["findings"] == "Bình thường"
    assert AuditEntry.objects.filter(action="read").count() == reads + 1
    assert api(med.viewer_a).get(f"{BASE}/workers/A001/export").status_code == 403
    assert api(med.personnel_b).get(f"{BASE}/workers/A001/export").status_code == 404


def test_medical_page_lists_exams_and_records_one(med, client):
    client.force_login(med.medical_a)
    page = client.get("/workforce/health/A001/")
    assert page.status_code == 200
    reads = AuditEntry.objects.filter(action="read").count()
    assert reads == 1
    response = client.post(
        "/workforce/health/A001/",
        {
            "examined_on": TODAY.strftime("%d/%m/%Y"),
            "kind": "periodic",
            "health_class": "2",
            "findings": "Tốt",
        },
    )
    assert response.status_code == 302
    assert MedicalExam.objects.get(worker__employee_no="A001").health_class == 2
    overview = client.get("/workforce/health/")
    assert overview.status_code == 200
    assert "A003" in overview.content.decode()  # never examined: due


def test_demo_examines_everyone_once_keeping_their_class(wf):
    health_demo.load(now=NOW)
    assert MedicalExam.objects.count() == Worker.objects.filter(is_active=True).count()
    assert not MedicalExam.objects.exclude(health_class=F("worker__health_class")).exists()
    health_demo.load(now=NOW)
    assert MedicalExam.objects.count() == Worker.objects.filter(is_active=True).count()


def test_exam_import_all_rows_or_none_every_bad_cell_named(med):
    good = (
        "employee_no,examined_on,kind,health_class,pneumoconiosis,findings,next_due\n"
        f"A001,{TODAY:%d/%m/%Y},periodic,II,negative,Tốt,{TODAY.replace(year=2028):%d/%m/%Y}\n"
        f"A002,{TODAY:%d/%m/%Y},,5,suspected,Nốt mờ,\n"
    )
    result = services.exams_import(actor=med.medical_a, content=good.encode(), filename="kham.csv")
    assert (result.created, result.classes_changed) == (2, 2)
    assert Worker.objects.get(employee_no="A002").health_class == 5
    assert not AuditEntry.objects.filter(after__icontains="Nốt mờ").exists()
    bad = (
        "employee_no,examined_on,health_class,kind\n"
        f"A003,{TODAY:%d/%m/%Y},2,periodic\n"
        "B001,01/01/2027,2,periodic\n"
        "A003,31/02/2027,9,dental\n"
        f"A001,{TODAY:%d/%m/%Y},2,periodic\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        services.exams_import(actor=med.medical_a, content=bad.encode(), filename="kham.csv")
    assert {item.loc for item in refused.value.items} == {
        ("row", 3, "employee_no"),  # another company's worker: unknown, as a made-up number
        ("row", 4, "examined_on"),
        ("row", 4, "health_class"),
        ("row", 4, "kind"),
        ("row", 5, "examined_on"),  # already recorded
    }
    assert MedicalExam.objects.count() == 2
    with pytest.raises(PermissionDenied):
        services.exam_record(actor=med.personnel_a, employee_no="A003", examined_on=TODAY, health_class=1)


def test_exam_import_api_refuses_without_the_medical_role(med, client, token_for):
    content = f"employee_no,examined_on,health_class\nA001,{TODAY:%d/%m/%Y},3\n".encode()
    upload = SimpleUploadedFile("kham.csv", content, content_type="text/csv")
    refused = client.post(f"{BASE}/health/exams/import", {"file": upload}, **token_for(med.admin_a))
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "permission_denied"
    upload = SimpleUploadedFile("kham.csv", content, content_type="text/csv")
    done = client.post(f"{BASE}/health/exams/import", {"file": upload}, **token_for(med.medical_a))
    assert done.status_code == 200 and done.json() == {"created": 1, "classes_changed": 1}


def test_export_and_import_from_the_pages(med, client):
    client.force_login(med.personnel_a)
    download = client.get("/workforce/workers/A001/export.json")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.json"')
    assert json.loads(download.content)["medical_exams"] is None
    assert client.get("/workforce/workers/B001/export.json").status_code == 404
    client.force_login(med.medical_a)
    bad = SimpleUploadedFile("kham.csv", b"employee_no,examined_on,health_class\nA001,hom qua,2\n")
    response = client.post("/workforce/health/import/", {"file": bad, "unit": "A"}, follow=True)
    assert "dòng 2, examined_on" in response.content.decode()
    assert not MedicalExam.objects.exists()
