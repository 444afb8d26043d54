"""What the probes know about the API's inputs: which parameter or body field names which kind of object.

Both probes read the OpenAPI document and fill every operation's inputs from the rules below. A field that
names an object of a company (a unit, a sensor, an id...) is a `Ref`: the RBAC matrix fills it with company A's,
company B's or an unknown value; the fuzzer mixes the real values into what it generates. Anything else that is
required is filled from its JSON schema, or from a rule here when the schema alone does not make a valid value.

A new endpoint whose parameters these rules cannot fill makes the matrix fail with "teach the probe": add a rule
here (in FIELDS for a name that means the same everywhere, in OPERATIONS for one operation).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tests.probes.world import B_CODE, Company, World, png_bytes

UNKNOWN_CODE = "ZZQ"  # a company code that does not exist: unknown values look like B's with this instead


@dataclass(frozen=True)
class Ref:
    """A company's object, by kind (an attribute of world.Company). `scoped=False`: it follows the company of
    the request as a whole but is not a secret of its own (a checklist item code of the inspection's template)."""

    kind: str
    scoped: bool = True
    #: The request creates the object when the code is new (an upsert by code): codes are unique across the
    #: group, so B's code is refused while an unknown one is created; the two answers are not compared.
    creates: bool = False
    #: Answers besides a refusal that are right for B's value here (still compared with an unknown value's).
    accepts: frozenset = frozenset()

    def value(self, company: Company):
        return getattr(company, self.kind)

    def unknown(self, company: Company):
        value = self.value(company)
        if isinstance(value, int):
            return 900_000 + value
        if self.kind == "person":
            return "NV99999"
        return value.replace(B_CODE, UNKNOWN_CODE).replace(B_CODE.lower(), UNKNOWN_CODE.lower())


@dataclass(frozen=True)
class Lit:
    """A fixed value, or a function of the world (and of the company the request is about)."""

    value: Any

    def resolve(self, world: World, company: Company):
        return self.value(world, company) if callable(self.value) else copy.deepcopy(self.value)


@dataclass(frozen=True)
class Fresh:
    """A new code for something the request creates: unique per call, never a company's existing object."""

    prefix: str


@dataclass(frozen=True)
class Day:
    """A day `offset` days from today (or the first of this month) as an ISO date; where the field is a
    date-time, the moment an hour before now shifted by `offset` days (never in the future for offset 0,
    whatever the time of day the probes run)."""

    offset: int = 0
    first_of_month: bool = False

    def lit(self, fmt: str) -> Lit:
        def value(w: World, c: Company) -> str:
            day = w.today + dt.timedelta(days=self.offset)
            if self.first_of_month:
                day = day.replace(day=1)
            if fmt != "date-time":
                return day.isoformat()
            if self.first_of_month:
                return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC).isoformat()
            moment = timezone.now() + dt.timedelta(days=self.offset, hours=-1)
            return moment.replace(microsecond=0).isoformat()

        return Lit(value)


class Skip:
    """Leave this optional field out."""


SKIP = Skip()


@dataclass(frozen=True)
class File:
    """A file upload: `build(refs)` makes the bytes from the resolved values of `refs`."""

    name: str
    content_type: str
    refs: tuple[tuple[str, Ref], ...] = ()
    build: Callable[[dict], bytes] | None = None


def _sensor_csv(v: dict) -> bytes:
    return (
        "code,kind,position,location,gateway\n"
        f"{v['sensor']},ch4_pct,{v['position']},face_return,{v['gateway']}\n"
    ).encode()


def _year(w: World, c: Company) -> int:
    return w.today.year


TODAY, YESTERDAY, MONTH = Day(0), Day(-1), Day(0, first_of_month=True)


#: Field or parameter names that mean the same in every operation.
FIELDS: dict[str, Any] = {
    "unit": Ref("site"),
    "units": [Ref("site")],
    "root": Ref("company"),
    "site": Ref("site"),
    "owner": Ref("company"),
    "owner_unit": Ref("company"),
    "owner_person": Ref("person"),
    "parent": Ref("area"),
    "position": Ref("position"),
    "gateway": Ref("gateway"),
    "campaign": Ref("campaign"),
    "meeting": Ref("meeting"),
    "key_task": Ref("key_task"),
    "bridge_point": Ref("bridge_point"),
    "bridge_points": [{"code": Ref("bridge_point")}],
    "agenda_item": Ref("agenda_item"),
    "chair": Ref("username"),
    "user": Ref("username"),
    "responsible_user": Ref("username"),
    "findings": [Ref("finding")],
    "conditions": [Ref("condition")],
    "item": Ref("item", scoped=False),
    "indicator": Lit(lambda w, c: w.indicator),
    "indicators": Lit(lambda w, c: w.indicator),
    "object_type": SKIP,
    "source": SKIP,
    # path parameters
    "entry_id": Ref("oncall"),
    "condition_id": Ref("condition"),
    "meeting_id": Ref("meeting"),
    "directive_id": Ref("directive"),
    "key_task_id": Ref("key_task"),
    "kpi_id": Ref("kpi"),
    "inspection_id": Ref("inspection"),
    "photo_id": Ref("photo"),
    "finding_id": Ref("finding"),
    "incident_id": Ref("incident"),
    "holiday_id": Ref("holiday"),
    # non-code values the schema alone does not make valid
    "year": Lit(_year),
    "month": MONTH,
    "date": YESTERDAY,
    "day": YESTERDAY,
    "on": TODAY,
    "from": YESTERDAY,
    "to": TODAY,
    "lang": Lit("vi"),
    "format": Lit("xlsx"),
    "before": SKIP,
    "after": SKIP,
    "status": SKIP,
    "severity": Lit("minor"),
    "deadline": Day(7),
    "starts_on": TODAY,
    "due_on": Day(5),
    "starts_at": Day(3),
    "period_start": MONTH,
    "period_end": TODAY,
    "occurred_at": TODAY,
    "reason": Lit("probe"),
    "minutes": Lit(30),
    "comment": Lit("probe"),
}


def _workers_csv(v: dict) -> bytes:
    return (
        "employee_no,full_name,unit,team,trade,skill_grade,hire_date,health_class,tag_no\n"
        f"PRB-IMP-1,Thợ lò thử,{v['unit']},Tổ 1,miner,3,01/03/2020,2,PRB-IMP-TAG\n"
    ).encode()


@dataclass(frozen=True)
class WorkerTag(Ref):
    """The tag number of a worker of the company (the demo has workers in some companies only): the worker is
    made in the running test's savepoint when missing. `underground`: checked in at the company's mine now (for
    a check-out); otherwise not (for a check-in)."""

    underground: bool = False

    def value(self, company: Company):
        from headframe.org.models import Unit
        from headframe.workforce.models import Presence, Worker

        suffix = "OUT" if self.underground else "IN"
        tag = f"{company.code}-PRB-{suffix}"
        worker, _ = Worker.objects.get_or_create(
            employee_no=tag,
            defaults={
                "full_name": f"Thợ lò thử {suffix}",
                "unit": Unit.objects.get(code=company.area),
                "tag_no": tag,
            },
        )
        if (
            self.underground
            and not Presence.objects.filter(worker=worker, checked_out_at__isnull=True).exists()
        ):
            Presence.objects.create(
                worker=worker,
                site=Unit.objects.get(code=company.site),
                checked_in_at=timezone.now() - dt.timedelta(hours=1),
            )
        return tag


@dataclass(frozen=True)
class WorkerNo(Ref):
    """The employee number of a worker of the company (health and epidemic records), made in the running test's
    savepoint when missing."""

    def value(self, company: Company):
        from headframe.org.models import Unit
        from headframe.workforce.models import Worker

        number = f"{company.code}-PRB-MED"
        Worker.objects.get_or_create(
            employee_no=number,
            defaults={"full_name": "Thợ lò khám", "unit": Unit.objects.get(code=company.area)},
        )
        return number


@dataclass(frozen=True)
class FitWorkerNo(Ref):
    """The employee number of a worker of the company who may be rostered underground today (every mandatory
    course valid), made in the running test's savepoint when missing."""

    def value(self, company: Company):
        from django.utils import timezone

        from headframe.org.models import Unit
        from headframe.workforce.models import Certificate, Course, Worker

        worker, _ = Worker.objects.get_or_create(
            employee_no=f"{company.code}-PRB-FIT",
            defaults={"full_name": "Thợ lò xếp ca", "unit": Unit.objects.get(code=company.area)},
        )
        today = timezone.localdate()
        for course in Course.objects.all():
            Certificate.objects.get_or_create(
                worker=worker,
                course=course,
                passed_on=today - dt.timedelta(days=30),
                defaults={"expires_on": today + dt.timedelta(days=300)},
            )
        return worker.employee_no


@dataclass(frozen=True)
class CaseId(Ref):
    """The id of an epidemic case of a worker of the company (made when missing)."""

    def value(self, company: Company):
        from headframe.workforce.models import EpidemicCase, Worker

        worker = Worker.objects.get(employee_no=WorkerNo("worker").value(company))
        case, _ = EpidemicCase.objects.get_or_create(
            worker=worker,
            disease="COVID-19",
            confirmed_on=timezone.localdate(),
            defaults={"isolation_from": timezone.localdate()},
        )
        return case.pk


@dataclass(frozen=True)
class GrievanceRef(Ref):
    """The id of a grievance raised at the company's area, made in the running test's savepoint when missing;
    `answered`: one with an answer (for a close)."""

    answered: bool = False

    def value(self, company: Company):
        from headframe.org.models import Unit
        from headframe.workforce.models import Grievance

        text = "Kiến nghị thử (đã trả lời)" if self.answered else "Kiến nghị thử"
        unit = Unit.objects.get(code=company.area)
        grievance = Grievance.objects.filter(unit=unit, text=text).first()
        if grievance is None:
            today = timezone.localdate()
            grievance = Grievance.objects.create(
                unit=unit,
                text=text,
                received_on=today,
                due_on=today + dt.timedelta(days=15),
                status="answered" if self.answered else "open",
                answer="Đã trả lời" if self.answered else "",
                answered_on=today if self.answered else None,
            )
        return grievance.pk


def _certificates_csv(v: dict) -> bytes:
    return f"employee_no,course,passed_on\n{v['worker']},SOCUU,01/02/2026\n".encode()


def _payroll_csv(v: dict) -> bytes:
    return f"unit,month,headcount,total_income\n{v['unit']},01/2026,10,150000000\n".encode()


def _exams_csv(v: dict) -> bytes:
    day = timezone.localdate() - dt.timedelta(days=1)
    return f"employee_no,examined_on,health_class\n{v['employee_no']},{day:%d/%m/%Y},2\n".encode()


_EXAMS_CSV = File("kham.csv", "text/csv", refs=(("employee_no", WorkerNo("worker")),), build=_exams_csv)


_IMPORT_CSV = File(
    "sensors.csv",
    "text/csv",
    refs=(
        ("sensor", Ref("sensor", creates=True)),
        ("position", Ref("position")),
        ("gateway", Ref("gateway")),
    ),
    build=_sensor_csv,
)
_WORKERS_CSV = File("nhan_su.csv", "text/csv", refs=(("unit", Ref("area")),), build=_workers_csv)
_CERTIFICATES_CSV = File(
    "chung_chi.csv", "text/csv", refs=(("worker", WorkerTag("tag")),), build=_certificates_csv
)
_PAYROLL_CSV = File("luong.csv", "text/csv", refs=(("unit", Ref("area")),), build=_payroll_csv)
_PHOTO = File("photo.png", "image/png", build=lambda v: png_bytes())
_ROSTERS_CSV = File(
    "lich_ca.csv",
    "text/csv",
    refs=(("position", Ref("position")), ("worker", FitWorkerNo("worker"))),
    build=lambda v: (
        f"day,shift,position,employee_no\n{dt.date.today():%d/%m/%Y},1,{v['position']},{v['worker']}\n".encode()
    ),
)

#: Rules for one operation ("METHOD /path" without the /api/v1 prefix), before FIELDS. Dotted names reach into
#: nested objects ("rows.unit"); "{name}" is a path parameter.
OPERATIONS: dict[str, dict[str, Any]] = {
    "GET /units/{code}": {"{code}": Ref("area")},
    "PATCH /units/{code}": {"{code}": Ref("area"), "name_en": Lit("Probe area"), "parent": Ref("site")},
    "POST /units": {
        "code": Fresh("PRB"),
        "kind": Lit("position"),
        "parent": Ref("area"),
        "position_kind": Lit("longwall_face"),
    },
    "POST /units/{code}": {
        "{code}": Fresh("PRB"),
        "kind": Lit("position"),
        "parent": Ref("area"),
        "position_kind": Lit("longwall_face"),
    },
    "GET /people": {"unit": Ref("company")},
    "GET /audit": {"unit": Ref("company")},
    "PATCH /notify/on-call/{entry_id}": {"name": Lit("Probe desk"), "unit": Ref("site")},
    "POST /notify/on-call": {"level": Lit(2), "email": Lit("probe@example.org")},
    "PUT /production/actuals": {
        "rows": [
            {
                "unit": Ref("area"),
                "indicator": Lit(lambda w, c: w.indicator),
                "day": YESTERDAY,
                "shift": Lit(2),
                "value": Lit(1000),
            }
        ],
    },
    "POST /production/plans": {
        "effective_from": MONTH,
        "values": Lit(lambda w, c: {w.indicator: 1_000_000}),
        "kind": SKIP,
    },
    "POST /production/locks": {
        "month": Lit(lambda w, c: (w.today.replace(day=1) - dt.timedelta(days=40)).replace(day=1).isoformat())
    },
    "POST /production/deviations": {
        "unit": Ref("area"),
        "category": Lit("geology"),
        "lost_hours": Lit(1),
        "shift": Lit(2),
    },
    "POST /telemetry/readings": {
        # a reading of a sensor that is not the gateway's own is quarantined, not refused: the rest of the batch
        # still counts (by design); it must be quarantined alike for B's sensor and for an unknown one
        "readings": [
            {
                "sensor": Ref("sensor", accepts=frozenset({200})),
                "ts": Day(0).lit("date-time"),
                "value": Lit(0.3),
            }
        ],
    },
    "POST /telemetry/sensors/import": {"file": _IMPORT_CSV},
    "GET /telemetry/gateways/{code}/health": {"{code}": Ref("gateway")},
    "GET /telemetry/sensors/{code}/readings": {"{code}": Ref("sensor"), "from": TODAY, "to": SKIP},
    "POST /telemetry/sensors/{code}/out-of-service": {"{code}": Ref("sensor"), "hours": Lit(1)},
    "POST /telemetry/sensors/{code}/return-to-service": {"{code}": Ref("sensor")},
    "GET /telemetry/kpi": {"from": SKIP, "to": SKIP},
    "GET /briefing/meetings": {"unit": Ref("company")},
    "POST /briefing/meetings": {
        "unit": Ref("company"),
        "agenda": [{"title": Lit("Probe"), "section": Lit("production")}],
        "type": SKIP,
    },
    "PATCH /briefing/meetings/{meeting_id}": {"title": Lit("Probe meeting"), "chair": SKIP},
    "POST /briefing/meetings/{meeting_id}/focus": {
        "{meeting_id}": Ref("live_meeting"),
        "agenda_item": Ref("live_agenda_item"),
        "section": Lit("production"),
    },
    "POST /briefing/meetings/{meeting_id}/close": {"{meeting_id}": Ref("live_meeting")},
    "GET /briefing/meetings/{meeting_id}/pack": {"unit": Ref("company")},
    "GET /briefing/meetings/{meeting_id}/pack.pdf": {"unit": Ref("company")},
    "GET /briefing/meetings/{meeting_id}/pack.xlsx": {"unit": Ref("company")},
    "GET /briefing/pack": {"unit": Ref("company")},
    "GET /briefing/pack.pdf": {"unit": Ref("company")},
    "GET /briefing/pack.xlsx": {"unit": Ref("company")},
    "POST /directives": {"key_task": SKIP, "priority": SKIP},
    "PATCH /directives/{directive_id}": {"status": Lit("in_progress")},
    "POST /key-tasks": {"number": SKIP},
    "POST /key-tasks/{key_task_id}/kpis": {
        "kind": Lit("indicator_vs_plan"),
        "unit": Ref("site"),
        "target": Lit(100),
    },
    "PATCH /key-tasks/kpis/{kpi_id}": {"done": Lit(True), "evidence": Lit("probe")},
    "POST /safety/templates": {
        "code": Fresh("PRB-TPL"),
        "position_kind": Lit("longwall_face"),
        "sections": Lit(
            [{"title_vi": "Phần", "items": [{"code": "P1", "text_vi": "Mục", "answer_type": "pass_fail_na"}]}]
        ),
    },
    "GET /safety/templates/{code}": {"{code}": Lit(lambda w, c: w.template)},
    "GET /safety/campaigns/{code}": {"{code}": Ref("campaign")},
    "PATCH /safety/campaigns/{code}": {"{code}": Ref("campaign"), "gate_mode": Lit("flag")},
    "GET /safety/campaigns/{code}/progress": {"{code}": Ref("campaign")},
    "GET /safety/campaigns/{code}/inspections": {"{code}": Ref("campaign")},
    "POST /safety/campaigns/{code}/inspections": {
        "{code}": Ref("campaign"),
        "position": Ref("campaign_position"),
    },
    "GET /safety/campaigns/{code}/export": {"{code}": Ref("campaign")},
    "POST /safety/campaigns": {
        "code": Fresh("PRB-CMP"),
        "units": [Ref("area")],
        "teams": {Ref("area"): Lit("Tổ kiểm tra")},
        "gate_mode": SKIP,
    },
    "PUT /safety/inspections/{inspection_id}/answers": {
        "answers": [{"item": Ref("item", scoped=False), "choice": Lit("pass")}]
    },
    "POST /safety/inspections/{inspection_id}/sign": {
        "answers": [{"item": Ref("item", scoped=False), "choice": Lit("pass")}]
    },
    "POST /safety/inspections/{inspection_id}/photos": {"file": _PHOTO, "item": SKIP},
    "POST /safety/findings/{finding_id}/photos": {"file": _PHOTO},
    "POST /safety/incidents/{incident_id}/photos": {"file": _PHOTO},
    "GET /safety/findings": {"unit": Ref("company"), "on": SKIP},
    "GET /safety/findings/overdue": {"unit": Ref("company")},
    "PATCH /safety/findings/{finding_id}": {
        "responsible": Lit("Tổ trưởng"),
        "severity": SKIP,
        "deadline": SKIP,
    },
    "POST /safety/findings/{finding_id}/close": {"action_taken": Lit("fixed"), "evidence": Lit("photo 1")},
    "POST /safety/incidents": {
        "unit": Ref("position"),
        "kind": Lit("near_miss"),
        "category": Lit("gas"),
        "severity": Lit("low"),
    },
    "GET /safety/incidents": {"unit": Ref("company")},
    "GET /safety/incidents/counts": {"unit": Ref("company")},
    "PATCH /safety/incidents/{incident_id}": {"investigation": Lit("probe"), "severity": Lit("medium")},
    "GET /safety/readiness": {"unit": Ref("company")},
    "POST /safety/readiness/release": {"position": Ref("campaign_position")},
    "POST /workforce/workers/import": {"file": _WORKERS_CSV},
    "GET /workforce/workers": {"unit": Ref("company")},
    # an overman's reason: a probe worker is not rostered, so the control check-in is an override (admin may)
    "POST /workforce/presence/check-in": {"tag": WorkerTag("tag"), "override_reason": Lit("probe")},
    "POST /workforce/presence/check-out": {"tag": WorkerTag("tag", underground=True)},
    "GET /workforce/training/matrix": {"unit": Ref("company")},
    "POST /workforce/certificates/import": {"file": _CERTIFICATES_CSV},
    "POST /workforce/certificates": {
        "employee_no": WorkerTag("tag"),
        "course": Lit("SOCUU"),
        "passed_on": YESTERDAY,
        "expires_on": SKIP,
    },
    "GET /workforce/grievances": {"unit": Ref("company"), "overdue": SKIP},
    "GET /workforce/grievances/counts": {"unit": Ref("company"), "start": SKIP},
    "POST /workforce/grievances": {
        "unit": Ref("area"),
        "category": Lit("welfare"),
        "employee_no": SKIP,
        "received_on": SKIP,
        "anonymous": SKIP,
    },
    "POST /workforce/grievances/{grievance_id}/answer": {
        "{grievance_id}": GrievanceRef("grievance"),
        "answer": Lit("Đã trả lời"),
        "answered_on": SKIP,
    },
    "POST /workforce/grievances/{grievance_id}/close": {
        "{grievance_id}": GrievanceRef("grievance", answered=True)
    },
    "GET /workforce/income": {"unit": Ref("company")},
    "POST /workforce/income/payroll/import": {"file": _PAYROLL_CSV},
    "POST /workforce/income/plans": {"unit": Ref("company"), "average_income": Lit(14_000_000)},
    "GET /workforce/rosters": {"unit": Ref("site"), "day": Lit("2026-11-30")},
    "PUT /workforce/rosters": {
        "position": Ref("position"),
        "day": Lit("2026-11-30"),
        "employee_nos": Lit([]),
    },
    "POST /workforce/rosters/copy-week": {
        "unit": Ref("site"),
        "from_monday": Lit("2026-11-23"),
        "to_monday": Lit("2026-11-30"),
    },
    "POST /workforce/rosters/import": {"file": _ROSTERS_CSV},
    "GET /workforce/health/exams": {"employee_no": WorkerNo("worker")},
    "POST /workforce/health/exams": {
        "employee_no": WorkerNo("worker"),
        "examined_on": TODAY,
        "health_class": Lit(2),
        "findings": Lit("probe"),  # the exam's text, not safety findings
        "kind": SKIP,
        "next_due": SKIP,
    },
    "GET /workforce/health/counts": {"unit": Ref("company")},
    "POST /workforce/health/exams/import": {"file": _EXAMS_CSV},
    "GET /workforce/workers/{employee_no}/export": {"{employee_no}": WorkerNo("worker")},
    "POST /workforce/epidemic/tests": {
        "employee_no": WorkerNo("worker"),
        "tested_on": TODAY,
        "result": Lit("negative"),
        "method": SKIP,
    },
    "GET /workforce/epidemic/cases": {"unit": Ref("company")},
    "POST /workforce/epidemic/cases": {
        "employee_no": WorkerNo("worker"),
        "confirmed_on": YESTERDAY,
        "isolation_from": YESTERDAY,
        "isolation_to": SKIP,
    },
    "PATCH /workforce/epidemic/cases/{case_id}": {
        "{case_id}": CaseId("case"),
        "status": Lit("hospital"),
        "isolation_to": SKIP,
    },
    "GET /workforce/epidemic/cases/{case_id}/trace": {"{case_id}": CaseId("case")},
    "GET /workforce/epidemic/cases/{case_id}/trace/export": {"{case_id}": CaseId("case")},
    "GET /workforce/epidemic/counts": {"unit": Ref("company"), "start": SKIP, "end": SKIP},
}

#: Names that always name an object: an optional one no rule covers is an error, not a field to leave out.
CODE_LIKE = re.compile(
    r"(^|_)(code|codes|unit|units|site|position|gateway|sensor|owner|parent|root|campaign|meeting|person|user"
    r"|chair|bridge_points?|findings?|conditions?|kpis?|key_task|directive|incident|inspection|photo|item|"
    r"agenda_item|indicators?|template|teams)$|_id$"
)


class TeachTheProbe(Exception):
    """An input the rules cannot fill."""


def op_key(method: str, path: str) -> str:
    return f"{method.upper()} {path.removeprefix('/api/v1')}"
