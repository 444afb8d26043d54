"""The epidemic register: tests and cases (the medical role only, nothing half-written), contact tracing from rosters
(same day × shift × work position) and the lamp room (same mine within ± cage minutes), its export, the daily
counts by unit for viewers; company B's people never in company A's answers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.workforce.demo import epidemic as epidemic_demo
from headframe.workforce.models import EpidemicCase, EpidemicTest, Presence
from headframe.workforce.selectors import epidemic as selectors
from headframe.workforce.services import epidemic as services
from tests.factories import make_user
from tests.workforce.conftest import NOW, TODAY, make_worker, roster

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workforce"
DAY = TODAY - dt.timedelta(days=3)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def epi(wf):
    """Ann (A001) is the case, isolated from today. Three days ago: Bình worked her shift at her face (and the day
    before too), Cường worked the face on another shift but went down in her cage, Dũng went down 40 minutes
    later; Bảo of company B, a contractor, was rostered on her shift at her face."""
    wf.medical_a = make_user("medical_a", ("medical", "A"))
    wf.medical_b = make_user("medical_b", ("medical", "B"))
    wf.admin_a = make_user("admin_a", ("admin", "A"))
    wf.viewer_a = make_user("viewer_a", ("viewer", "A"))
    wf.dung = make_worker("A004", wf.a_m1_k2, tag="T-A4", name="Đỗ Văn Dũng")
    face = wf.a_m1_k1_f1
    for day in (DAY, DAY - dt.timedelta(days=1)):
        roster(wf.ann, face, day, 1)
        roster(wf.binh, face, day, 1)
    roster(wf.cuong, face, DAY, 2)
    roster(wf.bob, face, DAY, 1)
    roster(wf.binh, face, TODAY - dt.timedelta(days=20), 1)  # outside the window
    roster(wf.ann, face, TODAY - dt.timedelta(days=20), 1)
    times = {
        wf.ann: (5, 50, 14, 10),
        wf.cuong: (5, 57, 14, 15),
        wf.dung: (6, 30, 15, 30),
        wf.bob: (5, 52, 14, 12),
    }
    for worker, (h, m, out_h, out_m) in times.items():
        Presence.objects.create(
            worker=worker, site=wf.a_m1, checked_in_at=_at(DAY, h, m), checked_out_at=_at(DAY, out_h, out_m)
        )
    wf.case = services.case_record(
        actor=wf.medical_a, employee_no="A001", confirmed_on=TODAY, isolation_from=TODAY, note="Sốt, ho"
    )
    return wf


def test_trace_finds_shift_and_cage_contacts_most_first(epi):
    """Bình: two shifts at her face; Cường: the same cage down and up; a tie broken by the first contact."""
    trace = selectors.contact_trace(epi.medical_a, epi.case.pk)
    numbers = [r.worker.employee_no for r in trace.rows]
    assert numbers == [
        "A002",
        "A003",
    ]  # Dũng went down 40 minutes later and came up an hour later: no contact
    binh, cuong = trace.rows
    assert binh.contacts == 2 and {x.kind for x in binh.reasons} == {"roster"}
    assert (binh.first_contact, binh.last_contact) == (DAY - dt.timedelta(days=1), DAY)
    assert [x.kind for x in cuong.reasons] == ["cage_in", "cage_out"]  # not his shift, but her cage both ways
    assert trace.index_shifts == 2 and trace.index_presences == 1


def test_company_b_contractor_is_never_in_company_a_trace(epi):
    rows = selectors.contact_trace(epi.medical_a, epi.case.pk).rows
    assert "B001" not in {r.worker.employee_no for r in rows}
    everyone = selectors.contact_trace(None, epi.case.pk).rows  # the system sees the whole group
    assert "B001" in {r.worker.employee_no for r in everyone}


def test_wider_cage_window_and_shorter_window(epi):
    wide = selectors.contact_trace(epi.medical_a, epi.case.pk, cage_minutes=45)
    assert "A004" in {r.worker.employee_no for r in wide.rows}
    short = selectors.contact_trace(epi.medical_a, epi.case.pk, days=2)
    assert [r.worker.employee_no for r in short.rows] == []  # three days ago is outside a two-day window


def test_trace_is_medical_only_and_audited(epi):
    with pytest.raises(PermissionDenied):
        selectors.contact_trace(epi.admin_a, epi.case.pk)
    with pytest.raises(NotFound):
        selectors.contact_trace(epi.medical_b, epi.case.pk)
    with pytest.raises(NotFound):
        selectors.contact_trace(epi.medical_a, 987654)
    selectors.contact_trace(epi.medical_a, epi.case.pk)
    read = AuditEntry.objects.filter(action="read", object_type="workforce.epidemiccase").get()
    assert read.after["contacts"] == 2 and "Sốt" not in str(read.after)


def test_trace_window_out_of_range_is_named(epi, api):
    response = api(epi.medical_a).get(f"{BASE}/epidemic/cases/{epi.case.pk}/trace", days=0, cage_minutes=500)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "days"]


def test_trace_api_and_exports(epi, api):
    body = api(epi.medical_a).get(f"{BASE}/epidemic/cases/{epi.case.pk}/trace").json()
    assert body["total"] == 2 and body["contacts"][0]["employee_no"] == "A002"
    assert body["contacts"][0]["reasons"][0]["place"] == "A-M1-K1-F1"
    xlsx = api(epi.medical_a).get(f"{BASE}/epidemic/cases/{epi.case.pk}/trace/export", format="xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet["A"]][1:] == ["A002", "A003"]
    assert sheet["B2"].value == "Trần Văn Bình"
    text = api(epi.medical_a).get(f"{BASE}/epidemic/cases/{epi.case.pk}/trace/export", format="csv")
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["A002", "A003"]
    bad = api(epi.medical_a).get(f"{BASE}/epidemic/cases/{epi.case.pk}/trace/export", format="pdf")
    assert bad.status_code == 422


def test_case_rules(epi):
    with pytest.raises(Conflict):
        services.case_record(
            actor=epi.medical_a, employee_no="A001", confirmed_on=TODAY, isolation_from=TODAY
        )
    with pytest.raises(ValidationFailed) as bad:
        services.case_record(
            actor=epi.medical_a,
            employee_no="A002",
            confirmed_on=TODAY + dt.timedelta(days=1),
            isolation_from=TODAY,
            isolation_to=TODAY - dt.timedelta(days=1),
            disease="",
        )
    assert {i.loc[-1] for i in bad.value.items} == {"confirmed_on", "isolation_to", "disease"}
    with pytest.raises(PermissionDenied):
        services.case_record(actor=epi.admin_a, employee_no="A002", confirmed_on=TODAY, isolation_from=TODAY)
    with pytest.raises(NotFound):
        services.case_record(
            actor=epi.medical_a, employee_no="B001", confirmed_on=TODAY, isolation_from=TODAY
        )
    assert EpidemicCase.objects.count() == 1


def test_case_update_recovered_needs_the_end_of_isolation(epi, api):
    url = f"{BASE}/epidemic/cases/{epi.case.pk}"
    refused = api(epi.medical_a).patch(url, {"status": "recovered"})
    assert refused.status_code == 422
    done = api(epi.medical_a).patch(
        url, {"status": "recovered", "isolation_to": (TODAY + dt.timedelta(days=7)).isoformat()}
    )
    assert done.status_code == 200 and done.json()["status"] == "recovered"
    assert api(epi.medical_b).patch(url, {"status": "hospital"}).status_code == 404
    row = AuditEntry.objects.filter(object_type="workforce.epidemiccase", action="update").get()
    assert row.after["status"] == "recovered"


def test_tests_are_recorded_by_the_medical_role(epi, api):
    created = api(epi.medical_a).post(
        f"{BASE}/epidemic/tests",
        {"employee_no": "A002", "tested_on": TODAY.isoformat(), "result": "negative"},
    )
    assert created.status_code == 201
    bad = api(epi.medical_a).post(
        f"{BASE}/epidemic/tests", {"employee_no": "A002", "tested_on": TODAY.isoformat(), "result": "maybe"}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "result"]
    denied = api(epi.admin_a).post(
        f"{BASE}/epidemic/tests",
        {"employee_no": "A002", "tested_on": TODAY.isoformat(), "result": "negative"},
    )
    assert denied.status_code == 403
    assert EpidemicTest.objects.count() == 1


def test_daily_counts_by_unit_for_a_viewer(epi, api):
    services.test_record(actor=epi.medical_a, employee_no="A002", tested_on=TODAY, result="negative")
    services.case_record(
        actor=epi.medical_b, employee_no="B001", confirmed_on=DAY, isolation_from=DAY, isolation_to=DAY
    )
    counts = selectors.epidemic_counts(epi.viewer_a, "A", TODAY - dt.timedelta(days=6), TODAY)
    assert [u.code for u in counts.units] == ["A-M1", "A-M2"]
    assert counts.cells[("A-M1", TODAY)].new_cases == 1
    assert counts.cells[("A-M1", TODAY)].tests == 1
    assert counts.new_cases == 1 and counts.isolating_now == 1
    group = selectors.epidemic_counts(None, "G", TODAY - dt.timedelta(days=6), TODAY)
    assert group.new_cases == 2 and group.totals[DAY].isolating == 1
    response = api(epi.viewer_a).get(f"{BASE}/epidemic/counts", unit="A")
    assert response.status_code == 200 and response.json()["new_cases"] == 1
    assert "Nguyễn" not in response.content.decode()
    assert api(epi.viewer_a).get(f"{BASE}/epidemic/counts", unit="B").status_code == 404
    assert api(epi.viewer_a).get(f"{BASE}/epidemic/cases").json() == []  # cases: the medical role only


def test_pages(epi, client):
    client.force_login(epi.medical_a)
    overview = client.get("/workforce/epidemic/?unit=A")
    assert overview.status_code == 200 and "Nguyễn Văn An" in overview.content.decode()
    page = client.get(f"/workforce/epidemic/cases/{epi.case.pk}/trace/?days=14&cage_minutes=10")
    assert page.status_code == 200 and "Trần Văn Bình" in page.content.decode()
    download = client.get(f"/workforce/epidemic/cases/{epi.case.pk}/trace.xlsx?days=14")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.xlsx"')
    posted = client.post(
        "/workforce/epidemic/?unit=A",
        {
            "action": "case",
            "employee_no": "A003",
            "confirmed_on": TODAY.strftime("%d/%m/%Y"),
            "isolation_from": TODAY.strftime("%d/%m/%Y"),
            "disease": "COVID-19",
        },
    )
    assert posted.status_code == 302 and EpidemicCase.objects.filter(worker=epi.cuong).exists()
    client.force_login(epi.viewer_a)
    assert client.get("/workforce/epidemic/?unit=A").status_code == 200
    assert "Nguyễn Văn An" not in client.get("/workforce/epidemic/?unit=A").content.decode()
    assert client.get(f"/workforce/epidemic/cases/{epi.case.pk}/trace/").status_code == 403


def test_demo_cases_have_contacts_and_load_once(wf):
    for worker in (wf.ann, wf.binh, wf.cuong):
        roster(worker, wf.a_m1_k1_f1, TODAY - dt.timedelta(days=5), 1)
    epidemic_demo.load(now=NOW)
    cases = list(EpidemicCase.objects.all())
    assert cases and all(c.isolation_from <= TODAY for c in cases)
    assert all(selectors.contact_trace(None, c.pk).rows for c in cases)
    tests = EpidemicTest.objects.count()
    epidemic_demo.load(now=NOW)
    assert (EpidemicCase.objects.count(), EpidemicTest.objects.count()) == (len(cases), tests)


def test_reading_the_case_list_is_audited(epi, api):
    """Names with a disease are health records: the list's read is written to the audit log (how many, where;
    never who), on the API as on the page."""
    before = AuditEntry.objects.filter(action="read").count()
    response = api(epi.medical_a).get(f"{BASE}/epidemic/cases", unit="A")
    assert response.status_code == 200 and [c["employee_no"] for c in response.json()] == ["A001"]
    read = AuditEntry.objects.filter(action="read").order_by("-id").first()
    assert AuditEntry.objects.filter(action="read").count() == before + 1
    assert read.actor == epi.medical_a and read.after == {"read": "epidemic_cases", "cases": 1}
    assert "A001" not in str(read.after)
