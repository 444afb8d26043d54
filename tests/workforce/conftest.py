"""Two companies' mines with workers, the course catalogue, and the people of the workforce roles:
personnel (HR) of each company, the lamp room and an overman of A-M1. Time stands at 08:00 on 10/02/2027
(shift 1 of 06:00–14:00 on the default 3 × 8 h calendar)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from headframe.workforce.models import Certificate, Course, RosterEntry, Worker
from tests.factories import make_unit, make_user

TODAY = dt.date(2027, 2, 10)
NOW = timezone.make_aware(dt.datetime(2027, 2, 10, 8, 0))


def make_worker(no: str, unit, *, tag: str | None = None, health: int = 1, name: str = "", **extra) -> Worker:
    return Worker.objects.create(
        employee_no=no,
        full_name=name or f"Người {no}",
        unit=unit,
        tag_no=tag,
        health_class=health,
        hire_date=dt.date(2020, 1, 1),
        **extra,
    )


@pytest.fixture
def wf(tree):
    ns = SimpleNamespace(**vars(tree))
    ns.a_m1_k1_f2 = make_unit("A-M1-K1-F2", "position", "A-M1-K1")
    ns.a_m2 = make_unit("A-M2", "site", "A")
    ns.a_m2_k1 = make_unit("A-M2-K1", "area", "A-M2")
    ns.a_m2_k1_f1 = make_unit("A-M2-K1-F1", "position", "A-M2-K1")
    ns.personnel_a = make_user("personnel_a", ("personnel", "A"))
    ns.personnel_b = make_user("personnel_b", ("personnel", "B"))
    ns.lamp_a = make_user("lamp_a", ("lamp_room", "A-M1"))
    ns.overman_a = make_user("overman_a", ("overman", "A-M1"))
    ns.viewer_b = make_user("viewer_b", ("viewer", "B"))
    ns.safety = Course.objects.create(
        code="ATVSLD",
        name_vi="Huấn luyện ATVSLĐ",
        name_en="Safety training",
        validity_months=12,
        required_underground=True,
    )
    ns.first_aid = Course.objects.create(
        code="SOCUU", name_vi="Sơ cứu", name_en="First aid", validity_months=24
    )
    ns.ann = make_worker("A001", ns.a_m1_k1, tag="T-A1", name="Nguyễn Văn An")
    ns.binh = make_worker("A002", ns.a_m1_k1, tag="T-A2", name="Trần Văn Bình")
    ns.cuong = make_worker("A003", ns.a_m1_k2, tag="T-A3", name="Lê Văn Cường")
    ns.bob = make_worker("B001", ns.b_m1_k1, tag="T-B1", name="Phạm Văn Bảo")
    for worker in (ns.ann, ns.binh, ns.cuong, ns.bob):
        Certificate.objects.create(
            worker=worker, course=ns.safety, passed_on=dt.date(2026, 6, 1), expires_on=dt.date(2027, 6, 1)
        )
    return ns


@pytest.fixture
def daytime():
    """Today at 10:00 in Asia/Ho_Chi_Minh, the clock running. The lamp-room tests roster people for today's
    shifts and let them down an hour or so before now: between midnight and 06:00 that hour belongs to
    yesterday's production day (shift 3), where nobody is rostered, and the tests failed every night."""
    import time_machine

    ten = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(ten, tick=True):
        yield


def roster(worker, position, day=TODAY, shift=1) -> RosterEntry:
    return RosterEntry.objects.create(worker=worker, position=position, day=day, shift=shift)
