"""The demo of who may work where, the workers' voice and income, on a small tree (the whole demo's load is
test_demo_workforce's): the trades' licences, rosters made to keep the rule (but the lamp room's two examples),
~40 grievances at NDA, payroll months and plans; a second load adds nothing."""

from __future__ import annotations

import datetime as dt

import time_machine

from headframe.workforce.demo import income, training, voice
from headframe.workforce.models import Certificate, Course, Grievance, IncomePlan, PayrollMonth, RosterEntry
from headframe.workforce.selectors.income import income_summary
from headframe.workforce.selectors.training import unfit_at_positions
from headframe.workforce.selectors.voice import grievances_on_time
from tests.factories import make_unit
from tests.workforce.conftest import NOW, TODAY, make_worker, roster


def test_the_demo_keeps_the_rule_and_loads_once(wf):
    Course.objects.create(code="NOMIN", name_vi="Nổ mìn", validity_months=24)
    make_unit("NDA", "company", "G")
    make_unit("NDA-M1", "site", "NDA")
    area = make_unit("NDA-M1-KT1", "area", "NDA-M1")
    face = make_unit("NDA-M1-KT1-LC01", "position", "NDA-M1-KT1")
    examples = [make_worker(f"NDA0000{n}", area, health=4 if n == 3 else 1) for n in (2, 3)]
    sick = make_worker("NDA00010", area, health=5)
    lapsed = make_worker("NDA00011", area)
    Certificate.objects.create(
        worker=lapsed, course=wf.safety, passed_on=dt.date(2025, 1, 1), expires_on=TODAY
    )
    blaster = make_worker("NDA00012", area, trade="blaster")
    Certificate.objects.create(worker=blaster, course=wf.safety, passed_on=dt.date(2026, 6, 1))
    driver = make_worker("NDA00013", area, trade="driver")
    for worker in (*examples, sick, lapsed, blaster, driver):
        roster(worker, face, TODAY + dt.timedelta(days=1))
    roster(sick, face, TODAY - dt.timedelta(days=3))  # history is kept
    with time_machine.travel(NOW, tick=False):
        for part in (training, voice, income):
            part.load()
        assert Course.objects.get(code="NOMIN").required_trades == ["blaster"]
        assert Certificate.objects.filter(worker=blaster, course__code="NOMIN").exists()  # renewed: rostered
        assert set(
            RosterEntry.objects.filter(day__gt=TODAY).values_list("worker__employee_no", flat=True)
        ) == {
            "NDA00002",
            "NDA00003",
            "NDA00012",
        }
        assert RosterEntry.objects.filter(worker=sick, day__lt=TODAY).exists()
        assert unfit_at_positions([face], TODAY + dt.timedelta(days=1)) == {face.pk: 2}
        grievances = Grievance.objects.filter(unit__path__startswith="/G/NDA/")
        assert grievances.count() == voice.COUNT
        assert grievances.filter(anonymous=True, worker__isnull=True).exists()
        assert grievances.filter(status="open", due_on__lt=TODAY, escalation_level__gt=0).exists()
        assert grievances_on_time(face, TODAY, TODAY) is None
        assert grievances_on_time(wf.group, dt.date(2026, 1, 1), TODAY) is not None
        group = income_summary(None, "G", TODAY)
        assert group.line.average and group.line.plan and group.line.last_year.average
        assert {c.unit.code for c in group.children} == {"A", "B", "NDA"}
        counts = (Certificate.objects.count(), RosterEntry.objects.count(), Grievance.objects.count())
        counts += (PayrollMonth.objects.count(), IncomePlan.objects.count())
        for part in (training, voice, income):
            part.load()
        again = (Certificate.objects.count(), RosterEntry.objects.count(), Grievance.objects.count())
        assert (*again, PayrollMonth.objects.count(), IncomePlan.objects.count()) == counts
