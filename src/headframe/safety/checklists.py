"""Restart-after-holiday checklists, one per kind of work position, as data (seeded by migration 0002).

Each item: (code, Vietnamese text, English text, answer type, options). Options: critical, uom, min, max
(acceptance limits: outside → the item fails), range (plausible values: outside → refused as a typing error),
limit (a telemetry limit code: a hand-held gas reading is judged against the site's limit profile), required.
Gas limits are not copied here: they come from the limit profile (QCVN 01:2011/BCT by default).
"""

from __future__ import annotations

RESTART_SOURCE = (
    "Kiểm tra an toàn trước khi sản xuất trở lại sau kỳ nghỉ dài (Tết): thông gió, khí mỏ, thoát nước, "
    "nóc và chống giữ, điện phòng nổ, lối thoát hiểm — theo QCVN 01:2011/BCT"
)

PF = "pass_fail_na"
NUM = "number"
TEXT = "text"
PHOTO = "photo"


def _gas(limit_ch4: str, where_vi: str, where_en: str) -> tuple:
    return (
        "KHI",
        "Khí mỏ",
        "Mine gas",
        [
            (
                "G-CH4",
                f"Nồng độ CH₄ đo bằng máy đo khí cầm tay {where_vi}",
                f"CH₄ measured with a hand-held meter {where_en}",
                NUM,
                {"critical": True, "uom": "%", "range": (0, 100), "limit": limit_ch4},
            ),
            (
                "G-CO",
                "Nồng độ CO đo bằng máy đo cầm tay",
                "CO measured with a hand-held meter",
                NUM,
                {"critical": True, "uom": "ppm", "range": (0, 1000), "limit": "co_workplace_high"},
            ),
            (
                "G-O2",
                "Nồng độ O₂ đo bằng máy đo cầm tay",
                "O₂ measured with a hand-held meter",
                NUM,
                {"critical": True, "uom": "%", "range": (0, 25), "limit": "o2_workplace_low"},
            ),
            (
                "G-METER",
                "Máy đo khí cầm tay còn hạn kiểm định, đã hiệu chuẩn trước ca",
                "Hand-held gas meter within calibration, bump-tested before the shift",
                PF,
                {},
            ),
            (
                "G-SENSORS",
                "Cảm biến khí của hệ thống quan trắc tập trung tại vị trí hoạt động, giá trị hiển thị ở trung tâm khớp với máy cầm tay",
                "Fixed gas sensors at the position working and matching the hand-held reading at the control room",
                PF,
                {"critical": True},
            ),
        ],
    )


def _ventilation(
    extra: list, *, vel_min: float | None, vel_max: float | None, flow_min: float | None
) -> tuple:
    items = [
        (
            "V-FAN",
            "Quạt gió chính hoạt động ổn định, đúng chế độ theo hộ chiếu thông gió",
            "Main fan running steadily at the duty set in the ventilation plan",
            PF,
            {"critical": True},
        ),
    ]
    if vel_min is not None or vel_max is not None:
        items.append(
            (
                "V-VEL",
                "Tốc độ gió đo tại vị trí (máy đo gió)",
                "Air velocity measured at the position (anemometer)",
                NUM,
                {"critical": True, "uom": "m/s", "min": vel_min, "max": vel_max, "range": (0, 30)},
            )
        )
    if flow_min is not None:
        items.append(
            (
                "V-FLOW",
                "Lưu lượng gió cấp vào vị trí",
                "Air quantity delivered to the position",
                NUM,
                {"uom": "m³/ph", "min": flow_min, "range": (0, 20000)},
            )
        )
    items += extra
    items.append(
        (
            "V-DOORS",
            "Cửa gió, tường chắn, màn chắn gió nguyên vẹn, đóng kín đúng sơ đồ thông gió",
            "Ventilation doors, stoppings and curtains intact and closed as in the ventilation plan",
            PF,
            {},
        )
    )
    return ("TG", "Thông gió", "Ventilation", items)


DRAINAGE_BASIC = (
    "D-DITCH",
    "Rãnh thoát nước thông suốt, không có nước đọng ngập lò",
    "Drainage ditch clear, no standing water flooding the roadway",
    PF,
    {},
)


def _roof(extra: list) -> tuple:
    return (
        "NOC",
        "Nóc và chống giữ",
        "Roof and support",
        [
            (
                "R-ROOF",
                "Nóc, hông lò ổn định: không có đá treo, om, nứt nẻ mới sau kỳ nghỉ",
                "Roof and ribs stable: no loose rock, cavities or new cracks since the holiday",
                PF,
                {"critical": True},
            ),
            *extra,
            (
                "R-PHOTO",
                "Ảnh hiện trạng nóc và vì chống",
                "Photo of the roof and support",
                PHOTO,
                {"required": False},
            ),
        ],
    )


ELECTRICAL = (
    "DIEN",
    "Thiết bị điện",
    "Electrical equipment",
    [
        (
            "E-FLAMEPROOF",
            "Vỏ thiết bị điện phòng nổ nguyên vẹn, đủ bu lông, khe hở mặt lắp ghép đúng quy định",
            "Flameproof enclosures intact, all bolts in place, flame-path gaps within limits",
            PF,
            {"critical": True},
        ),
        (
            "E-LEAKAGE",
            "Rơ le rò điện tác động đúng khi thử (nút thử)",
            "Earth-leakage relay trips when tested",
            PF,
            {"critical": True},
        ),
        (
            "E-EARTH",
            "Điện trở nối đất của lưới tiếp đất chung",
            "Resistance of the common earthing grid",
            NUM,
            {"uom": "Ω", "max": 2.0, "range": (0, 1000)},
        ),
    ],
)


def _escape(extra: list | None = None) -> tuple:
    return (
        "THOAT",
        "Lối thoát hiểm và bình tự cứu",
        "Escape routes and self-rescuers",
        [
            (
                "X-ROUTE",
                "Lối thoát hiểm thông thoáng, biển chỉ dẫn thoát hiểm đầy đủ, rõ ràng",
                "Escape routes clear and signposted",
                PF,
                {"critical": True},
            ),
            (
                "X-SCSR",
                "Bình tự cứu cá nhân đủ số lượng, còn hạn sử dụng, đã kiểm tra kín",
                "Self-rescuers available for everyone, in date and seal-checked",
                PF,
                {"critical": True},
            ),
            (
                "X-PHONE",
                "Điện thoại liên lạc với trung tâm điều hành hoạt động",
                "Telephone to the control room working",
                PF,
                {},
            ),
            *(extra or []),
            (
                "X-NOTE",
                "Ghi chú của đoàn kiểm tra",
                "Inspection team's notes",
                TEXT,
                {"required": False},
            ),
        ],
    )


# position kind → (code, Vietnamese title, English title, sections)
RESTART_TEMPLATES: dict[str, tuple[str, str, str, list]] = {
    "longwall_face": (
        "RESTART-LC",
        "Kiểm tra lò chợ trước khi sản xuất trở lại sau Tết",
        "Longwall face check before restarting after Tết",
        [
            _ventilation([], vel_min=0.25, vel_max=4.0, flow_min=300),
            _gas("ch4_face_return_trip", "tại luồng gió thải lò chợ", "in the face return"),
            ("NUOC", "Thoát nước", "Drainage", [DRAINAGE_BASIC]),
            _roof(
                [
                    (
                        "R-SHIELDS",
                        "Giàn chống / cột chống thủy lực đủ áp lực, không rò rỉ dầu, không bị nghiêng đổ",
                        "Shields / hydraulic props at set pressure, no leaks, none tilted",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "R-ENDS",
                        "Chống tăng cường hai đầu lò chợ, đoạn lò dọc vỉa nối với lò chợ",
                        "Extra support at both face ends and the adjoining gate roads",
                        PF,
                        {},
                    ),
                ]
            ),
            ELECTRICAL,
            _escape(),
        ],
    ),
    "development_heading": (
        "RESTART-DL",
        "Kiểm tra gương lò chuẩn bị trước khi sản xuất trở lại sau Tết",
        "Development heading check before restarting after Tết",
        [
            _ventilation(
                [
                    (
                        "V-AUX",
                        "Quạt cục bộ hoạt động, ống gió kín, miệng ống gió cách gương đúng hộ chiếu",
                        "Auxiliary fan running, duct sealed, duct outlet within the set distance of the face",
                        PF,
                        {"critical": True},
                    )
                ],
                vel_min=0.25,
                vel_max=4.0,
                flow_min=150,
            ),
            _gas("ch4_dev_heading_trip", "tại gương lò", "at the heading face"),
            ("NUOC", "Thoát nước", "Drainage", [DRAINAGE_BASIC]),
            _roof(
                [
                    (
                        "R-SETS",
                        "Vì chống đúng hộ chiếu: khoảng cách vì, giằng, chèn đầy đủ đến sát gương",
                        "Support sets as designed: spacing, ties and lagging up to the face",
                        PF,
                        {"critical": True},
                    )
                ]
            ),
            ELECTRICAL,
            _escape(),
        ],
    ),
    "pump_station": (
        "RESTART-TB",
        "Kiểm tra trạm bơm trước khi sản xuất trở lại sau Tết",
        "Pump station check before restarting after Tết",
        [
            (
                "NUOC",
                "Thoát nước",
                "Drainage",
                [
                    (
                        "D-PUMPS",
                        "Chạy thử bơm làm việc và bơm dự phòng: lưu lượng, áp lực đạt, không rung bất thường",
                        "Duty and standby pumps test-run: flow and head reached, no abnormal vibration",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "D-SUMP",
                        "Mức nước trong hầm chứa (tính từ đáy hầm)",
                        "Sump water level (from the sump floor)",
                        NUM,
                        {"critical": True, "uom": "m", "max": 2.5, "range": (0, 50)},
                    ),
                    (
                        "D-VALVES",
                        "Van một chiều, van chặn, đường ống đẩy kín, không rò rỉ",
                        "Non-return and stop valves and the rising main tight, no leaks",
                        PF,
                        {},
                    ),
                    DRAINAGE_BASIC,
                ],
            ),
            _ventilation([], vel_min=0.15, vel_max=8.0, flow_min=None),
            _gas("ch4_electrical_equipment_trip", "tại trạm bơm", "in the pump station"),
            ELECTRICAL,
            _escape(),
        ],
    ),
    "main_fan": (
        "RESTART-QG",
        "Kiểm tra trạm quạt gió chính trước khi sản xuất trở lại sau Tết",
        "Main fan station check before restarting after Tết",
        [
            _ventilation(
                [
                    (
                        "V-STANDBY",
                        "Chạy thử quạt dự phòng, chuyển đổi quạt trong thời gian quy định",
                        "Standby fan test-run and changeover within the required time",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "V-PRESSURE",
                        "Hạ áp quạt (đồng hồ đo áp tại trạm quạt)",
                        "Fan pressure (gauge at the fan house)",
                        NUM,
                        {"uom": "daPa", "min": 50, "max": 400, "range": (0, 2000)},
                    ),
                    (
                        "V-REVERSE",
                        "Cửa đảo chiều gió, cửa chống nổ trạm quạt hoạt động tốt",
                        "Reversal doors and the explosion door of the fan house work",
                        PF,
                        {"critical": True},
                    ),
                ],
                vel_min=None,
                vel_max=None,
                flow_min=3000,
            ),
            _gas("ch4_general_return_limit", "tại rãnh gió quạt (luồng gió thải chung)", "in the fan drift"),
            (
                "DIEN",
                "Thiết bị điện",
                "Electrical equipment",
                [
                    (
                        "E-SUPPLY",
                        "Hai lộ nguồn cấp điện cho trạm quạt sẵn sàng, thử chuyển nguồn",
                        "Both power feeders to the fan ready, changeover tested",
                        PF,
                        {"critical": True},
                    ),
                    ELECTRICAL[3][2],
                ],
            ),
        ],
    ),
    "shaft": (
        "RESTART-GN",
        "Kiểm tra giếng nghiêng / giếng đứng trước khi sản xuất trở lại sau Tết",
        "Shaft / incline check before restarting after Tết",
        [
            _ventilation([], vel_min=None, vel_max=12.0, flow_min=None),
            _gas("ch4_electrical_equipment_trip", "trong giếng", "in the shaft"),
            (
                "TRUC",
                "Trục tải",
                "Hoisting",
                [
                    (
                        "H-BRAKES",
                        "Phanh công tác và phanh an toàn của tời trục thử đạt",
                        "Hoist service and safety brakes tested",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "H-ROPE",
                        "Cáp, móc nối, thiết bị chống tuột goòng kiểm tra đạt",
                        "Rope, couplings and runaway-car arresters checked",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "H-SIGNALS",
                        "Hệ thống tín hiệu, liên lạc giữa các sân giếng hoạt động",
                        "Signalling between the shaft stations working",
                        PF,
                        {},
                    ),
                ],
            ),
            _roof([]),
            ELECTRICAL,
            _escape(),
        ],
    ),
    "conveyor": (
        "RESTART-BT",
        "Kiểm tra tuyến băng tải trước khi sản xuất trở lại sau Tết",
        "Conveyor check before restarting after Tết",
        [
            (
                "BT",
                "Băng tải",
                "Conveyor",
                [
                    (
                        "C-RUN",
                        "Chạy thử không tải: băng không lệch, không trượt, con lăn quay đều",
                        "No-load test run: belt tracks true, no slip, idlers turning",
                        PF,
                        {},
                    ),
                    (
                        "C-PROTECT",
                        "Bảo vệ lệch băng, trượt băng, đầy máng, dây giật dừng khẩn cấp dọc tuyến tác động đúng",
                        "Belt drift, slip, chute-full and pull-wire emergency stops all trip when tested",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "C-FIRE",
                        "Bình chữa cháy, vòi nước chữa cháy tại đầu băng sẵn sàng",
                        "Fire extinguishers and fire hose at the drive head ready",
                        PF,
                        {"critical": True},
                    ),
                ],
            ),
            _gas("ch4_electrical_equipment_trip", "tại đầu băng (thiết bị điện)", "at the drive head"),
            _roof([]),
            ELECTRICAL,
            _escape(),
        ],
    ),
    "bench": (
        "RESTART-TKT",
        "Kiểm tra tầng khai thác lộ thiên trước khi sản xuất trở lại sau Tết",
        "Open-pit bench check before restarting after Tết",
        [
            (
                "BO",
                "Bờ mỏ và tầng",
                "Pit walls and benches",
                [
                    (
                        "B-SLOPE",
                        "Sườn tầng ổn định: không có đá treo, khe nứt, dấu hiệu trượt lở sau mưa",
                        "Bench faces stable: no loose rock, cracks or signs of sliding after rain",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "B-WIDTH",
                        "Chiều rộng mặt tầng công tác",
                        "Working bench width",
                        NUM,
                        {"critical": True, "uom": "m", "min": 30, "range": (0, 500)},
                    ),
                    (
                        "B-BERM",
                        "Đê an toàn mép tầng, đường vận tải đủ chiều cao, không sạt lở",
                        "Safety berms along the edges and haul roads in place and intact",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "B-PHOTO",
                        "Ảnh hiện trạng tầng",
                        "Photo of the bench",
                        PHOTO,
                        {"required": False},
                    ),
                ],
            ),
            (
                "NUOC",
                "Thoát nước",
                "Drainage",
                [
                    (
                        "D-PIT",
                        "Mương thoát nước, hố thu nước moong thông, bơm moong chạy thử đạt",
                        "Drainage ditches and the pit sump clear, sump pumps test-run",
                        PF,
                        {},
                    )
                ],
            ),
            (
                "TB",
                "Thiết bị",
                "Equipment",
                [
                    (
                        "M-BRAKES",
                        "Máy xúc, ô tô: phanh, còi, đèn, gương kiểm tra đạt trước khi vận hành",
                        "Excavators and trucks: brakes, horn, lights and mirrors checked",
                        PF,
                        {"critical": True},
                    ),
                    (
                        "M-BLAST",
                        "Vùng nguy hiểm nổ mìn, biển báo, vật liệu nổ tồn (nếu có) đã được kiểm soát",
                        "Blasting danger zone, signs and any leftover explosives under control",
                        PF,
                        {"critical": True},
                    ),
                ],
            ),
            _escape([]),
        ],
    ),
}


def load_restart_templates(template_model, section_model, item_model) -> int:
    """Create version 1 of each restart template if it is missing; returns how many were created."""
    created = 0
    for position_kind, (code, title_vi, title_en, sections) in RESTART_TEMPLATES.items():
        if template_model.objects.filter(code=code).exists():
            continue
        template = template_model.objects.create(
            code=code,
            version=1,
            position_kind=position_kind,
            title_vi=title_vi,
            title_en=title_en,
            source=RESTART_SOURCE,
        )
        created += 1
        for s_order, (_s_code, s_vi, s_en, items) in enumerate(sections, start=1):
            section = section_model.objects.create(
                template=template, order=s_order, title_vi=s_vi, title_en=s_en
            )
            for i_order, (i_code, t_vi, t_en, answer_type, opts) in enumerate(items, start=1):
                low, high = opts.get("range", (None, None))
                item_model.objects.create(
                    template=template,
                    section=section,
                    order=i_order,
                    code=i_code,
                    text_vi=t_vi,
                    text_en=t_en,
                    answer_type=answer_type,
                    unit_of_measure=opts.get("uom", ""),
                    min_value=opts.get("min"),
                    max_value=opts.get("max"),
                    range_min=low,
                    range_max=high,
                    limit_code=opts.get("limit", ""),
                    critical=opts.get("critical", False),
                    required=opts.get("required", True),
                )
    return created
