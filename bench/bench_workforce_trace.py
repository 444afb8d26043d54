"""A 14-day contact trace of one case over 10,000 workers × 3 shifts (target < 200 ms), against the baseline of
reading the index worker's own roster entries in the window (one indexed query) in the same run: the ratio is what
finding everyone on those shifts and in those cages adds. Also shown: the naive way, one query per shift and per
cage ride, for comparison.

Data: 10,000 workers spread over the underground work positions of the demo group, each rostered on one shift a
day for 15 days (150,000 roster entries), each checking in and out at the mine around the shift change (150,000
presences); the case is one of them, isolated from the last day."""

from __future__ import annotations

import datetime as dt
import random
import time

from django.utils import timezone

from bench.timing import best_of, report
from headframe.core.formatting import LOCAL_TZ
from headframe.org import services as org
from headframe.org.models import Unit, UnitKind
from headframe.workforce.models import EpidemicCase, Presence, RosterEntry, Worker
from headframe.workforce.selectors.epidemic import contact_trace

WORKERS = 10_000
DAYS = 15
SHIFTS = 3
SHIFT_START = {1: 6, 2: 14, 3: 22}
PREFIX = "BTR"


def _site_of(position: Unit, sites: dict[str, Unit]) -> Unit:
    for path, site in sites.items():
        if position.path.startswith(path):
            return site
    raise LookupError(position.code)


def _load(rng: random.Random, today: dt.date) -> Worker:
    sites = {s.path: s for s in Unit.objects.filter(kind=UnitKind.SITE, site_type="underground")}
    positions = [
        p
        for p in Unit.objects.filter(kind=UnitKind.POSITION).order_by("path")
        if any(p.path.startswith(path) for path in sites)
    ]
    areas = {
        p.pk: p.parent for p in Unit.objects.filter(pk__in=[p.pk for p in positions]).select_related("parent")
    }
    workers = [
        Worker(
            employee_no=f"{PREFIX}{n:05d}",
            full_name=f"Thợ lò {n}",
            unit=areas[positions[n % len(positions)].pk],
        )
        for n in range(WORKERS)
    ]
    Worker.objects.bulk_create(workers, batch_size=2000)
    workers = list(Worker.objects.filter(employee_no__startswith=PREFIX).order_by("employee_no"))
    first = today - dt.timedelta(days=DAYS - 1)
    entries, presences = [], []
    for index, worker in enumerate(workers):
        position = positions[index % len(positions)]
        site = _site_of(position, sites)
        shift = index % SHIFTS + 1
        for d in range(DAYS):
            day = first + dt.timedelta(days=d)
            entries.append(RosterEntry(worker=worker, position=position, day=day, shift=shift))
            start = dt.datetime.combine(day, dt.time(SHIFT_START[shift]), tzinfo=LOCAL_TZ)
            down = start + dt.timedelta(minutes=rng.randint(-30, 10))
            presences.append(
                Presence(
                    worker=worker,
                    site=site,
                    checked_in_at=down,
                    checked_out_at=down + dt.timedelta(hours=8, minutes=rng.randint(5, 40)),
                )
            )
    RosterEntry.objects.bulk_create(entries, batch_size=5000)
    Presence.objects.bulk_create(presences, batch_size=5000)
    return workers[len(workers) // 2]


def _naive(index: Worker, start: dt.date, end: dt.date, minutes: int) -> int:
    """One query per shift of the index worker and one per cage ride: what a first version would do."""
    found: set[int] = set()
    for e in RosterEntry.objects.filter(worker=index, day__gte=start, day__lte=end):
        found |= set(
            RosterEntry.objects.filter(position_id=e.position_id, day=e.day, shift=e.shift)
            .exclude(worker=index)
            .values_list("worker_id", flat=True)
        )
    gap = dt.timedelta(minutes=minutes)
    for p in Presence.objects.filter(worker=index, checked_in_at__date__gte=start):
        found |= set(
            Presence.objects.filter(
                site_id=p.site_id, checked_in_at__range=(p.checked_in_at - gap, p.checked_in_at + gap)
            )
            .exclude(worker=index)
            .values_list("worker_id", flat=True)
        )
    return len(found)


def run() -> None:
    rng = random.Random(15)
    today = timezone.localdate()
    started = time.perf_counter()
    index = _load(rng, today)
    print(
        f"  loaded {WORKERS:,} workers, {WORKERS * DAYS:,} roster entries and as many presences in "
        f"{time.perf_counter() - started:.1f} s"
    )
    case = EpidemicCase.objects.create(worker=index, confirmed_on=today, isolation_from=today)
    medical = org.user_create(
        actor=None, username="bench_medical", grants=[("medical", "HFG")], password="x" * 16
    )
    start = today - dt.timedelta(days=14)

    baseline = best_of(
        lambda: list(RosterEntry.objects.filter(worker=index, day__gte=start, day__lte=today)),
        repeat=5,
        number=10,
    )
    report("baseline: the index worker's 14-day roster", baseline, "baseline", baseline)
    naive = best_of(lambda: _naive(index, start, today, 10), repeat=3, number=2)
    report("naive trace: one query per shift and per cage", naive, "baseline", baseline)
    trace = contact_trace(medical, case.pk)
    seconds = best_of(lambda: contact_trace(medical, case.pk), repeat=5, number=3)
    report(f"contact_trace(): {len(trace.rows)} contacts (target < 200 ms)", seconds, "baseline", baseline)
    print(
        f"  contact trace {'meets' if seconds < 0.2 else 'MISSES'} the 200 ms target ({seconds * 1e3:.0f} ms)"
    )
