"""The workforce demo: who may work where. The licences of the trades (blasting for blasters, electrical safety
for electromechanics, a vehicle licence for drivers — a course people.py does not make, with its certificates:
some expiring within 30/60/90 days, a few lapsed), then today's and later rosters made consistent with the rule
the roster service enforces: a rostered person lacking the trade's licence has it renewed, and one who may not
work underground that day (health class IV–VI, periodic safety training lapsed) is taken off the roster — except
the lamp room's two examples at NDA-M1 (NDA-00002, NDA-00003), whose face shows the readiness gate's reason.

Idempotent and fast: bulk writes and set-based deletes; a second load finds nothing to do."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.workforce.models import Certificate, Course, RosterEntry, Trade, Worker
from headframe.workforce.selectors.training import underground_paths
from headframe.workforce.services.training import add_months

SEED = 153
LICENCES = {"NOMIN": [Trade.BLASTER], "DIEN": [Trade.ELECTROMECHANIC], "LAIXE": [Trade.DRIVER]}
VEHICLE = ("LAIXE", "Giấy phép lái xe, vận hành phương tiện vận tải mỏ", "Mine vehicle licence", 60)
EXAMPLES = ("NDA00002", "NDA00003")  # rostered at NDA-M1 although they may not go underground (people.py)


def _courses() -> None:
    code, vi, en, months = VEHICLE
    Course.objects.get_or_create(
        code=code, defaults={"name_vi": vi, "name_en": en, "validity_months": months}
    )
    for code, trades in LICENCES.items():
        Course.objects.filter(code=code, required_trades=[]).update(required_trades=list(trades))


def _vehicle_licences(today: dt.date) -> None:
    """Every driver gets a vehicle licence, once: most valid for long, some expiring within 90 days, a few
    lapsed."""
    course = Course.objects.get(code=VEHICLE[0])
    if Certificate.objects.filter(course=course).exists():
        return
    rng = random.Random(SEED)
    certificates = []
    for worker_id in Worker.objects.filter(trade=Trade.DRIVER).order_by("pk").values_list("pk", flat=True):
        draw = rng.random()
        if draw < 0.02:
            expires = today - dt.timedelta(days=rng.randint(1, 90))
        elif draw < 0.15:
            expires = today + dt.timedelta(days=rng.randint(0, 90))
        else:
            expires = today + dt.timedelta(days=rng.randint(91, 1500))
        passed = add_months(expires, -(course.validity_months or 60))
        certificates.append(
            Certificate(worker_id=worker_id, course=course, passed_on=passed, expires_on=expires)
        )
    Certificate.objects.bulk_create(certificates, batch_size=2000)


def _valid(course: Course) -> Exists:
    return Exists(
        Certificate.objects.filter(
            worker=OuterRef("worker"), course=course, passed_on__lte=OuterRef("day")
        ).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=OuterRef("day")))
    )


def _consistent_rosters(today: dt.date) -> None:
    entries = RosterEntry.objects.filter(day__gte=today)
    for course in Course.objects.exclude(required_trades=[]).order_by("code"):
        lacking = set(
            entries.filter(worker__trade__in=course.required_trades)
            .exclude(_valid(course))
            .values_list("worker_id", flat=True)
        )
        passed = today - dt.timedelta(days=10)
        expires = add_months(passed, course.validity_months) if course.validity_months else None
        Certificate.objects.bulk_create(
            [
                Certificate(worker_id=w, course=course, passed_on=passed, expires_on=expires)
                for w in sorted(lacking)
            ],
            ignore_conflicts=True,
        )
    paths = underground_paths()
    if not paths:
        return
    underground = Q()
    for path in paths:
        underground |= Q(position__path__startswith=path)
    unfit = entries.filter(underground).exclude(worker__employee_no__in=EXAMPLES)
    unfit.filter(worker__health_class__gte=4).delete()
    for course in Course.objects.filter(required_underground=True).order_by("code"):
        unfit.exclude(_valid(course)).delete()


def load(*, now: dt.datetime | None = None) -> None:
    """See the module docstring."""
    today = (now or timezone.now()).astimezone(LOCAL_TZ).date()
    if not Worker.objects.exists():
        return
    _courses()
    _vehicle_licences(today)
    _consistent_rosters(today)
