"""Hardening of the safety module (issue 11): writes that touch two places check and audit both, the campaign
workbook writes names as text, edge dates and lost photo files answer a JSON 4xx, photos are capped in pixels,
and names, texts and readings refuse what only looks right."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from headframe.core.errors import PermissionDenied, TooLarge, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.org import services as org
from headframe.org.models import Unit
from headframe.safety import services
from headframe.safety.models import Answer, Campaign, Finding, Incident, Photo
from headframe.safety.services import AnswerIn
from tests.factories import make_user
from tests.safety.conftest import NOW, TODAY, inspection_of
from tests.safety.test_inspections import JPEG

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/","x")'
RLO, NUL, ZWSP = "\u202e", "\x00", "\u200b"


def _png(width: int, height: int) -> bytes:
    """A PNG whose header says width × height (the pixels are never decoded, so a few bytes do)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int) -> bytes:
    """A baseline JPEG header (SOI, JFIF, SOF0, SOS) that says width × height."""
    jfif = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = (
        b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    )
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + jfif + sof + sos + b"\x00" * 16 + b"\xff\xd9"


def _detail(response) -> list[dict]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["detail"]


# --- defect 1: a write that touches two places checks and audits both ---------------------------------------


@pytest.fixture
def finding_b(people):
    return services.finding_create(
        actor=people.safety_b,
        position_code="B-M1-K1-F1",
        severity="major",
        title="Băng tải hỏng",
        deadline=TODAY + dt.timedelta(days=3),
        now=NOW,
    )


def test_linking_another_companys_finding_to_an_incident_is_403_and_writes_nothing(
    api, mine, people, finding_b
):
    # A's safety officer who may also read B (a group reviewer) sees B's finding, but may not write there.
    mixed = make_user("an_toan_a_xem_b", ("safety_officer", "A"), ("viewer", "B"))
    caller = api(mixed)  # (issuing its token is audited)
    before = AuditEntry.objects.count()
    response = caller.post(
        "/api/v1/safety/incidents",
        {
            "unit": "A-M1",
            "kind": "near_miss",
            "category": "gas",
            "severity": "low",
            "occurred_at": "2026-06-01T10:00:00+07:00",
            "title": "Khí CH4 tăng",
            "findings": [finding_b.pk],
        },
    )
    assert response.status_code == 403
    assert _detail(response)[0]["type"] == "permission_denied"
    assert not Incident.objects.exists() and AuditEntry.objects.count() == before

    own = services.incident_report(
        actor=mixed,
        unit_code="A-M1",
        kind="near_miss",
        category="gas",
        severity="low",
        occurred_at=NOW - dt.timedelta(hours=1),
        title="Khí CH4 tăng",
        now=NOW,
    )
    patched = caller.patch(f"/api/v1/safety/incidents/{own.pk}", {"findings": [finding_b.pk]})
    assert patched.status_code == 403
    assert not own.findings.exists()


def test_a_link_across_companies_is_audited_where_the_finding_is_too(mine, people, finding_b):
    group = make_user("an_toan_g", ("safety_officer", "G"))
    incident = services.incident_report(
        actor=group,
        unit_code="A-M1",
        kind="incident",
        category="machinery",
        severity="medium",
        occurred_at=NOW - dt.timedelta(hours=2),
        title="Sự cố băng tải",
        finding_ids=[finding_b.pk],
        now=NOW,
    )
    assert list(incident.findings.all()) == [finding_b]
    b_path = Unit.objects.get(code="B-M1-K1-F1").path
    rows = AuditEntry.objects.filter(object_type="safety.incident", object_id=str(incident.pk))
    assert {r.unit_path for r in rows} >= {Unit.objects.get(code="A-M1").path, b_path}


def test_a_campaign_over_two_companies_is_audited_under_each(mine, people):
    group = make_user("an_toan_g", ("safety_officer", "G"))
    result = services.campaign_create(
        actor=group,
        code="TAP-DOAN-2027",
        title_vi="Kiểm tra toàn Tập đoàn",
        unit_codes=["A-M1", "B-M1"],
        starts_on=TODAY,
        due_on=TODAY + dt.timedelta(days=3),
        now=NOW,
    )
    paths = set(
        AuditEntry.objects.filter(
            object_type="safety.campaign", object_id=str(result.campaign.pk), action="create"
        ).values_list("unit_path", flat=True)
    )
    # Filed where the units meet (the group) and under each unit, whose own auditors could not see the first.
    assert paths >= {"/G/", Unit.objects.get(code="A-M1").path, Unit.objects.get(code="B-M1").path}


def test_a_campaign_naming_another_companys_unit_is_refused_whole(api, mine, people):
    mixed = make_user("an_toan_a_xem_b", ("safety_officer", "A"), ("viewer", "B"))
    response = api(mixed).post(
        "/api/v1/safety/campaigns",
        {
            "code": "LAN-SAN",
            "title_vi": "x",
            "units": ["A-M1", "B-M1"],
            "starts_on": TODAY.isoformat(),
            "due_on": (TODAY + dt.timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == 403
    assert _detail(response)[0]["loc"] == ["body", "units", 1]
    assert not Campaign.objects.exists()


# --- defect 4: the campaign workbook writes names as text ---------------------------------------------------


def test_campaign_workbook_writes_unit_names_as_text_not_formulas(api, mine, people):
    org.unit_update(actor=None, unit=Unit.objects.get(code="A-M1-K1"), changes={"name_vi": FORMULA})
    org.unit_update(actor=None, unit=Unit.objects.get(code="A-M1-K1-F1"), changes={"name_vi": FORMULA})
    services.campaign_create(
        actor=people.safety,
        code="TET-2027",
        title_vi="Sau Tết",
        unit_codes=["A-M1"],
        starts_on=TODAY,
        due_on=TODAY + dt.timedelta(days=2),
        teams={"A-M1-K1": FORMULA},
        now=NOW,
    )
    response = api(people.safety).get("/api/v1/safety/campaigns/TET-2027/export", format="xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert len(cells) >= 3  # the area's name, the position's name, the team
    assert all(c.data_type == "s" for c in cells)
    formulas = [
        c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


# --- defect 5: edge dates and lost files answer a JSON 4xx --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/safety/incidents/counts", {"unit": "A", "from": "0001-01-01", "to": "9999-12-31"}, "from"),
        ("/api/v1/safety/incidents", {"unit": "A", "from": "0001-01-01", "to": "9999-12-31"}, "from"),
        ("/api/v1/safety/findings/overdue", {"unit": "A", "on": "9999-12-31"}, "on"),
        ("/api/v1/safety/findings", {"on": "0001-01-01"}, "on"),
    ],
)
def test_dates_outside_the_calendar_are_a_field_error_not_a_500(api, mine, people, url, params, field):
    response = api(people.safety).get(url, **params)
    assert response.status_code == 422
    detail = _detail(response)
    assert detail[0]["loc"][-1] == field and detail[0]["type"] == "date_out_of_range"


def test_an_incident_dated_year_one_is_refused(api, mine, people):
    response = api(people.safety).post(
        "/api/v1/safety/incidents",
        {
            "unit": "A-M1",
            "kind": "near_miss",
            "category": "gas",
            "severity": "low",
            "occurred_at": "0001-01-01T00:00:00+07:00",
            "title": "x",
        },
    )
    assert response.status_code == 422
    assert _detail(response)[0]["loc"] == ["body", "occurred_at"]
    with pytest.raises(ValidationFailed):
        services.incident_report(
            actor=people.safety,
            unit_code="A-M1",
            kind="near_miss",
            category="gas",
            severity="low",
            occurred_at=dt.datetime(1, 1, 2, tzinfo=dt.UTC),
            title="x",
            now=NOW,
        )
    assert not Incident.objects.exists()


def test_a_photo_whose_file_is_gone_is_a_json_404_not_a_500(client, token_for, campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    photo = services.photo_add(actor=people.safety, content=JPEG, inspection_id=inspection.pk, item_code="")
    services.photo_path(photo).unlink()
    response = client.get(f"/api/v1/safety/photos/{photo.pk}", **token_for(people.safety))
    assert response.status_code == 404
    assert _detail(response)[0]["type"] == "photo_file_missing"
    client.force_login(people.safety)
    assert client.get(f"/safety/photos/{photo.pk}/").status_code == 404
    # The inspection that shows it still opens.
    assert (
        client.get(f"/api/v1/safety/inspections/{inspection.pk}", **token_for(people.safety)).status_code
        == 200
    )


# --- defect 6: photos are capped in pixels, read from the header -------------------------------------------


@pytest.mark.parametrize(
    "content",
    [_png(20_000, 20_000), _jpeg(20_000, 20_000), _png(11_000, 1_000), _jpeg(65_000, 65_000)],
    ids=["png-20000", "jpeg-20000", "png-too-wide", "jpeg-bomb"],
)
def test_a_photo_past_the_pixel_limit_is_413_and_nothing_is_stored(
    client, token_for, campaign, mine, people, content, settings
):
    inspection = inspection_of(campaign, mine.face)
    url = f"/api/v1/safety/inspections/{inspection.pk}/photos"
    response = client.post(url, {"file": SimpleUploadedFile("a.jpg", content)}, **token_for(people.safety))
    assert response.status_code == 413
    detail = _detail(response)
    assert detail[0]["type"] == "image_too_large" and "10000" in detail[0]["msg"]
    assert not Photo.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]  # nothing left on disk either


def test_a_photo_that_is_only_magic_bytes_is_refused(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(ValidationFailed) as exc:
        services.photo_add(
            actor=people.safety, content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, inspection_id=inspection.pk
        )
    assert exc.value.items[0].type == "unreadable_image"
    assert not Photo.objects.exists()


def test_a_normal_photo_is_still_accepted(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    photo = services.photo_add(actor=people.safety, content=_png(4000, 3000), inspection_id=inspection.pk)
    assert photo.content_type == "image/png"
    with pytest.raises(TooLarge):
        services.photo_add(actor=people.safety, content=_png(9000, 9000), inspection_id=inspection.pk)


# --- defect 9: hidden characters and loose readings ---------------------------------------------------------


@pytest.mark.parametrize("bad", [RLO, NUL, ZWSP])
def test_names_and_texts_with_hidden_characters_are_refused(api, mine, people, bad):
    caller = api(people.safety)
    campaign = caller.post(
        "/api/v1/safety/campaigns",
        {
            "code": "C1",
            "title_vi": f"Kiểm tra{bad}",
            "units": ["A-M1"],
            "starts_on": TODAY.isoformat(),
            "due_on": (TODAY + dt.timedelta(days=2)).isoformat(),
        },
    )
    assert campaign.status_code == 422
    assert (_detail(campaign)[0]["loc"], _detail(campaign)[0]["type"]) == (
        ["body", "title_vi"],
        "hidden_character",
    )
    finding = caller.post(
        "/api/v1/safety/findings",
        {"position": "A-M1-K1-F1", "severity": "minor", "title": f"Nóc{bad}", "deadline": TODAY.isoformat()},
    )
    assert finding.status_code == 422 and _detail(finding)[0]["loc"] == ["body", "title"]
    incident = caller.post(
        "/api/v1/safety/incidents",
        {
            "unit": "A-M1",
            "kind": "near_miss",
            "category": "gas",
            "severity": "low",
            "occurred_at": "2026-06-01T10:00:00+07:00",
            "title": "Khí",
            "description": f"Dòng một\nDòng hai{bad}",
        },
    )
    assert incident.status_code == 422 and _detail(incident)[0]["loc"] == ["body", "description"]
    assert not Campaign.objects.exists() and not Finding.objects.exists() and not Incident.objects.exists()


def test_free_text_keeps_its_line_breaks(mine, people):
    incident = services.incident_report(
        actor=people.safety,
        unit_code="A-M1",
        kind="near_miss",
        category="gas",
        severity="low",
        occurred_at=NOW - dt.timedelta(hours=1),
        title="Khí",
        description="Dòng một\nDòng hai\tcột",
        now=NOW,
    )
    assert incident.description == "Dòng một\nDòng hai\tcột"


def test_an_answer_with_a_nul_is_refused(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    item = inspection.template.items.filter(answer_type="text").first() or inspection.template.items.first()
    with pytest.raises(ValidationFailed) as exc:
        services.answers_save(
            actor=people.safety,
            inspection_id=inspection.pk,
            answers=[AnswerIn(item.code, choice="pass", text=f"Đạt{NUL}", note=f"ghi{NUL}")],
        )
    assert exc.value.items[0].type == "hidden_character"
    assert not Answer.objects.exists()


@pytest.mark.parametrize("reading", ["٥", "1_0", True, "5e0", "0,4,5", "nan"])
def test_a_gas_reading_must_be_a_plain_number(client, token_for, campaign, mine, people, reading):
    inspection = inspection_of(campaign, mine.face)
    item = inspection.template.items.filter(answer_type="number").first()
    response = client.put(
        f"/api/v1/safety/inspections/{inspection.pk}/answers",
        json.dumps({"answers": [{"item": item.code, "number": reading}]}),
        content_type="application/json",
        **token_for(people.safety),
    )
    assert response.status_code == 422, response.content
    assert _detail(response)[0]["loc"][:4] == ["body", "answers", 0, "number"]
    assert not Answer.objects.exists()


def test_a_reading_with_a_decimal_comma_is_still_read(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    item = inspection.template.items.filter(answer_type="number", limit_code__startswith="ch4").first()
    services.answers_save(
        actor=people.safety, inspection_id=inspection.pk, answers=[AnswerIn(item.code, number="0,45")]
    )
    assert Answer.objects.get(item=item).number == pytest.approx(0.45)


def test_a_campaign_named_by_another_company_officer_is_not_written(mine, people):
    with pytest.raises((PermissionDenied, ValidationFailed)):
        services.campaign_create(
            actor=people.safety_b,
            code="X",
            title_vi="x",
            unit_codes=["A-M1"],
            starts_on=TODAY,
            due_on=TODAY,
            now=NOW,
        )
    assert not Campaign.objects.exists()
