"""Check-in and check-out at the lamp room: unknown tags, double check-in, check-out without check-in, every
refusal at once, the overman's audited override, and scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from headframe.core.errors import Conflict, NotFound, PermissionDenied
from headframe.core.models import AuditEntry
from headframe.workforce.models import Certificate, Presence
from headframe.workforce.services import CheckInRefused, check_in, check_out
from tests.workforce.conftest import NOW, roster


def test_a_rostered_trained_fit_person_goes_underground_and_comes_back(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    presence = check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW)
    assert presence.checked_out_at is None and presence.checked_in_by == wf.lamp_a
    assert presence.override_by is None and presence.refusals == []
    entry = AuditEntry.objects.filter(object_type="workforce.presence").get()
    assert entry.unit_path == wf.a_m1.path and entry.after["event"] == "check_in"
    out = check_out(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW + dt.timedelta(hours=7))
    assert out.checked_out_at == NOW + dt.timedelta(hours=7) and out.checked_out_by == wf.lamp_a
    # and may go down again
    check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW + dt.timedelta(hours=8))
    assert Presence.objects.filter(worker=wf.ann).count() == 2


def test_early_arrival_for_the_first_shift_counts_on_todays_roster(wf):
    roster(wf.ann, wf.a_m1_k1_f1)  # shift 1 of 10/02 starts 06:00; at 05:40 it is still 09/02's shift 3
    check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW.replace(hour=5, minute=40))


def test_an_unknown_tag_is_404(wf):
    with pytest.raises(NotFound) as caught:
        check_in(actor=wf.lamp_a, tag_no="NO-SUCH", site_code="A-M1", at=NOW)
    assert caught.value.status == 404 and caught.value.items[0].type == "unknown_tag"
    assert "NO-SUCH" in caught.value.items[0].msg
    with pytest.raises(NotFound):
        check_out(actor=wf.lamp_a, tag_no="", site_code="A-M1", at=NOW)


def test_another_companys_tag_is_unknown_at_this_mine(wf):
    roster(wf.bob, wf.b_m1_k1_f1)
    with pytest.raises(NotFound) as caught:
        check_in(actor=None, tag_no="T-B1", site_code="A-M1", at=NOW)
    assert caught.value.items[0].type == "unknown_tag"
    assert "Phạm" not in str(caught.value)


def test_double_check_in_is_409_and_nothing_is_written(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW)
    with pytest.raises(Conflict) as caught:
        check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW + dt.timedelta(minutes=5))
    assert caught.value.status == 409 and caught.value.items[0].type == "already_underground"
    assert "Nguyễn Văn An" in caught.value.items[0].msg
    assert Presence.objects.count() == 1


def test_check_out_without_check_in_is_409(wf):
    with pytest.raises(Conflict) as caught:
        check_out(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW)
    assert caught.value.status == 409 and caught.value.items[0].type == "not_underground"
    assert not AuditEntry.objects.filter(object_type="workforce.presence").exists()


def test_check_out_at_another_mine_than_the_check_in_is_409(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    check_in(actor=None, tag_no="T-A1", site_code="A-M1", at=NOW)
    with pytest.raises(Conflict) as caught:
        check_out(actor=None, tag_no="T-A1", site_code="A-M2", at=NOW + dt.timedelta(hours=1))
    assert caught.value.items[0].type == "not_underground"


def test_every_refusal_is_listed_at_once(wf):
    wf.binh.health_class = 5
    wf.binh.save()
    Certificate.objects.filter(worker=wf.binh).update(expires_on=dt.date(2027, 1, 31))
    with pytest.raises(CheckInRefused) as caught:
        check_in(actor=wf.lamp_a, tag_no="T-A2", site_code="A-M1", at=NOW)
    exc = caught.value
    assert isinstance(exc, Conflict) and exc.status == 409
    assert [item.type for item in exc.items] == ["not_rostered", "training_lapsed", "health_class"]
    assert "Safety training" in exc.items[1].msg and "31/01/2027" in exc.items[1].msg
    assert "V" in exc.items[2].msg and "IV–VI" in exc.items[2].msg
    with translation.override("vi"):
        assert "Huấn luyện ATVSLĐ" in exc.items[1].text and "31/01/2027" in exc.items[1].text
        assert "dưới lò" in exc.items[2].text
    assert not Presence.objects.exists()


def test_a_missing_mandatory_course_is_named(wf):
    roster(wf.binh, wf.a_m1_k1_f1)
    Certificate.objects.filter(worker=wf.binh).delete()
    with pytest.raises(CheckInRefused) as caught:
        check_in(actor=wf.lamp_a, tag_no="T-A2", site_code="A-M1", at=NOW)
    assert [i.type for i in caught.value.items] == ["training_lapsed"]
    assert "has no Safety training" in caught.value.items[0].msg


def test_a_renewed_certificate_lets_the_person_go(wf):
    roster(wf.binh, wf.a_m1_k1_f1)
    Certificate.objects.filter(worker=wf.binh).update(expires_on=dt.date(2027, 1, 31))
    Certificate.objects.create(
        worker=wf.binh, course=wf.safety, passed_on=dt.date(2027, 2, 1), expires_on=dt.date(2028, 2, 1)
    )
    check_in(actor=wf.lamp_a, tag_no="T-A2", site_code="A-M1", at=NOW)


def test_rostered_at_another_mine_is_not_rostered_here(wf):
    roster(wf.ann, wf.a_m2_k1_f1)
    with pytest.raises(CheckInRefused) as caught:
        check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW)
    assert [i.type for i in caught.value.items] == ["not_rostered"]


def test_an_overman_lets_a_refused_person_down_and_it_is_audited(wf):
    Certificate.objects.filter(worker=wf.binh).update(expires_on=dt.date(2027, 1, 31))
    presence = check_in(
        actor=wf.overman_a,
        tag_no="T-A2",
        site_code="A-M1",
        at=NOW,
        override_reason="pump repair, renewal booked",
    )
    assert presence.override_by == wf.overman_a
    assert presence.override_reason == "pump repair, renewal booked"
    assert [r["type"] for r in presence.refusals] == ["not_rostered", "training_lapsed"]
    entry = AuditEntry.objects.get(object_type="workforce.presence")
    assert entry.after["override"] is True and entry.after["override_reason"] == "pump repair, renewal booked"
    assert len(entry.after["refusals"]) == 2


def test_the_lamp_room_alone_may_not_override(wf):
    with pytest.raises(PermissionDenied) as caught:
        check_in(actor=wf.lamp_a, tag_no="T-A2", site_code="A-M1", at=NOW, override_reason="urgent")
    assert caught.value.status == 403
    assert not Presence.objects.exists()


def test_an_override_reason_without_refusals_is_not_recorded(wf):
    roster(wf.ann, wf.a_m1_k1_f1)
    presence = check_in(
        actor=wf.lamp_a, tag_no="T-A1", site_code="A-M1", at=NOW, override_reason="just in case"
    )
    assert presence.override_by is None and presence.override_reason == ""


def test_scope_of_the_lamp_room(wf):
    roster(wf.ann, wf.a_m2_k1_f1)
    # A-M1's lamp room does not see A-M2 (404), B's HR does not see A-M1 (404), A's HR sees it but has no lamp room
    with pytest.raises(NotFound):
        check_in(actor=wf.lamp_a, tag_no="T-A1", site_code="A-M2", at=NOW)
    with pytest.raises(NotFound):
        check_in(actor=wf.personnel_b, tag_no="T-A1", site_code="A-M1", at=NOW)
    with pytest.raises(PermissionDenied):
        check_in(actor=wf.personnel_a, tag_no="T-A1", site_code="A-M1", at=NOW)
    with pytest.raises(PermissionDenied):
        check_out(actor=wf.personnel_a, tag_no="T-A1", site_code="A-M1", at=NOW)


def test_check_in_only_at_a_mine(wf):
    from headframe.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        check_in(actor=None, tag_no="T-A1", site_code="A-M1-K1", at=NOW)
    assert caught.value.items[0].type == "not_a_site"


def test_check_out_before_check_in_is_refused(wf):
    from headframe.core.errors import ValidationFailed

    roster(wf.ann, wf.a_m1_k1_f1)
    check_in(actor=None, tag_no="T-A1", site_code="A-M1", at=NOW)
    with pytest.raises(ValidationFailed):
        check_out(actor=None, tag_no="T-A1", site_code="A-M1", at=NOW - dt.timedelta(hours=1))
