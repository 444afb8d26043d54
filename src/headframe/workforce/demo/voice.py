"""The workforce demo: workers' voice — about 40 grievances (kiến nghị) over the last year across NDA's units:
some anonymous, most answered (a few late), some closed, a few still open past their due day (escalated as the
periodic escalation would have, without sending anything). Idempotent: written once (bulk, as demo data)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit, UnitKind
from headframe.workforce.models import Grievance, GrievanceCategory, GrievanceStatus, Worker
from headframe.workforce.services.voice import RESPONSE_DAYS, escalation_step

SEED = 67
COMPANY = "NDA"
COUNT = 40
TEXTS = {
    GrievanceCategory.WAGES: [
        (
            "Đề nghị công khai cách tính lương khoán tháng trước của tổ.",
            "Đã niêm yết bảng tính lương khoán tại phân xưởng.",
        ),
        (
            "Tiền ca ba chưa được cộng đủ trong kỳ lương.",
            "Phòng TCLĐ đã rà soát, truy lĩnh trong kỳ lương sau.",
        ),
        (
            "Đề nghị xem xét nâng bậc thợ cho người đủ thời gian.",
            "Đã đưa vào danh sách thi nâng bậc quý tới.",
        ),
    ],
    GrievanceCategory.SAFETY: [
        ("Khẩu trang chống bụi cấp phát không đủ cho ca ba.", "Đã bổ sung cấp phát theo định mức mới."),
        (
            "Đèn lò của một số người sạc không đầy, tắt giữa ca.",
            "Đã thay ắc quy đèn lò hỏng, kiểm tra hằng ngày.",
        ),
        ("Đề nghị tăng cường chống giữ đoạn lò bị bùng nền.", "Phân xưởng đã chống xén, bổ sung vì chống."),
    ],
    GrievanceCategory.CONDITIONS: [
        ("Nhà giao ca chật, thiếu ghế ngồi khi giao ca.", "Đã mở rộng phòng giao ca và bổ sung ghế."),
        ("Quạt cục bộ lò chuẩn bị gây ồn, đề nghị kiểm tra.", "Đã bảo dưỡng quạt, lắp bộ giảm âm."),
        ("Nước nhỏ giọt ở đường lò vận chuyển, đi lại trơn.", "Đã làm rãnh thoát nước và rải đá."),
    ],
    GrievanceCategory.WELFARE: [
        ("Nhà tắm ca ba thiếu nước nóng.", "Đã sửa bình nước nóng trung tâm."),
        ("Đề nghị cải thiện suất ăn giữa ca.", "Đã điều chỉnh thực đơn, tăng định lượng."),
        ("Xe đưa đón công nhân đến muộn vào ca một.", "Đã điều chỉnh giờ xe đưa đón sớm 15 phút."),
    ],
    GrievanceCategory.OTHER: [
        ("Đề nghị tổ chức lớp tin học cho công nhân.", "Công đoàn phối hợp mở lớp vào quý tới."),
        ("Đề nghị thông báo sớm lịch nghỉ phép năm.", "Đã công bố lịch nghỉ phép trên bảng tin."),
    ],
}


def load(*, now: dt.datetime | None = None) -> None:
    """See the module docstring."""
    moment = now or timezone.now()
    today = moment.astimezone(LOCAL_TZ).date()
    company = Unit.objects.filter(code=COMPANY, kind=UnitKind.COMPANY).first()
    if company is None or Grievance.objects.filter(unit__path__startswith=company.path).exists():
        return
    units = list(
        Unit.objects.filter(path__startswith=company.path, kind__in=[UnitKind.SITE, UnitKind.AREA]).order_by(
            "path"
        )
    )
    workers: dict[int, list[int]] = {}
    for pk, unit_id in Worker.objects.filter(unit__path__startswith=company.path).values_list(
        "pk", "unit_id"
    ):
        workers.setdefault(unit_id, []).append(pk)
    if not units:
        return
    rng = random.Random(SEED)
    rows = []
    for index in range(COUNT):
        unit = units[index % len(units)]
        category = rng.choice(list(TEXTS))
        text, answer = rng.choice(TEXTS[category])
        received = today - dt.timedelta(days=int(365 * index / COUNT) + rng.randint(0, 5))
        due = received + dt.timedelta(days=RESPONSE_DAYS)
        anonymous = rng.random() < 0.3
        people = sorted(workers.get(unit.pk, []))
        worker_id = None if anonymous or not people else rng.choice(people)
        grievance = Grievance(
            unit=unit,
            worker_id=worker_id,
            anonymous=anonymous,
            category=category,
            text=text,
            received_on=received,
            due_on=due,
        )
        if index < 3 or index in (5, 9):  # the newest (one past due) and two forgotten: still open
            grievance.escalation_level = escalation_step(due, today)
            grievance.escalated_at = moment if grievance.escalation_level else None
        else:
            delay = rng.choice([3, 5, 8, 10, 12, 14, 14, 18, 25])  # most on time, a few late
            grievance.answered_on = min(today, received + dt.timedelta(days=delay))
            grievance.answer = answer
            grievance.status = (
                GrievanceStatus.CLOSED
                if grievance.answered_on < today - dt.timedelta(days=30)
                else GrievanceStatus.ANSWERED
            )
        rows.append(grievance)
    Grievance.objects.bulk_create(rows)
