"""The tablet inspection: answers saved in the background (JSON, no navigation), a photo and a note on any item,
the progress counter, a signature drawn on the screen, the PDF of one inspection, and findings whose
responsible person, deadline and priority the safety officer can change (audited) — with every bad input
refused field by field and nothing half-written."""

from __future__ import annotations

import base64
import datetime as dt
import io
import subprocess

import pytest
from django.utils import timezone
from PIL import Image

from headframe.core.errors import HeadframeError
from headframe.core.models import AuditEntry
from headframe.safety import services
from headframe.safety.models import Answer, Finding, Inspection, Photo
from tests.factories import PASSWORD, make_user
from tests.safety.conftest import inspection_of

pytestmark = pytest.mark.django_db


def _png(size=(40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG")
    return out.getvalue()


def _data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


@pytest.fixture
def as_user(client):
    def log_in(user):
        client.login(username=user.username, password=PASSWORD)
        return client

    return log_in


@pytest.fixture
def face(campaign, mine):
    return inspection_of(campaign, mine.face)


# --- answers in the background ------------------------------------------------------------------------------


def test_autosave_stores_answers_and_notes_and_returns_progress(as_user, people, face):
    client = as_user(people.safety)
    response = client.post(
        f"/safety/inspections/{face.pk}/autosave/",
        {"a-G-METER-choice": "pass", "a-G-CH4-number": "0,4", "a-G-CH4-note": "đo ở đầu lò"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] == 2
    assert body["total"] == face.template.items.count()
    stored = {a.item.code: a for a in Answer.objects.filter(inspection=face).select_related("item")}
    assert stored["G-METER"].choice == "pass"
    assert stored["G-CH4"].number == pytest.approx(0.4)
    assert stored["G-CH4"].note == "đo ở đầu lò"


def test_autosave_clears_a_reading_emptied_on_the_tablet(as_user, people, face):
    client = as_user(people.safety)
    client.post(f"/safety/inspections/{face.pk}/autosave/", {"a-G-CH4-number": "0,4", "a-G-CH4-note": "x"})
    response = client.post(
        f"/safety/inspections/{face.pk}/autosave/", {"a-G-CH4-number": "", "a-G-CH4-note": ""}
    )
    assert response.status_code == 200
    answer = Answer.objects.get(inspection=face, item__code="G-CH4")
    assert (answer.number, answer.note) == (None, "")


def test_autosave_refuses_a_bad_reading_by_item_and_saves_nothing(as_user, people, face):
    client = as_user(people.safety)
    response = client.post(
        f"/safety/inspections/{face.pk}/autosave/", {"a-G-METER-choice": "pass", "a-G-CH4-number": "140"}
    )
    assert response.status_code == 422
    assert "G-CH4" in response.json()["fields"]
    assert not Answer.objects.filter(inspection=face).exists()


def test_autosave_outside_scope_is_404(as_user, people, face):
    response = as_user(people.safety_b).post(
        f"/safety/inspections/{face.pk}/autosave/", {"a-G-METER-choice": "pass"}
    )
    assert response.status_code == 404
    assert not Answer.objects.filter(inspection=face).exists()


# --- photos on any item -------------------------------------------------------------------------------------


def test_photo_on_a_pass_fail_item_by_fetch_returns_json(as_user, people, face):
    client = as_user(people.safety)
    upload = io.BytesIO(_png())
    upload.name = "cot-chong.png"
    response = client.post(f"/safety/inspections/{face.pk}/photos/", {"photo": upload, "item": "R-SHIELDS"})
    assert response.status_code == 201
    photo = Photo.objects.get(inspection=face)
    assert photo.item.code == "R-SHIELDS"
    assert response.json()["url"] == f"/safety/photos/{photo.pk}/"
    page = client.get(f"/safety/inspections/{face.pk}/")
    assert f"/safety/photos/{photo.pk}/" in page.content.decode()


def test_a_non_image_upload_is_refused_at_the_file(as_user, people, face):
    upload = io.BytesIO(b"%PDF-1.4 not a photo")
    upload.name = "anh.jpg"
    response = as_user(people.safety).post(
        f"/safety/inspections/{face.pk}/photos/", {"photo": upload, "item": "R-SHIELDS"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert not Photo.objects.exists()


def test_progress_counts_a_photo_item_once_it_has_a_photo(people, face):
    before = services.inspection_progress(face)
    services.photo_add(actor=people.safety, content=_png(), inspection_id=face.pk, item_code="R-PHOTO")
    assert services.inspection_progress(face).answered == before.answered + 1


def test_the_old_photo_form_keeps_the_draft(as_user, people, face):
    upload = io.BytesIO(_png())
    upload.name = "noc.png"
    response = as_user(people.safety).post(
        f"/safety/inspections/{face.pk}/", {"action": "photo", "item": "R-PHOTO", "photo": upload}
    )
    assert response.status_code == 302
    assert "saved=1" not in response["Location"]


# --- signature ----------------------------------------------------------------------------------------------


def _all_answers(face):
    from tests.safety.conftest import good_answers

    return good_answers(face)


def test_signing_keeps_the_drawn_signature_as_a_png(people, face):
    services.inspection_sign(
        actor=people.safety, inspection_id=face.pk, answers=_all_answers(face), signature=_png((600, 200))
    )
    face.refresh_from_db()
    assert face.signature is not None
    assert face.signature.content_type == "image/png"
    assert services.photo_path(face.signature).read_bytes().startswith(b"\x89PNG")
    assert face.signature_id not in [p.pk for ps in services.item_photos(face).values() for p in ps]


def test_signing_from_the_page_with_a_canvas_data_url(as_user, people, face):
    services.answers_save(actor=people.safety, inspection_id=face.pk, answers=_all_answers(face))
    response = as_user(people.safety).post(
        f"/safety/inspections/{face.pk}/", {"action": "sign", "signature": _data_url(_png((600, 200)))}
    )
    assert response.status_code == 302
    face.refresh_from_db()
    assert face.status == "signed" and face.signature is not None


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        (_png((4000, 200)), 413),  # too many pixels a side
        (b"\x89PNG\r\n\x1a\n" + b"0" * (400 * 1024), 413),  # too many bytes
        (b"GIF89a....", 422),  # not a PNG
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_signed(people, face, signature, status):
    with pytest.raises(HeadframeError) as exc:
        services.inspection_sign(
            actor=people.safety, inspection_id=face.pk, answers=_all_answers(face), signature=signature
        )
    assert exc.value.status == status
    assert exc.value.items[0].loc == ("body", "signature")
    face.refresh_from_db()
    assert face.status == "pending" and face.signature is None
    assert not Answer.objects.filter(inspection=face).exists()
    assert not Photo.objects.exists()


def test_an_oversized_signature_over_the_api_is_a_413(api, people, face):
    from tests.safety.conftest import good_answers

    payload = {
        "answers": [
            {"item": a.item, "choice": a.choice, "number": a.number, "text": a.text, "note": a.note}
            for a in good_answers(face)
        ],
        "signature": _data_url(_png((5000, 100))),
    }
    response = api(people.safety).post(f"/api/v1/safety/inspections/{face.pk}/sign", payload)
    assert response.status_code == 413
    assert response.json()["detail"][0]["loc"] == ["body", "signature"]
    assert Inspection.objects.get(pk=face.pk).status == "pending"


def test_a_signature_that_is_not_a_data_url_is_refused(api, people, face):
    response = api(people.safety).post(
        f"/api/v1/safety/inspections/{face.pk}/sign", {"answers": [], "signature": "javascript:alert(1)"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "signature"]


# --- PDF ----------------------------------------------------------------------------------------------------


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "i.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def _pdf_images(content: bytes, tmp_path) -> int:
    path = tmp_path / "i.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    return len(out.strip().splitlines()) - 2  # two header lines


def test_pdf_of_one_inspection_has_answers_notes_photos_and_signature(as_user, people, face, tmp_path):
    from tests.safety.conftest import AnswerIn, good_answers

    services.photo_add(actor=people.safety, content=_png(), inspection_id=face.pk, item_code="R-SHIELDS")
    answers = good_answers(face, **{"R-SHIELDS": AnswerIn("R-SHIELDS", choice="fail", note="cột 35 tụt áp")})
    services.inspection_sign(
        actor=people.safety, inspection_id=face.pk, answers=answers, signature=_png((600, 200))
    )
    response = as_user(people.safety).get(f"/safety/inspections/{face.pk}/?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = _pdf_text(content, tmp_path)
    assert "cột 35 tụt áp" in text
    assert "A-M1-K1-F1" in text
    images = _pdf_images(content, tmp_path)
    assert images >= 2  # the item's photo and the signature


# --- findings: responsible, deadline, priority --------------------------------------------------------------


@pytest.fixture
def finding(inspect, campaign, mine):
    inspect(campaign, mine.face, fail=("R-SHIELDS",), countersign=False)
    return Finding.objects.get()


def test_safety_officer_changes_responsible_deadline_and_priority_audited(people, finding):
    person = make_user("to_truong", ("reporter", "A-M1-K1"))
    deadline = timezone.localdate() + dt.timedelta(days=5)
    services.finding_update(
        actor=people.safety,
        finding_id=finding.pk,
        responsible_user="to_truong",
        deadline=deadline,
        severity="critical",
    )
    finding.refresh_from_db()
    assert (finding.responsible_user, finding.deadline, finding.severity) == (person, deadline, "critical")
    entry = AuditEntry.objects.filter(object_type__icontains="finding", action="update").latest("id")
    assert entry.after["deadline"] == deadline.isoformat()
    assert entry.actor == people.safety


def test_a_deadline_in_the_past_is_refused(people, finding):
    before = finding.deadline
    with pytest.raises(HeadframeError) as exc:
        services.finding_update(
            actor=people.safety, finding_id=finding.pk, deadline=timezone.localdate() - dt.timedelta(days=1)
        )
    assert exc.value.status == 422
    assert exc.value.items[0].loc == ("body", "deadline")
    finding.refresh_from_db()
    assert finding.deadline == before


def test_a_person_outside_the_unit_is_refused(people, finding):
    with pytest.raises(HeadframeError) as exc:
        services.finding_update(actor=people.safety, finding_id=finding.pk, responsible_user="bao_cao_b")
    assert exc.value.items[0].loc == ("body", "responsible_user")
    finding.refresh_from_db()
    assert finding.responsible_user is None


def test_only_the_safety_role_may_change_a_finding(api, people, finding):
    response = api(people.overman).patch(
        f"/api/v1/safety/findings/{finding.pk}", {"severity": "minor", "responsible_user": "quan_doc_a"}
    )
    assert response.status_code in (403, 404)
    finding.refresh_from_db()
    assert finding.responsible_user is None


def test_api_patch_sets_the_responsible_login(api, people, finding):
    response = api(people.safety).patch(
        f"/api/v1/safety/findings/{finding.pk}", {"responsible_user": "quan_doc_a"}
    )
    assert response.status_code == 200
    assert response.json()["responsible_user"] == "quan_doc_a"


def test_api_patch_refuses_past_deadline_and_outsider_together(api, people, finding):
    response = api(people.safety).patch(
        f"/api/v1/safety/findings/{finding.pk}",
        {
            "responsible_user": "bao_cao_b",
            "deadline": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert locs == {("body", "responsible_user"), ("body", "deadline")}


def test_finding_page_edits_and_shows_field_errors(as_user, people, finding):
    client = as_user(people.safety)
    past = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    response = client.post(
        f"/safety/findings/{finding.pk}/",
        {"action": "update", "deadline": past, "severity": finding.severity, "responsible_user": ""},
    )
    assert response.status_code == 200
    assert 'data-testid="edit-error-deadline"' in response.content.decode()
    new = (timezone.localdate() + dt.timedelta(days=4)).isoformat()
    response = client.post(
        f"/safety/findings/{finding.pk}/",
        {"action": "update", "deadline": new, "severity": "critical", "responsible_user": "quan_doc_a"},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.deadline.isoformat() == new
    assert finding.responsible_user.username == "quan_doc_a"


def test_finding_page_refuses_a_bad_date_in_place(as_user, people, finding):
    response = as_user(people.safety).post(
        f"/safety/findings/{finding.pk}/", {"action": "update", "deadline": "31/02/2027"}
    )
    assert response.status_code == 200
    assert 'data-testid="edit-error-deadline"' in response.content.decode()


def test_pdf_over_the_api_and_outside_scope(api, people, face, tmp_path):
    response = api(people.safety).get(f"/api/v1/safety/inspections/{face.pk}/pdf")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert "A-M1-K1-F1" in _pdf_text(content, tmp_path)
    assert api(people.safety_b).get(f"/api/v1/safety/inspections/{face.pk}/pdf").status_code == 404
