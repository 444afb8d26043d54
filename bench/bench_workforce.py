"""The workforce on the full demo group (~10 000 workers, a month of rosters and presence at 8 underground mines):

- the HR workbook import of 10 000 workers (target < 5 s), against merely reading the same workbook;
- "who is underground now" for the whole group (target < 50 ms), against one plain query of the open presences;
- the muster list PDF of a mine (target < 2 s), against rendering the same list as the HTML page.

Each target is printed as met or missed; the ratios are against baselines measured in the same run.
"""

import io
import time

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from openpyxl import Workbook, load_workbook

from bench.timing import best_of, report
from headframe.org.models import Unit, UnitKind
from headframe.workforce.demo import load_workforce_demo
from headframe.workforce.models import Presence, Worker
from headframe.workforce.selectors import underground_now
from headframe.workforce.services import workers_import

ROWS = 10_000
TRADES = ("thợ lò", "thợ cơ điện", "lái xe", "thợ nổ mìn")


def _workbook(areas: list[Unit]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "employee_no",
            "full_name",
            "unit",
            "team",
            "trade",
            "skill_grade",
            "hire_date",
            "health_class",
            "tag_no",
        ]
    )
    for n in range(ROWS):
        sheet.append(
            [
                f"BEN{n:05d}",
                f"Nguyễn Văn Thử {n}",
                areas[n % len(areas)].code,
                f"Tổ {n % 12 + 1}",
                TRADES[n % len(TRADES)],
                n % 7 + 1,
                "01/03/2015",
                "II",
                f"BEN-{n:05d}",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _met(what: str, seconds: float, target: float) -> None:
    verdict = "meets" if seconds < target else "MISSES"
    print(f"  {what} {verdict} the {target * 1e3:g} ms target ({seconds * 1e3:.1f} ms)")


def _import() -> None:
    areas = list(Unit.objects.filter(kind=UnitKind.AREA, path__startswith="/HFG/VSO/").order_by("code"))
    content = _workbook(areas)
    started = time.perf_counter()
    rows = sum(1 for _ in load_workbook(io.BytesIO(content), read_only=True).active.iter_rows())
    baseline = time.perf_counter() - started
    report(f"baseline: openpyxl reads the {rows - 1:,}-row workbook", baseline, "baseline", baseline)
    sid = transaction.savepoint()
    try:
        started = time.perf_counter()
        result = workers_import(actor=None, content=content, filename="workers.xlsx")
        first = time.perf_counter() - started
        report(f"import, {result.created:,} new workers (target < 5 s)", first, "baseline", baseline)
        _met("worker import", first, 5.0)
    finally:
        transaction.savepoint_rollback(sid)


def _underground(user) -> None:
    def plain():
        return list(
            Presence.objects.filter(checked_out_at__isnull=True).values_list(
                "worker__employee_no", "site__code", "checked_in_at"
            )
        )

    baseline = best_of(plain, repeat=5, number=10)
    report(f"baseline: one query of the {len(plain())} open presences", baseline, "baseline", baseline)
    seconds = best_of(lambda: underground_now(user), repeat=5, number=10)
    rows = underground_now(user)
    overdue = sum(r.overdue for r in rows)
    report(f"underground_now, whole group ({len(rows)}, {overdue} overdue)", seconds, "baseline", baseline)
    _met("underground now (group)", seconds, 0.050)


def _muster(user) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    site = "NDA-M1"
    page = best_of(lambda: client.get(f"/workforce/muster/{site}/"), repeat=3, number=3)
    report(f"baseline: muster page of {site} (HTML)", page, "baseline", page)
    pdf = best_of(lambda: client.get(f"/workforce/muster/{site}.pdf"), repeat=3, number=1)
    report(f"muster PDF of {site}", pdf, "HTML page", page)
    _met("muster PDF", pdf, 2.0)


def run() -> None:
    started = time.perf_counter()
    with transaction.atomic():
        load_workforce_demo(full=True)
    print(
        f"  full workforce demo loaded in {time.perf_counter() - started:.1f} s: "
        f"{Worker.objects.count():,} workers, {Presence.objects.count():,} presences"
    )
    user = get_user_model().objects.get(username="viewer")  # the whole group
    with transaction.atomic():
        _import()
    _underground(user)
    _muster(user)
