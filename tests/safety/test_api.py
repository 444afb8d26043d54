"""The safety API: the whole campaign flow over HTTP, error shapes, photos, exports."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from headframe.safety.models import Finding
from tests.safety.conftest import inspection_of
from tests.safety.test_inspections import JPEG

pytestmark = pytest.mark.django_db


def _answers(inspection, fail=()):
    from tests.safety.conftest import good_answers

    return [
        {"item": a.item, "choice": "fail" if a.item in fail else a.choice, "number": a.number, "text": a.text}
        for a in good_answers(inspection)
    ]


def test_campaign_flow_over_the_api(api, mine, people, client, token_for):
    safety, overman = api(people.safety), api(people.overman)
    created = safety.post(
        "/api/v1/safety/campaigns",
        {
            "code": "TET-API",
            "title_vi": "Sau Tết",
            "units": ["A-M1"],
            "starts_on": "2027-02-08",
            "due_on": "2027-02-12",
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["inspections"] == 4 and created.json()["skipped"] == ["A-M1-K2-X1"]
    inspections = safety.get("/api/v1/safety/campaigns/TET-API/inspections").json()
    face = next(i for i in inspections if i["position"] == "A-M1-K1-F1")
    inspection = inspection_of(_campaign("TET-API"), mine.face)

    bad = safety.post(f"/api/v1/safety/inspections/{face['id']}/sign", {"answers": []})
    assert bad.status_code == 422 and bad.json()["detail"][0]["type"] == "missing"
    signed = safety.post(
        f"/api/v1/safety/inspections/{face['id']}/sign", {"answers": _answers(inspection, ("R-ROOF",))}
    )
    assert signed.status_code == 200 and signed.json()["result"] == "failed"
    self_sign = safety.post(f"/api/v1/safety/inspections/{face['id']}/countersign")
    assert self_sign.status_code == 422 and self_sign.json()["detail"][0]["type"] == "self_countersign"
    assert overman.post(f"/api/v1/safety/inspections/{face['id']}/countersign").json()["status"] == "complete"

    finding_id = signed.json()["findings"][0] if signed.json()["findings"] else Finding.objects.get().pk
    refused = safety.post("/api/v1/safety/readiness/release", {"position": "A-M1-K1-F1"})
    assert refused.status_code == 422
    assert {d["type"] for d in refused.json()["detail"]} == {"inspection_failed", "critical_finding"}
    no_evidence = safety.post(f"/api/v1/safety/findings/{finding_id}/close", {"action_taken": "Chống lại"})
    assert no_evidence.status_code == 422 and no_evidence.json()["detail"][0]["loc"] == ["body", "evidence"]
    closed = safety.post(
        f"/api/v1/safety/findings/{finding_id}/close",
        {"action_taken": "Chống lại", "evidence": "Đã kiểm tra nóc"},
    )
    assert closed.json()["status"] == "closed" and closed.json()["verified_by"] == "an_toan_a"

    board = safety.get("/api/v1/safety/readiness", unit="A-M1").json()
    state = next(p for p in board["positions"] if p["position"] == "A-M1-K1-F1")
    assert state["state"] == "ready" and board["sites"][0] == {
        "unit": "A-M1",
        "total": 4,
        "ready": 1,
        "released": 0,
    }
    released = safety.post("/api/v1/safety/readiness/release", {"position": "A-M1-K1-F1", "note": "Cho phép"})
    assert released.status_code == 200 and released.json()["state"] == "released"
    assert released.json()["released_by"] == "an_toan_a"

    progress = safety.get("/api/v1/safety/campaigns/TET-API/progress").json()
    assert progress["total"]["done"] == 1 and progress["total"]["pending"] == 3


def _campaign(code):
    from headframe.safety.models import Campaign

    return Campaign.objects.get(code=code)


def test_outside_scope_is_404_and_without_role_403(client, token_for, api, campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    url = f"/api/v1/safety/inspections/{inspection.pk}/answers"
    body = json.dumps({"answers": [{"item": "R-ROOF", "choice": "pass"}]})
    for user, status in ((people.safety_b, 404), (people.viewer, 403)):
        response = client.put(url, body, content_type="application/json", **token_for(user))
        assert response.status_code == status
    assert api(people.safety_b).get("/api/v1/safety/campaigns/TET-2027").status_code == 404
    assert not inspection.answers.exists()


def test_photo_upload_checks_type_and_size(client, token_for, campaign, mine, people, settings):
    inspection = inspection_of(campaign, mine.face)
    url = f"/api/v1/safety/inspections/{inspection.pk}/photos"
    headers = token_for(people.safety)
    ok = client.post(url, {"file": SimpleUploadedFile("a.jpg", JPEG), "item": "R-PHOTO"}, **headers)
    assert ok.status_code == 201 and ok.json()["content_type"] == "image/jpeg"
    fetched = client.get(ok.json()["url"], **headers)
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == JPEG
    assert client.get(ok.json()["url"], **token_for(people.safety_b)).status_code == 404
    gif = client.post(url, {"file": SimpleUploadedFile("a.jpg", b"GIF89a" + b"\x00" * 20)}, **headers)
    assert gif.status_code == 422 and gif.json()["detail"][0]["type"] == "unsupported_type"
    settings.SAFETY_PHOTO_MAX_BYTES = 100
    big = client.post(url, {"file": SimpleUploadedFile("a.jpg", JPEG)}, **headers)
    assert big.status_code == 422 and big.json()["detail"][0]["type"] == "too_large"


def test_exports_xlsx_and_pdf(api, campaign, mine, people, inspect):
    inspect(campaign, mine.face)
    xlsx = api(people.safety).get("/api/v1/safety/campaigns/TET-2027/export", format="xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[:2] == ["Tiến độ", "Sẵn sàng"] or len(book.sheetnames) == 3
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {"A-M1-K1-F1", "A-M1-K1-F2", "A-M1-K2-D1", "A-M1-K2-P1"}
    pdf = api(people.safety).get("/api/v1/safety/campaigns/TET-2027/export", format="pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_incidents_and_counts(api, mine, people):
    reporter = api(people.overman)
    made = reporter.post(
        "/api/v1/safety/incidents",
        {
            "unit": "A-M1-K1-F1",
            "kind": "near_miss",
            "category": "roof",
            "severity": "medium",
            "occurred_at": "2026-11-01T09:30:00+07:00",
            "title": "Đá rơi gần người",
        },
    )
    assert made.status_code == 201, made.json()
    counts = reporter.get(
        "/api/v1/safety/incidents/counts", unit="A-M1", **{"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert counts.json()["near_miss"] == 1
    bad = reporter.post(
        "/api/v1/safety/incidents",
        {
            "unit": "B-M1",
            "kind": "near_miss",
            "category": "roof",
            "severity": "low",
            "occurred_at": "2026-11-01T09:30:00+07:00",
            "title": "x",
        },
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "unit"]
