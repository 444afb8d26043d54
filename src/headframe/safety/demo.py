"""Safety demo data: a "restart after Tết" campaign over the two underground mines of Núi Đá, with a mix of
passed, failed and pending inspections, findings (some closed, some overdue), releases and a few incidents.

Dates follow `today` (like the production demo) so the campaign is always under way when the demo is opened.
Deterministic (seeded) and idempotent: if the campaign exists, nothing is written. Everything goes through
the services, so it is validated and audited like any other write.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from headframe.core.audit import channel
from headframe.core.errors import HeadframeError
from headframe.org.models import Unit
from headframe.safety import services
from headframe.safety.models import AnswerType, Campaign, Finding, Inspection
from headframe.safety.services import AnswerIn

CAMPAIGN_CODE = "NDA-SAU-TET"
MINES = ("NDA-M1", "NDA-M2")
INSPECTOR = "safety"  # safety officer of NDA
OVERMEN = {"NDA-M1": "reporter", "NDA-M2": "dispatcher"}  # both may report figures there: they countersign

# Per mine: share of positions passed / failed / left pending.
MIX = {"NDA-M1": (0.6, 0.25), "NDA-M2": (0.3, 0.2)}
FAILURES = {
    "longwall_face": [
        ("R-SHIELDS", "choice", "Cột chống thủy lực số 35–38 tụt áp, rò dầu"),
        ("V-DOORS", "choice", "Cửa gió lò dọc vỉa thông gió bị hở"),
        ("V-VEL", 0.18, "Tốc độ gió thấp do tắc lò chợ đoạn giữa"),
    ],
    "development_heading": [
        ("G-CH4", 1.3, "CH₄ tích tụ tại gương sau kỳ nghỉ, quạt cục bộ dừng"),
        ("V-AUX", "choice", "Ống gió rách cách gương 12 m"),
        ("R-SETS", "choice", "Hai vì chống biến dạng, thiếu chèn"),
    ],
    "pump_station": [
        ("D-SUMP", 3.4, "Mức nước hầm bơm cao, bơm dự phòng chưa đấu"),
        ("D-VALVES", "choice", "Van một chiều bơm số 2 rò rỉ"),
    ],
    "main_fan": [("V-STANDBY", "choice", "Quạt dự phòng không khởi động được lần đầu")],
    "conveyor": [
        ("C-PROTECT", "choice", "Dây giật dừng khẩn cấp đoạn 300–350 m không tác động"),
        ("C-FIRE", "choice", "Bình chữa cháy đầu băng hết hạn"),
    ],
    "shaft": [("H-SIGNALS", "choice", "Chuông tín hiệu sân giếng mức -150 không hoạt động")],
}
TEAMS = {
    "KT1": "Tổ kiểm tra KT1 (PX Khai thác 1)",
    "KT2": "Tổ kiểm tra KT2 (PX Khai thác 2)",
    "DL1": "Tổ kiểm tra ĐL1 (PX Đào lò 1)",
    "DL2": "Tổ kiểm tra ĐL2 (PX Đào lò 2)",
    "TG": "Tổ Thông gió – Thoát nước",
    "VT": "Tổ Cơ điện – Vận tải",
}
INCIDENTS = [
    (
        9,
        "NDA-M1-KT1-LC02",
        "near_miss",
        "roof",
        "medium",
        0,
        "Đá rơi cục bộ gần người vận hành máy khấu",
        "Đá kích thước ~0,3 m rơi từ nóc tại vì 42, không trúng người.",
        "Dừng máy, chống tăng cường 3 vì.",
    ),
    (
        6,
        "NDA-M2-DL1-DL02",
        "incident",
        "gas",
        "high",
        0,
        "CH₄ 1,2 % tại gương khi mở lại quạt cục bộ",
        "Sau kỳ nghỉ quạt cục bộ dừng 5 ngày, CH₄ tích tụ tại gương.",
        "Cắt điện, rút người, thông gió lại theo quy trình.",
    ),
    (
        3,
        "NDA-M1-VT-BT1",
        "injury",
        "machinery",
        "medium",
        1,
        "Kẹp tay khi vệ sinh tang băng",
        "Công nhân vệ sinh tang bị động khi băng chưa khóa nguồn.",
        "Sơ cứu, đưa đi viện; khóa nguồn toàn tuyến.",
    ),
    (
        1,
        "NDA-M2-TG-TB2",
        "near_miss",
        "water",
        "low",
        0,
        "Nước hầm bơm dâng nhanh sau mưa",
        "Mức nước hầm bơm tăng 0,8 m trong 2 giờ.",
        "Chạy thêm bơm dự phòng.",
    ),
]


@dataclass
class SafetyDemoResult:
    created: bool = False
    inspections: int = 0
    passed: int = 0
    failed: int = 0
    released: int = 0
    findings: int = 0
    incidents: int = 0
    skipped: list[str] = field(default_factory=list)


def _answers(inspection: Inspection, failure: tuple | None) -> list[AnswerIn]:
    out = []
    for item in inspection.template.items.all():
        fail_here = failure is not None and failure[0] == item.code
        note = failure[2] if fail_here else ""
        if item.answer_type == AnswerType.PASS_FAIL_NA:
            out.append(AnswerIn(item.code, choice="fail" if fail_here else "pass", note=note))
        elif item.answer_type == AnswerType.NUMBER:
            if fail_here:
                value = failure[1]
            elif item.limit_code.startswith("o2"):
                value = 20.8
            elif item.limit_code.startswith("co"):
                value = 3
            elif item.limit_code:
                value = 0.35
            elif item.min_value is not None and item.max_value is not None:
                value = round((item.min_value + item.max_value) / 3, 2)
            elif item.min_value is not None:
                value = item.min_value * 1.4
            elif item.max_value is not None:
                value = round(item.max_value * 0.4, 2)
            else:
                value = 1
            out.append(AnswerIn(item.code, number=value, note=note))
        elif item.answer_type == AnswerType.TEXT:
            out.append(AnswerIn(item.code, text="Đã kiểm tra đủ các hạng mục theo hộ chiếu."))
    return out


@transaction.atomic
def load_safety_demo(*, today: dt.date | None = None, seed: int = 2027) -> SafetyDemoResult:
    result = SafetyDemoResult()
    if Campaign.objects.filter(code=CAMPAIGN_CODE).exists():
        return result
    mines = list(Unit.objects.filter(code__in=MINES).order_by("code"))
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=[INSPECTOR, *OVERMEN.values()])
    }
    if len(mines) != len(MINES) or len(users) != 3:
        return result  # the organisation demo is not loaded
    today = today or timezone.localdate()
    rng = random.Random(seed)
    now = timezone.now()
    start = now - dt.timedelta(days=3)
    inspector = users[INSPECTOR]
    with channel("system"):
        teams = {f"{m}-{k}": name for m in MINES for k, name in TEAMS.items()}
        made = services.campaign_create(
            actor=inspector,
            code=CAMPAIGN_CODE,
            title_vi="Kiểm tra an toàn trước khi sản xuất trở lại sau Tết",
            title_en="Safety check before restarting production after Tết",
            unit_codes=list(MINES),
            starts_on=today - dt.timedelta(days=3),
            due_on=today + dt.timedelta(days=2),
            teams=teams,
            now=start,
        )
        campaign = made.campaign
        result.created, result.inspections, result.skipped = True, made.inspections, made.skipped
        inspections = list(
            Inspection.objects.filter(campaign=campaign)
            .select_related("position", "template")
            .order_by("position__path")
        )
        for n, inspection in enumerate(inspections):
            position = inspection.position
            mine = next(m for m in MINES if position.code.startswith(f"{m}-"))
            passed_share, failed_share = MIX[mine]
            roll = rng.random()
            if roll >= passed_share + failed_share:
                if "-DL2-" in position.code:  # the second development section is late: its due day has passed
                    inspection.due_on = today - dt.timedelta(days=1)
                    inspection.save(update_fields=["due_on"])
                continue
            failure = None
            if roll >= passed_share:
                failure = rng.choice(FAILURES.get(position.position_kind, [None]))
            at = start + dt.timedelta(days=1, hours=1 + n % 40 * 0.5)
            overman = users[OVERMEN[mine]]
            services.inspection_sign(
                actor=inspector, inspection_id=inspection.pk, answers=_answers(inspection, failure), now=at
            )
            services.inspection_countersign(
                actor=overman, inspection_id=inspection.pk, now=at + dt.timedelta(minutes=20)
            )
            if failure is None:
                result.passed += 1
            else:
                result.failed += 1
        # Some corrective actions are done and verified; one walk-round finding is well overdue.
        open_findings = list(Finding.objects.filter(campaign=campaign).order_by("id"))
        for finding in open_findings[::3]:
            services.finding_close(
                actor=inspector,
                finding_id=finding.pk,
                action_taken="Đã khắc phục theo biên bản kiểm tra, tổ cơ điện thực hiện.",
                evidence="Kiểm tra lại tại hiện trường: đạt yêu cầu.",
                now=now - dt.timedelta(hours=3),
            )
        services.finding_create(
            actor=inspector,
            position_code="NDA-M1-VT-GN1",
            severity="major",
            title="Rãnh thoát nước giếng nghiêng bị bồi lấp đoạn 120–160 m",
            deadline=today - dt.timedelta(days=2),
            responsible="Phân xưởng Vận tải",
            now=start,
        )
        result.findings = Finding.objects.filter(campaign=campaign).count()
        # Release every position that is ready now (those with gas sensors wait for live readings).
        for inspection in inspections:
            if inspection.position.code.startswith("NDA-M1") and rng.random() < 0.8:
                try:
                    services.position_release(
                        actor=inspector,
                        position_code=inspection.position.code,
                        campaign_code=CAMPAIGN_CODE,
                        note="Đủ điều kiện sản xuất trở lại",
                        now=now - dt.timedelta(hours=1),
                    )
                    result.released += 1
                except HeadframeError:
                    pass
        for days_ago, unit, kind, category, severity, injured, title, description, actions in INCIDENTS:
            services.incident_report(
                actor=inspector,
                unit_code=unit,
                kind=kind,
                category=category,
                severity=severity,
                occurred_at=now - dt.timedelta(days=days_ago, hours=2),
                title=title,
                description=description,
                injured=injured,
                immediate_actions=actions,
                people_involved="Tổ sản xuất ca 1" if kind != "near_miss" else "",
            )
            result.incidents += 1
    return result
