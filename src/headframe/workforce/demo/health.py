"""The workforce demo: health. One periodic examination in the last year for every worker (demo data: bulk, no
audit rows) giving the class the worker already has — so the lamp room's refusals stay as the people demo set them
(a few of class IV and V) — with the pneumoconiosis screening of the underground trades (a few suspected, one or
two confirmed) and the next examination a year on (a few overdue). Idempotent: skipped once any examination exists.
Deterministic (seeded) apart from the clock."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.workforce.models import ExamKind, MedicalExam, Pneumoconiosis, Trade, Worker

SEED = 16
SCREENED_TRADES = {Trade.MINER, Trade.BLASTER, Trade.ELECTROMECHANIC}
FINDINGS = {
    1: "Sức khỏe tốt",
    2: "Sức khỏe khá",
    3: "Sức khỏe trung bình",
    4: "Huyết áp cao, theo dõi",
    5: "Bệnh phổi tắc nghẽn mạn tính",
    6: "Suy giảm chức năng hô hấp nặng",
}


def _screening(rng: random.Random, trade: str) -> str:
    if trade not in SCREENED_TRADES:
        return Pneumoconiosis.NOT_SCREENED
    draw = rng.random()
    if draw < 0.0015:
        return Pneumoconiosis.CONFIRMED
    if draw < 0.008:
        return Pneumoconiosis.SUSPECTED
    return Pneumoconiosis.NEGATIVE


def load(*, now: dt.datetime | None = None) -> None:
    if MedicalExam.objects.exists():
        return
    now = now or timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    rng = random.Random(SEED)
    exams = []
    for pk, trade, health_class in (
        Worker.objects.filter(is_active=True)
        .order_by("employee_no")
        .values_list("pk", "trade", "health_class")
    ):
        # most were examined within the year; about 3 % longer ago (their next examination is overdue)
        age = rng.randint(366, 420) if rng.random() < 0.03 else rng.randint(5, 360)
        examined_on = today - dt.timedelta(days=age)
        screening = _screening(rng, trade)
        findings = FINDINGS[health_class]
        if screening == Pneumoconiosis.SUSPECTED:
            findings += "; X-quang phổi có nốt mờ nhỏ, chuyển khám chuyên khoa"
        elif screening == Pneumoconiosis.CONFIRMED:
            findings += "; bụi phổi silic độ 1"
        exams.append(
            MedicalExam(
                worker_id=pk,
                examined_on=examined_on,
                kind=ExamKind.PERIODIC,
                health_class=health_class,
                pneumoconiosis=screening,
                findings=findings,
                next_due=examined_on + dt.timedelta(days=365),
            )
        )
    MedicalExam.objects.bulk_create(exams, batch_size=2000)
