"""A mine with work positions of several kinds, users with the roles a campaign needs, and helpers to answer,
sign and put gas sensors into any state."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from headframe.safety import services
from headframe.safety.checklists import load_restart_templates
from headframe.safety.models import AnswerType, ChecklistTemplate, Inspection, TemplateItem, TemplateSection
from headframe.safety.services import AnswerIn
from headframe.telemetry.directory import directory
from headframe.telemetry.models import AlarmCondition, Gateway, Sensor, SensorState
from tests import seeds
from tests.factories import make_unit, make_user

TODAY = dt.date(2027, 2, 10)
NOW = timezone.make_aware(dt.datetime(2027, 2, 10, 8, 0))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    directory.invalidate()


@pytest.fixture
def mine(tree):
    """A-M1 with K1 (two longwall faces) and K2 (a heading, a pump station, a processing line: no checklist)."""
    ns = SimpleNamespace(site=tree.a_m1, k1=tree.a_m1_k1, k2=tree.a_m1_k2, face=tree.a_m1_k1_f1)
    ns.face2 = make_unit("A-M1-K1-F2", "position", "A-M1-K1")
    ns.heading = make_unit("A-M1-K2-D1", "position", "A-M1-K2", position_kind="development_heading")
    ns.pump = make_unit("A-M1-K2-P1", "position", "A-M1-K2", position_kind="pump_station")
    ns.line = make_unit("A-M1-K2-X1", "position", "A-M1-K2", position_kind="processing_line")
    return ns


@pytest.fixture
def people(tree):
    return SimpleNamespace(
        safety=make_user("an_toan_a", ("safety_officer", "A")),
        safety2=make_user("an_toan_a2", ("safety_officer", "A-M1")),
        overman=make_user("quan_doc_a", ("reporter", "A-M1")),
        planner=make_user("ke_hoach", ("planner", "G")),
        viewer=make_user("xem_a", ("viewer", "A")),
        safety_b=make_user("an_toan_b", ("safety_officer", "B")),
        reporter_b=make_user("bao_cao_b", ("reporter", "B")),
    )


@pytest.fixture
def campaign(mine, people):
    result = services.campaign_create(
        actor=people.safety,
        code="TET-2027",
        title_vi="Kiểm tra trước khi sản xuất trở lại sau Tết 2027",
        title_en="Restart after Tết 2027",
        unit_codes=["A-M1"],
        starts_on=TODAY - dt.timedelta(days=2),
        due_on=TODAY + dt.timedelta(days=2),
        teams={"A-M1-K1": "Tổ kiểm tra số 1", "A-M1": "Tổ kiểm tra số 2"},
        now=NOW - dt.timedelta(days=2),
    )
    return result.campaign


def restart_campaign_from_yesterday(actor, **extra):
    """The Tết restart campaign over A-M1, open since yesterday (real time: for tests through a live server). A
    live_server test runs on a flushed database: the checklists and limits the data migrations seed are put back
    first."""
    if not ChecklistTemplate.objects.exists():
        load_restart_templates(ChecklistTemplate, TemplateSection, TemplateItem)
    seeds.limit_profiles()
    today = timezone.localdate()
    return services.campaign_create(
        actor=actor,
        code="TET-2027",
        title_vi="Kiểm tra trước khi sản xuất trở lại sau Tết 2027",
        title_en="Restart after Tết 2027",
        unit_codes=["A-M1"],
        starts_on=today - dt.timedelta(days=1),
        due_on=today + dt.timedelta(days=2),
        **extra,
    )


def good_answers(inspection: Inspection, **overrides) -> list[AnswerIn]:
    """A passing answer for every item that can be answered (photos are uploaded, not answered)."""
    out = []
    for item in inspection.template.items.all():
        if item.code in overrides:
            out.append(overrides[item.code])
        elif item.answer_type == AnswerType.PASS_FAIL_NA:
            out.append(AnswerIn(item.code, choice="pass"))
        elif item.answer_type == AnswerType.NUMBER:
            if item.limit_code.startswith("o2"):
                value = 20.9
            elif item.limit_code:
                value = 0.1 if "ch4" in item.limit_code else 2
            elif item.min_value is not None:
                value = item.min_value + 1
            elif item.max_value is not None:
                value = item.max_value / 2
            else:
                value = 1
            out.append(AnswerIn(item.code, number=value))
        elif item.answer_type == AnswerType.TEXT:
            out.append(AnswerIn(item.code, text="Đạt"))
    return out


def inspection_of(campaign, position) -> Inspection:
    return Inspection.objects.filter(campaign=campaign, position=position).order_by("-sequence").first()


@pytest.fixture
def inspect(people):
    """inspect(campaign, position, fail=("R-ROOF",)) → the inspection signed by the safety officer and
    countersigned by the overman, with the named pass/fail items failed."""

    def run(campaign, position, fail=(), countersign=True, now=NOW):
        inspection = inspection_of(campaign, position)
        overrides = {code: AnswerIn(code, choice="fail", note="hỏng") for code in fail}
        services.inspection_sign(
            actor=people.safety,
            inspection_id=inspection.pk,
            answers=good_answers(inspection, **overrides),
            now=now,
        )
        if countersign:
            services.inspection_countersign(actor=people.overman, inspection_id=inspection.pk, now=now)
        inspection.refresh_from_db()
        return inspection

    return run


@pytest.fixture
def gas(mine):
    """gas(position, state) with state "ok", "alarm", "offline", "stale", "latched" or "none" (no sensors)."""
    gateway = Gateway.objects.create(code="GW-AM1", site=mine.site)

    def put(position, state, now=NOW):
        if state == "none":
            Sensor.objects.filter(position=position).delete()
            return
        sensor = Sensor.objects.filter(code=f"{position.code}-CH4").first()
        if sensor is None:
            sensor = Sensor.objects.create(
                code=f"{position.code}-CH4",
                kind="ch4_pct",
                unit_of_measure="%",
                range_min=0,
                range_max=100,
                position=position,
                location="face_return",
                gateway=gateway,
                period_s=10,
            )
        now_ms = int(now.timestamp() * 1000)
        last_ts = now_ms - (3_600_000 if state == "stale" else 1_000)
        SensorState.objects.update_or_create(
            sensor=sensor, defaults={"last_ts": last_ts, "last_value": 0.3, "online": state != "offline"}
        )
        AlarmCondition.objects.update_or_create(
            sensor=sensor,
            limit_code="ch4_face_return_trip",
            defaults={"active": state == "alarm", "latched": state == "latched", "acked": state == "ok"},
        )
        return sensor

    return put
