"""The two-company world both CI probes run against: the demo group, with company A (VSO) and company B (NDA)
each given one object of every kind the API addresses by code or id, and a user (with a bearer token) per
role scoped to company A, plus a group administrator.

Built once per probe package (see conftest.py) inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone

from headframe.org.models import BridgePoint, Person, Unit
from headframe.org.roles import Role

A_CODE = "VSO"  # the company whose users probe
B_CODE = "NDA"  # the company whose data they must never reach
GROUP_CODE = "HFG"
#: Roles every probe user holds on company A (one user per role). Roles added to headframe.org.roles join the
#: probes automatically (see test_rbac_matrix.test_every_role_is_probed).
A_ROLES = tuple(Role.values)
PASSWORD = "probe-password-0123"
#: Roles tried in turn when a probe needs one that may do an operation on A's data, then the group admin.
ROLES_MOST_ABLE_FIRST = (
    "admin",
    "planner",
    "safety_officer",
    "dispatcher",
    "reporter",
    "viewer",
    "medical",  # individual health records: the medical role alone (the admin role has no MEDICAL)
    "gateway",
    "group_admin",
)
#: The world of the running test, for schemathesis hooks (they run while hypothesis draws, inside the test).
CURRENT_WORLD: list[World] = []


@dataclass
class Company:
    """One of everything of a company that the API addresses by a code or an id."""

    code: str
    site: str
    area: str
    position: str
    gateway: str
    sensor: str
    bridge_point: str
    person: str  # employee number
    username: str  # a user working only in this company
    oncall: int = 0
    condition: int = 0
    meeting: int = 0
    agenda_item: int = 0
    live_meeting: int = 0  # a meeting in session
    live_agenda_item: int = 0
    directive: int = 0
    key_task: int = 0
    kpi: int = 0
    campaign: str = ""
    inspection: int = 0
    item: str = ""  # an item code of the inspection's checklist
    campaign_position: str = ""  # the inspection's work position
    finding: int = 0
    incident: int = 0
    photo: int = 0
    holiday: int = 0  # a company's own day off
    #: Every code and name of the company's own data (units, sensors, gateways, people, ...): none of them may
    #: appear in an answer to a user of the other company.
    secrets: set[str] = field(default_factory=set)

    @property
    def company(self) -> str:
        return self.code


@dataclass
class World:
    a: Company
    b: Company
    tokens: dict[
        str, str
    ]  # role (scoped to A) → raw bearer token; "group_admin" → an admin of the whole group
    today: dt.date
    indicator: str = "raw_coal_t"
    template: str = ""

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _company(code: str, today: dt.date, now: dt.datetime) -> Company:
    from headframe.briefing import services as briefing
    from headframe.notify import services as notify
    from headframe.production import holidays
    from headframe.production import services as production
    from headframe.production.services import ActualRow
    from headframe.safety import services as safety
    from headframe.safety.models import Campaign, Inspection
    from headframe.telemetry import services as telemetry
    from headframe.telemetry.models import AlarmCondition, Gateway, Sensor
    from headframe.telemetry.services import Batch

    site, area = f"{code}-M1", f"{code}-M1-KT1"
    position = f"{area}-LC01"
    gateway = Gateway.objects.get(site__code=site).code
    sensor = Sensor.objects.get(code=f"{position}-CH4").code
    person = Person.objects.filter(unit__code=code).order_by("employee_no").first()
    username = f"probe_{code.lower()}_admin"
    from headframe.org import services as org

    org.user_create(actor=None, username=username, grants=[(Role.ADMIN, code)], password=PASSWORD)
    c = Company(
        code=code,
        site=site,
        area=area,
        position=position,
        gateway=gateway,
        sensor=sensor,
        bridge_point=BridgePoint.objects.get(unit__code=code).code,
        person=person.employee_no,
        username=username,
    )
    c.oncall = notify.oncall_create(
        actor=None, unit_code=site, level=1, name=f"Trực ca {code}", email=f"truc.{code.lower()}@example.org"
    ).pk
    # An alarm: a methane reading far over the limit at the face.
    telemetry.ingest([Batch(gateway, [(sensor, now.isoformat(), 2.5)], channel="http")])
    c.condition = AlarmCondition.objects.filter(sensor__code=sensor).order_by("id").first().pk
    meeting = briefing.meeting_create(
        actor=None,
        unit_code=code,
        title=f"Giao ban {code}",
        starts_at=now + dt.timedelta(days=2),
        period_start=today.replace(day=1),
        period_end=today,
        bridge_points=[briefing.BridgePointIn(c.bridge_point, "")],
        agenda=[briefing.AgendaItemIn(f"Sản xuất {code}", "production", "")],
    )
    c.meeting = meeting.pk
    c.agenda_item = meeting.agenda_items.order_by("id").first().pk
    live = briefing.meeting_create(
        actor=None,
        unit_code=code,
        title=f"Giao ban trực tuyến {code}",
        starts_at=now,
        period_start=today.replace(day=1),
        period_end=today,
        bridge_points=[briefing.BridgePointIn(c.bridge_point, "")],
        agenda=[briefing.AgendaItemIn(f"An toàn {code}", "safety", "")],
    )
    briefing.meeting_start(actor=None, meeting=live)
    c.live_meeting = live.pk
    c.live_agenda_item = live.agenda_items.order_by("id").first().pk
    task = briefing.key_task_create(
        actor=None, year=today.year, title_vi=f"Nhiệm vụ {code}", owner_unit_code=code, owner_person=c.person
    )
    c.key_task = task.pk
    c.holiday = holidays.holiday_add(
        actor=None, day=today + dt.timedelta(days=30), name=f"Ngày truyền thống {code}", unit_code=code
    ).pk
    c.kpi = briefing.kpi_create(actor=None, key_task=task, name_vi=f"Mốc {code}", kind="manual").pk
    c.directive = briefing.directive_create(
        actor=None,
        text=f"Chỉ đạo {code}",
        owner_unit_code=code,
        owner_person=c.person,
        deadline=today + dt.timedelta(days=10),
        meeting=meeting,
        key_task=task.pk,
    ).pk
    campaign = Campaign.objects.filter(units__code__startswith=code).first()
    if campaign is None:
        campaign = safety.campaign_create(
            actor=None,
            code=f"{code}-PROBE",
            title_vi=f"Kiểm tra {code}",
            unit_codes=[f"{code}-M2"],  # M1 stays ungated, so production figures can be entered there
            starts_on=today - dt.timedelta(days=1),
            due_on=today + dt.timedelta(days=5),
        ).campaign
    c.campaign = campaign.code
    inspection = (
        Inspection.objects.filter(campaign=campaign, status="pending", position__code__startswith=f"{code}-")
        .order_by("id")
        .first()
    )
    c.inspection = inspection.pk
    c.item = inspection.template.items.order_by("id").first().code
    c.campaign_position = inspection.position.code
    c.finding = safety.finding_create(
        actor=None,
        position_code=position,
        severity="minor",
        title=f"Phát hiện {code}",
        deadline=today + dt.timedelta(days=3),
    ).pk
    c.incident = safety.incident_report(
        actor=None,
        unit_code=position,
        kind="near_miss",
        category="gas",
        severity="low",
        occurred_at=now - dt.timedelta(hours=3),
        title=f"Sự cố {code}",
        finding_ids=[c.finding],
    ).pk
    c.photo = safety.photo_add(actor=None, content=png_bytes(), filename="a.png", finding_id=c.finding).pk
    safety.photo_add(actor=None, content=png_bytes(), filename="b.png", inspection_id=c.inspection)
    safety.photo_add(actor=None, content=png_bytes(), filename="c.png", incident_id=c.incident)
    production.plan_version_create(
        actor=None,
        unit_code=site,
        year=today.year,
        effective_from=dt.date(today.year, 1, 1),
        values={"raw_coal_t": 1_200_000},
    )
    yesterday = today - dt.timedelta(days=1)
    production.actuals_upsert(
        actor=None, rows=[ActualRow(area, "raw_coal_t", yesterday, 1, 1234)], source="api"
    )
    production.deviation_record(
        actor=None,
        unit_code=area,
        indicator_code="raw_coal_t",
        day=yesterday,
        category="equipment",
        lost_hours=2,
        note=f"Băng tải {code}",
    )
    c.secrets = _secrets_of(c)
    return c


def _secrets_of(c: Company) -> set[str]:
    """Codes and names of the company's data that no user of another company may be shown. Person names are
    left out when someone elsewhere has the same name (the demo draws them at random)."""
    from headframe.telemetry.models import Gateway, Sensor

    units = Unit.objects.filter(path__startswith=Unit.objects.get(code=c.code).path)
    out: set[str] = set()
    for u in units:
        out |= {u.code, u.name_vi, u.name_en}
    out |= set(
        Gateway.objects.filter(site__path__startswith=f"/{GROUP_CODE}/{c.code}/").values_list(
            "code", flat=True
        )
    )
    out |= set(Sensor.objects.filter(code__startswith=f"{c.code}-").values_list("code", flat=True))
    out |= {bp.code for bp in BridgePoint.objects.filter(unit__code=c.code)}
    others = set(Person.objects.exclude(unit__code=c.code).values_list("full_name", flat=True))
    for p in Person.objects.filter(unit__code=c.code):
        out.add(p.employee_no)
        if p.full_name not in others:
            out.add(p.full_name)
    # names that other companies' units share (every mine has a "Mining section 1") are no secret
    b_path = Unit.objects.get(code=c.code).path
    for u in Unit.objects.exclude(path__startswith=b_path):
        out -= {u.code, u.name_vi, u.name_en}
    out.add(c.username)
    out |= {
        c.campaign,
        f"Giao ban {c.code}",
        f"Giao ban trực tuyến {c.code}",
        f"An toàn {c.code}",
        f"Chỉ đạo {c.code}",
        f"Nhiệm vụ {c.code}",
        f"Trực ca {c.code}",
    }
    out |= {f"Phát hiện {c.code}", f"Sự cố {c.code}", f"Băng tải {c.code}", f"Mốc {c.code}"}
    return {s for s in out if s}


def build_world() -> World:
    from headframe.org import services as org
    from tests.demo_snapshot import demo_database

    demo_database()
    now = timezone.now()
    today = timezone.localdate(now)
    a, b = _company(A_CODE, today, now), _company(B_CODE, today, now)
    tokens: dict[str, str] = {}
    for role in A_ROLES:
        user = org.user_create(
            actor=None, username=f"probe_a_{role}", grants=[(role, A_CODE)], password=PASSWORD
        )
        tokens[role] = org.token_create(actor=None, user=user)[1]
    group_admin = get_user_model().objects.get(username="admin")
    tokens["group_admin"] = org.token_create(actor=None, user=group_admin)[1]
    # Used just now, as a client's token would be: its last use is then written at most every few minutes
    # (TOKEN_TOUCH_INTERVAL_S), not on every probe call, where the rolled-back savepoint would undo it each time.
    from headframe.org.models import ApiToken

    ApiToken.objects.filter(user__username__startswith="probe_a_").update(last_used_at=timezone.now())
    ApiToken.objects.filter(user=group_admin).update(last_used_at=timezone.now())
    from headframe.safety.models import ChecklistTemplate

    template = ChecklistTemplate.objects.order_by("code").first().code
    return World(a=a, b=b, tokens=tokens, today=today, template=template)
