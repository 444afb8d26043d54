"""The workforce demo: the epidemic register. A handful of cases in the last three weeks, each of a worker who was
rostered in the days before the isolation began (so each trace has contacts), their contacts tested the next
day, and some routine tests. Demo data: bulk, no audit rows. Idempotent: skipped once any case exists; nothing
when no roster lies in the last three weeks. Deterministic (seeded) apart from the clock."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.workforce.models import (
    CaseStatus,
    EpidemicCase,
    EpidemicTest,
    Presence,
    RosterEntry,
    TestResult,
    Worker,
)

SEED = 17
CASES = 5
LOOKBACK_DAYS = 21
ISOLATION_DAYS = 7
ROUTINE_TESTS = 300
NOTES = ["Sốt, ho, test nhanh dương tính", "Đau họng, mất vị giác", "Phát hiện qua xét nghiệm định kỳ"]


def _index_entries(rng: random.Random, today: dt.date) -> list[RosterEntry]:
    """Roster entries of different workers on different days of the last three weeks (a few per day tried)."""
    days = sorted(
        set(
            RosterEntry.objects.filter(day__gte=today - dt.timedelta(days=LOOKBACK_DAYS), day__lte=today)
            .values_list("day", flat=True)
            .distinct()
        )
    )
    if not days:
        return []
    chosen: list[RosterEntry] = []
    # no case among the people underground now (an isolated person is not at work)
    workers = set(Presence.objects.filter(checked_out_at__isnull=True).values_list("worker_id", flat=True))
    for n in range(CASES):
        day = days[(len(days) - 1) * n // max(CASES - 1, 1)] if len(days) > 1 else days[0]
        candidates = list(RosterEntry.objects.filter(day=day).select_related("worker").order_by("id")[:300])
        rng.shuffle(candidates)
        entry = next((e for e in candidates if e.worker_id not in workers and e.worker.is_active), None)
        if entry is not None:
            chosen.append(entry)
            workers.add(entry.worker_id)
    return chosen


def load(*, now: dt.datetime | None = None) -> None:
    if EpidemicCase.objects.exists():
        return
    now = now or timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    rng = random.Random(SEED)
    cases: list[EpidemicCase] = []
    tests: list[EpidemicTest] = []
    for entry in _index_entries(rng, today):
        start = min(today, entry.day + dt.timedelta(days=rng.randint(1, 3)))
        ended = start + dt.timedelta(days=ISOLATION_DAYS)
        recovered = ended < today
        cases.append(
            EpidemicCase(
                worker_id=entry.worker_id,
                confirmed_on=start,
                isolation_from=start,
                isolation_to=ended if recovered else None,
                status=CaseStatus.RECOVERED if recovered else CaseStatus.ISOLATING,
                note=rng.choice(NOTES),
            )
        )
        tests.append(
            EpidemicTest(
                worker_id=entry.worker_id, tested_on=start, method="rapid", result=TestResult.POSITIVE
            )
        )
        tested_on = min(today, start + dt.timedelta(days=1))
        crew = RosterEntry.objects.filter(
            position=entry.position_id, day=entry.day, shift=entry.shift
        ).exclude(worker_id=entry.worker_id)
        for worker_id in crew.values_list("worker_id", flat=True):
            tests.append(
                EpidemicTest(
                    worker_id=worker_id,
                    tested_on=tested_on,
                    method="pcr",
                    result=TestResult.POSITIVE if rng.random() < 0.05 else TestResult.NEGATIVE,
                )
            )
    if not cases:
        return
    ids = list(Worker.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)[:5000])
    for worker_id in rng.sample(ids, min(ROUTINE_TESTS, len(ids))):
        tests.append(
            EpidemicTest(
                worker_id=worker_id,
                tested_on=today - dt.timedelta(days=rng.randint(0, 13)),
                method="rapid",
                result=TestResult.NEGATIVE,
            )
        )
    EpidemicCase.objects.bulk_create(cases)
    EpidemicTest.objects.bulk_create(tests, batch_size=2000)
