"""Campaign generation, answers judged on the spot, signatures, photos, findings and escalation, incidents —
and the bad inputs that must be refused whole."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from headframe.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.safety import selectors, services
from headframe.safety.models import Answer, Campaign, Finding, Incident, Inspection, Photo
from headframe.safety.services import AnswerIn
from tests.factories import make_user
from tests.safety.conftest import NOW, TODAY, good_answers, inspection_of

pytestmark = pytest.mark.django_db


def _image(fmt: str) -> bytes:
    """A real (tiny) image: photos are read from their header, so a few magic bytes are not enough."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "gray").save(buffer, fmt)
    return buffer.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")
WEBP = _image("WEBP")


# --- campaign generation ------------------------------------------------------------------------------------


def test_campaign_makes_one_inspection_per_active_position_with_the_kinds_checklist(campaign, mine):
    inspections = {i.position.code: i for i in Inspection.objects.filter(campaign=campaign)}
    assert sorted(inspections) == ["A-M1-K1-F1", "A-M1-K1-F2", "A-M1-K2-D1", "A-M1-K2-P1"]
    assert inspections["A-M1-K1-F1"].template.code == "RESTART-LC"
    assert inspections["A-M1-K2-D1"].template.code == "RESTART-DL"
    assert inspections["A-M1-K2-P1"].template.code == "RESTART-TB"
    # The most specific team wins: K1 has its own, K2 falls back to the mine's.
    assert inspections["A-M1-K1-F1"].team == "Tổ kiểm tra số 1"
    assert inspections["A-M1-K2-P1"].team == "Tổ kiểm tra số 2"
    assert all(i.due_on == campaign.due_on and i.status == "pending" for i in inspections.values())


def test_campaign_uses_the_latest_template_version(mine, people):
    services.template_publish(
        actor=None,
        code="RESTART-LC",
        position_kind="longwall_face",
        title_vi="Lò chợ v2",
        sections=[
            {
                "title_vi": "Khí",
                "items": [
                    {
                        "code": "G-CH4",
                        "text_vi": "CH₄",
                        "answer_type": "number",
                        "limit_code": "ch4_face_return_trip",
                        "critical": True,
                    }
                ],
            }
        ],
    )
    result = services.campaign_create(
        actor=people.safety,
        code="C2",
        title_vi="Đợt 2",
        unit_codes=["A-M1-K1"],
        starts_on=TODAY,
        due_on=TODAY,
    )
    assert result.inspections == 2
    assert {i.template.version for i in Inspection.objects.filter(campaign=result.campaign)} == {2}


def test_inactive_positions_and_kinds_without_checklist_are_skipped(mine, people):
    mine.face2.is_active = False
    mine.face2.save()
    result = services.campaign_create(
        actor=people.safety, code="C3", title_vi="Đợt 3", unit_codes=["A-M1"], starts_on=TODAY, due_on=TODAY
    )
    assert result.skipped == ["A-M1-K2-X1"]
    assert not Inspection.objects.filter(position=mine.face2).exists()


def test_campaign_over_units_outside_scope_is_refused_whole(mine, people, tree):
    sees_all = make_user("an_toan_xem", ("safety_officer", "A"), ("viewer", "G"))
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            actor=sees_all,
            code="C4",
            title_vi="x",
            unit_codes=["A-M1", "B-M1"],
            starts_on=TODAY,
            due_on=TODAY,
        )
    with pytest.raises(ValidationFailed) as exc:
        services.campaign_create(
            actor=people.safety_b, code="C4", title_vi="x", unit_codes=["A-M1"], starts_on=TODAY, due_on=TODAY
        )
    assert exc.value.items[0].type == "unknown_unit"
    assert not Campaign.objects.exists() and not Inspection.objects.exists()


def test_a_position_is_in_one_active_campaign_at_a_time(campaign, people):
    with pytest.raises(ValidationFailed) as exc:
        services.campaign_create(
            actor=people.safety,
            code="AGAIN",
            title_vi="x",
            unit_codes=["A-M1-K1"],
            starts_on=TODAY,
            due_on=TODAY,
        )
    assert {i.type for i in exc.value.items} == {"already_in_campaign"}


def test_progress_by_mine_and_area_and_overdue(campaign, mine, people, inspect):
    inspect(campaign, mine.face)
    inspect(campaign, mine.heading, fail=("R-ROOF",))
    progress = selectors.campaign_progress(campaign, people.safety, on=campaign.due_on + dt.timedelta(days=1))
    site = progress.sites[0]
    assert (site.total, site.done, site.failed, site.pending, site.overdue) == (4, 1, 1, 2, 2)
    areas = {a.unit.code: (a.done, a.failed, a.pending) for a in progress.areas["A-M1"]}
    assert areas == {"A-M1-K1": (1, 0, 1), "A-M1-K2": (0, 1, 1)}
    assert sorted(p.campaign_position.position.code for p in progress.overdue) == ["A-M1-K1-F2", "A-M1-K2-P1"]


# --- answers ------------------------------------------------------------------------------------------------


def test_number_outside_limits_fails_the_item(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    services.answers_save(
        actor=people.safety, inspection_id=inspection.pk, answers=[AnswerIn("V-VEL", number="0,15")], now=NOW
    )
    answer = Answer.objects.get(inspection=inspection, item__code="V-VEL")
    assert answer.passed is False and answer.number == 0.15
    assert "0,25" in answer.verdict  # a Vietnamese verdict writes numbers the Vietnamese way


@pytest.mark.parametrize(
    ("item", "value", "passed"),
    [
        ("G-CH4", 0.99, True),
        ("G-CH4", 1.0, False),
        ("G-CO", 17, False),
        ("G-O2", 20.0, False),
        ("G-O2", 20.8, True),
    ],
)
def test_hand_held_gas_reading_is_judged_against_the_limit_profile(
    campaign, mine, people, item, value, passed
):
    inspection = inspection_of(campaign, mine.face)
    services.answers_save(
        actor=people.safety, inspection_id=inspection.pk, answers=[AnswerIn(item, number=value)]
    )
    answer = Answer.objects.get(inspection=inspection, item__code=item)
    assert answer.passed is passed
    if not passed:
        assert "QCVN-01-2011-BCT" in answer.verdict


@pytest.mark.parametrize(
    ("answer", "field", "kind"),
    [
        (AnswerIn("G-CH4", number=150), "number", "out_of_range"),
        (AnswerIn("G-CH4", number="abc"), "number", "not_a_number"),
        (AnswerIn("R-ROOF", choice="maybe"), "choice", "enum"),
        (AnswerIn("NOPE", choice="pass"), "item", "unknown_item"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(campaign, mine, people, answer, field, kind):
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(ValidationFailed) as exc:
        services.answers_save(
            actor=people.safety,
            inspection_id=inspection.pk,
            answers=[AnswerIn("V-FAN", choice="pass"), answer],
        )
    assert exc.value.items[0].loc == ("body", "answers", 1, field)
    assert exc.value.items[0].type == kind
    assert not Answer.objects.filter(inspection=inspection).exists()


def test_signing_needs_every_required_answer(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    answers = [a for a in good_answers(inspection) if a.item != "X-SCSR"]
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_sign(actor=people.safety, inspection_id=inspection.pk, answers=answers, now=NOW)
    assert [i.loc for i in exc.value.items] == [("body", "answers", "X-SCSR")]
    inspection.refresh_from_db()
    assert inspection.status == "pending" and not Answer.objects.filter(inspection=inspection).exists()


def test_inspector_cannot_countersign_their_own_inspection(campaign, mine, people, inspect):
    inspection = inspect(campaign, mine.face, countersign=False)
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_countersign(actor=people.safety, inspection_id=inspection.pk, now=NOW)
    assert exc.value.status == 422 and exc.value.items[0].type == "self_countersign"
    inspection.refresh_from_db()
    assert inspection.status == "signed" and inspection.countersigned_by is None
    services.inspection_countersign(actor=people.overman, inspection_id=inspection.pk, now=NOW)
    inspection.refresh_from_db()
    assert inspection.status == "complete"


def test_signed_inspection_is_frozen(campaign, mine, people, inspect):
    inspection = inspect(campaign, mine.face)
    with pytest.raises(Conflict):
        services.answers_save(
            actor=people.safety, inspection_id=inspection.pk, answers=[AnswerIn("R-ROOF", choice="fail")]
        )


def test_inspecting_outside_ones_scope_is_404_and_without_the_role_403(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(NotFound):
        services.answers_save(
            actor=people.safety_b, inspection_id=inspection.pk, answers=[AnswerIn("R-ROOF", choice="pass")]
        )
    with pytest.raises(PermissionDenied):
        services.answers_save(
            actor=people.viewer, inspection_id=inspection.pk, answers=[AnswerIn("R-ROOF", choice="pass")]
        )
    assert not Answer.objects.exists()


def test_failed_items_become_findings_with_severity_and_deadline(campaign, mine, people, inspect):
    inspection = inspect(campaign, mine.face, fail=("R-ROOF", "V-DOORS"))
    findings = {f.item.code: f for f in Finding.objects.filter(inspection=inspection)}
    assert findings["R-ROOF"].severity == "critical" and findings["R-ROOF"].deadline == TODAY + dt.timedelta(
        days=1
    )
    assert findings["V-DOORS"].severity == "major" and findings["V-DOORS"].deadline == TODAY + dt.timedelta(
        days=3
    )
    assert findings["R-ROOF"].responsible == "Tổ kiểm tra số 1"
    assert "hỏng" in findings["R-ROOF"].detail


# --- photos -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"), [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp")]
)
def test_photos_are_typed_by_their_bytes_and_stored(campaign, mine, people, settings, content, kind):
    inspection = inspection_of(campaign, mine.face)
    photo = services.photo_add(
        actor=people.safety,
        content=content,
        filename="x.bin",
        inspection_id=inspection.pk,
        item_code="R-PHOTO",
    )
    assert photo.content_type == kind
    assert services.photo_path(photo).read_bytes() == content


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"GIF89a" + b"\x00" * 50, "unsupported_type"), (b"%PDF-1.4 hello", "unsupported_type"), (b"", "empty")],
)
def test_wrong_photo_type_is_422(campaign, mine, people, content, kind):
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(ValidationFailed) as exc:
        services.photo_add(
            actor=people.safety, content=content, filename="a.jpg", inspection_id=inspection.pk
        )
    assert exc.value.items[0].type == kind
    assert not Photo.objects.exists()


def test_oversize_photo_is_422(campaign, mine, people, settings):
    settings.SAFETY_PHOTO_MAX_BYTES = 1000
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(ValidationFailed) as exc:
        services.photo_add(actor=people.safety, content=JPEG + b"\x00" * 1000, inspection_id=inspection.pk)
    assert exc.value.items[0].type == "too_large"
    assert not Photo.objects.exists()


# --- findings -----------------------------------------------------------------------------------------------


def test_closing_a_critical_finding_without_evidence_is_422(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get(item__code="R-ROOF")
    with pytest.raises(ValidationFailed) as exc:
        services.finding_close(
            actor=people.safety, finding_id=finding.pk, action_taken="Đã chống", evidence=" "
        )
    assert exc.value.items[0].loc == ("body", "evidence") and exc.value.items[0].type == "evidence_required"
    finding.refresh_from_db()
    assert finding.status == "open" and finding.verified_by is None


def test_a_photo_is_evidence_enough(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get(item__code="R-ROOF")
    services.photo_add(actor=people.overman, content=JPEG, finding_id=finding.pk)
    services.finding_close(actor=people.safety2, finding_id=finding.pk, action_taken="Đã chống bổ sung")
    finding.refresh_from_db()
    assert finding.status == "closed" and finding.verified_by == people.safety2


def test_only_a_safety_officer_verifies_a_closure(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get(item__code="R-ROOF")
    with pytest.raises(PermissionDenied):
        services.finding_close(actor=people.overman, finding_id=finding.pk, action_taken="x", evidence="y")


def test_critical_items_findings_stay_critical(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    finding = Finding.objects.get(item__code="R-ROOF")
    with pytest.raises(ValidationFailed):
        services.finding_update(actor=people.safety, finding_id=finding.pk, severity="minor")


def test_overdue_findings_escalate_with_time_and_severity(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF", "V-DOORS"))  # critical due +1 day, major due +3 days
    assert selectors.overdue_findings(mine.site, TODAY + dt.timedelta(days=1)) == []
    rows = selectors.overdue_findings(mine.site, TODAY + dt.timedelta(days=5))
    assert [(r.finding.severity, r.days_overdue, r.level) for r in rows] == [
        ("critical", 4, 3),
        ("major", 2, 1),
    ]
    rows = selectors.overdue_findings(tree_root(mine), TODAY + dt.timedelta(days=12))
    assert [(r.finding.severity, r.level) for r in rows] == [("critical", 3), ("major", 2)]
    assert rows[0].unit == mine.face and rows[0].title.startswith("R-ROOF")  # readable by the briefing pack


def tree_root(mine):
    return mine.site.parent.parent


def test_open_critical_findings_under_a_unit(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF", "V-DOORS"))
    assert [f.item.code for f in selectors.open_critical_findings(mine.site)] == ["R-ROOF"]
    assert list(selectors.open_critical_findings(mine.k2)) == []


# --- incidents ----------------------------------------------------------------------------------------------


def test_incident_counts_per_period(mine, people):
    for day, kind, severity, injured in (
        (1, "near_miss", "low", 0),
        (2, "injury", "high", 1),
        (20, "incident", "medium", 0),
    ):
        services.incident_report(
            actor=people.overman,
            unit_code=mine.face.code,
            kind=kind,
            category="roof",
            severity=severity,
            occurred_at=NOW - dt.timedelta(days=day),
            title="Đá rơi",
            injured=injured,
            now=NOW,
        )
    counts = selectors.incident_counts(mine.site, TODAY - dt.timedelta(days=7), TODAY)
    assert {k: counts[k] for k in ("near_miss", "incident", "injury")} == {
        "near_miss": 1,
        "incident": 0,
        "injury": 1,
    }
    assert counts["details"]["injured"] == 1 and counts["details"]["by_severity"]["high"] == 1


def test_bad_incident_is_refused(mine, people):
    with pytest.raises(ValidationFailed) as exc:
        services.incident_report(
            actor=people.overman,
            unit_code=mine.face.code,
            kind="near_miss",
            category="x",
            severity="low",
            occurred_at=NOW + dt.timedelta(days=1),
            title="?",
            injured=2,
            now=NOW,
        )
    assert {i.loc[-1] for i in exc.value.items} == {"category", "occurred_at", "injured"}
    assert not Incident.objects.exists()


def test_every_write_is_audited(campaign, mine, people, inspect):
    inspect(campaign, mine.face, fail=("R-ROOF",))
    actions = set(
        AuditEntry.objects.filter(object_type__startswith="safety.").values_list("action", flat=True)
    )
    assert {"create", "generate", "answer", "sign", "countersign"} <= actions
