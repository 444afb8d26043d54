"""What the briefing demo writes: the year's key tasks with their KPIs, the group's 2021 register, the
directives raised at each monthly briefing, the agenda and who attends from each bridge point."""

from __future__ import annotations

import datetime as dt

from headframe.briefing.models import KpiKind, Section

GROUP_CODE = "HFG"
CLOSED_MEETINGS = 3
MEETING_DAY = 5  # the monthly briefing sits on the 5th of the next month, at 08:00 local
MEETING_HOUR = 8

VS_PLAN = KpiKind.INDICATOR_VS_PLAN
MANUAL = KpiKind.MANUAL
# a figure a module computes: the code of briefing.extensions' registry, a plain string
MEASURE = KpiKind.MEASURE

# The year's 8 key tasks, numbered as the group sets them: 5 the workforce, 6 the workers' rights and
# benefits, 8 epidemic prevention — whose KPIs read the workforce module (issue 15).
# (title_vi, title_en, description, [(kind, name_vi, name_en, indicator or measure, target, done_evidence
# [, comparator])]); done_evidence: for manual milestones already reached, the evidence recorded; None: still
# open; comparator: "ge" unless given.
KEY_TASKS = [
    (
        "Bám sát, thực hiện ở mức cao nhất các chỉ tiêu kế hoạch",
        "Follow the plan targets at the highest level",
        "Điều hành linh hoạt, bám sát thị trường; hoàn thành toàn diện các chỉ tiêu sản xuất và tiêu thụ than.",
        [
            (
                VS_PLAN,
                "Than nguyên khai ≥ 100 % kế hoạch",
                "Raw coal ≥ 100 % of plan",
                "raw_coal_t",
                100,
                None,
            ),
            (
                VS_PLAN,
                "Than tiêu thụ ≥ 100 % kế hoạch",
                "Coal sold ≥ 100 % of plan",
                "coal_sold_t",
                100,
                None,
            ),
        ],
    ),
    (
        "Đẩy mạnh đào lò chuẩn bị và bóc đất đá, bảo đảm diện sản xuất cho các năm sau",
        "Keep roadway development and overburden removal ahead of production",
        "Mét lò đào và khối lượng đất đá bóc không thấp hơn kế hoạch năm.",
        [
            (
                VS_PLAN,
                "Mét lò đào ≥ 100 % kế hoạch",
                "Roadway metres ≥ 100 % of plan",
                "roadway_m",
                100,
                None,
            ),
            (
                VS_PLAN,
                "Đất đá bóc ≥ 100 % kế hoạch",
                "Overburden ≥ 100 % of plan",
                "overburden_m3",
                100,
                None,
            ),
        ],
    ),
    (
        "Đảm bảo an toàn, không để xảy ra sự cố nghiêm trọng",
        "Work safely: no serious incident",
        "Kiểm soát khí mỏ, thoát nước, trục tải; thực hiện nghiêm QCVN 01:2011/BCT.",
        [
            (
                MANUAL,
                "Không để xảy ra tai nạn lao động nghiêm trọng",
                "No serious accident",
                None,
                0,
                None,
            ),
            (
                MANUAL,
                "Hoàn thành phương án phòng chống mưa bão, thoát nước mỏ trước mùa mưa",
                "Rainy-season drainage plan completed before the rains",
                None,
                None,
                "Quyết định phê duyệt phương án phòng chống mưa bão của các công ty; biên bản kiểm tra trạm bơm",
            ),
        ],
    ),
    (
        "Đẩy mạnh chuyển đổi số, ứng dụng công nghiệp 4.0 trong sản xuất và quản trị",
        "Digital transformation: Industry 4.0 in production and governance",
        "Số hóa báo cáo sản xuất, giám sát khí mỏ tập trung, giao ban trực tuyến.",
        [
            (
                MANUAL,
                "Vận hành giao ban trực tuyến tại tất cả điểm cầu",
                "Online briefings at every bridge point",
                None,
                None,
                "Giao ban tháng trực tuyến với 6 điểm cầu từ đầu năm",
            ),
            (
                MANUAL,
                "Báo cáo sản xuất theo ca bằng phần mềm tại tất cả công ty",
                "Shift reports in software at every company",
                None,
                None,
                "Các công ty nhập số liệu ca trên hệ thống; bỏ báo cáo giấy",
            ),
            (
                MANUAL,
                "Kết nối giám sát khí mê-tan tập trung cho 100 % mỏ hầm lò",
                "Central methane monitoring for every underground mine",
                None,
                None,
                None,
            ),
        ],
    ),
    (
        "Phát triển nguồn nhân lực chất lượng cao",
        "A skilled workforce",
        "Đào tạo, nâng bậc thợ lò, thợ cơ điện; huấn luyện an toàn định kỳ; thu hút kỹ sư mỏ trẻ.",
        [
            (
                MEASURE,
                "Người lao động đủ huấn luyện bắt buộc còn hiệu lực ≥ 95 %",
                "Workers with every mandatory course valid ≥ 95 %",
                "workforce.training_coverage",
                95,
                None,
            ),
            (
                MANUAL,
                "Đào tạo nâng bậc cho thợ lò, thợ cơ điện theo kế hoạch",
                "Skill-grade training as planned",
                None,
                None,
                None,
            ),
            (
                MANUAL,
                "Tuyển dụng kỹ sư khai thác mỏ, cơ điện mỏ",
                "Recruit mining and electrical engineers",
                None,
                None,
                "Đã tuyển 42 kỹ sư, bố trí về các công ty hầm lò",
            ),
        ],
    ),
    (
        "Phát huy dân chủ, chăm lo quyền lợi và lợi ích chính đáng của người lao động",
        "Democracy at work; workers' rights and benefits",
        "Thực hiện quy chế dân chủ cơ sở; trả lời kiến nghị của người lao động đúng hạn; bảo đảm việc làm, thu nhập.",
        [
            (
                MEASURE,
                "Kiến nghị của người lao động được trả lời đúng hạn ≥ 95 %",
                "Workers' grievances answered on time ≥ 95 %",
                "workforce.grievances_on_time",
                95,
                None,
            ),
            (
                MEASURE,
                "Thu nhập bình quân ≥ 15 triệu đồng/người/tháng",
                "Average income ≥ VND 15 million per person a month",
                "workforce.average_income",
                15_000_000,
                None,
            ),
            (
                MANUAL,
                "Tổ chức Hội nghị người lao động tại 100 % đơn vị",
                "Workers' conference held in every unit",
                None,
                None,
                "Báo cáo kết quả Hội nghị người lao động của các đơn vị",
            ),
        ],
    ),
    (
        "Nâng cao chất lượng than và hiệu quả sản xuất kinh doanh, tiết giảm chi phí",
        "Coal quality and efficiency: revenue on plan, costs down",
        "Tăng sản lượng than sạch, kiểm soát độ tro theo hợp đồng; doanh thu đạt kế hoạch; tiết giảm chi phí vật tư.",
        [
            (VS_PLAN, "Than sạch ≥ 100 % kế hoạch", "Clean coal ≥ 100 % of plan", "clean_coal_t", 100, None),
            (VS_PLAN, "Doanh thu ≥ 100 % kế hoạch", "Revenue ≥ 100 % of plan", "revenue_vnd", 100, None),
            (
                MANUAL,
                "Ban hành định mức tiết giảm chi phí vật tư, nhiên liệu",
                "Cost-saving norms issued",
                None,
                None,
                "Quyết định ban hành định mức của Tổng giám đốc",
            ),
        ],
    ),
    (
        "Phòng, chống dịch bệnh: không để người lao động bị lây nhiễm, đón Tết an toàn",
        "Epidemic prevention: no worker infected, a safe Tết",
        "Thực hiện nghiêm các biện pháp phòng, chống dịch tại nơi làm việc, nhà giao ca và khu tập thể.",
        [
            (
                MEASURE,
                "0 người lao động bị lây nhiễm dịch bệnh",
                "0 workers infected",
                "workforce.cases",
                0,
                None,
                "le",
            ),
            (
                MANUAL,
                "Phê duyệt phương án phòng, chống dịch tại nơi làm việc, nhà giao ca, khu tập thể",
                "Epidemic plan for workplaces, shift houses and hostels approved",
                None,
                None,
                "Quyết định phê duyệt phương án phòng, chống dịch của các công ty",
            ),
        ],
    ),
]

# The group's 2021 register of its 8 key tasks, as the group set them for the year (Tết Tân Sửu, the
# SARS-CoV-2 epidemic), in the same shape as KEY_TASKS; done_evidence: (evidence, the day it was recorded).
REGISTER_YEAR = 2021
KEY_TASKS_2021 = [
    (
        "Tăng cường đoàn kết, giữ vững kỷ luật, phát huy truyền thống “Kỷ luật – Đồng tâm”",
        "Unity and discipline: the “Discipline – Unity” tradition",
        "Đoàn kết, thống nhất trong toàn Tập đoàn; chấp hành nghiêm kỷ luật lao động, kỷ luật điều hành sản xuất.",
        [
            (
                MANUAL,
                "Quán triệt nhiệm vụ năm, ký giao ước thi đua tại 100 % đơn vị",
                "Year's tasks explained and emulation pledges signed in every unit",
                None,
                None,
                ("Biên bản ký giao ước thi đua năm 2021 của 100 % đơn vị", dt.date(2021, 1, 28)),
            ),
            (
                MANUAL,
                "Không có đơn vị vi phạm kỷ luật điều hành sản xuất",
                "No unit in breach of production-control discipline",
                None,
                0,
                None,
            ),
        ],
    ),
    (
        "Bám sát thị trường, điều hành linh hoạt, thực hiện ở mức cao nhất các chỉ tiêu kế hoạch năm 2021",
        "Meet the 2021 plan targets at the highest level",
        "Hoàn thành toàn diện các chỉ tiêu than nguyên khai, than tiêu thụ và doanh thu.",
        [
            (
                VS_PLAN,
                "Than nguyên khai ≥ 100 % kế hoạch",
                "Raw coal ≥ 100 % of plan",
                "raw_coal_t",
                100,
                None,
            ),
            (
                VS_PLAN,
                "Than tiêu thụ ≥ 100 % kế hoạch",
                "Coal sold ≥ 100 % of plan",
                "coal_sold_t",
                100,
                None,
            ),
            (VS_PLAN, "Doanh thu ≥ 100 % kế hoạch", "Revenue ≥ 100 % of plan", "revenue_vnd", 100, None),
        ],
    ),
    (
        "Tạo bước đột phá trong ứng dụng khoa học công nghệ, công nghiệp 4.0 vào sản xuất và quản trị",
        "An Industry 4.0 breakthrough in production and management",
        "Cơ giới hóa, tự động hóa, tin học hóa; điều hành sản xuất và giao ban trên nền tảng số.",
        [
            (
                MANUAL,
                "Giao ban điều hành sản xuất trực tuyến với tất cả điểm cầu",
                "Online production-control briefings with every bridge point",
                None,
                None,
                ("Giao ban quý I/2021 trực tuyến với 6 điểm cầu", dt.date(2021, 4, 5)),
            ),
            (
                MANUAL,
                "Đưa vào vận hành thêm lò chợ cơ giới hóa đồng bộ",
                "Another fully mechanised longwall in operation",
                None,
                None,
                None,
            ),
        ],
    ),
    (
        "Phối hợp chặt chẽ với các bộ, ngành trong xây dựng chiến lược, quy hoạch phát triển ngành than",
        "Work with the state agencies on the coal industry's strategy and planning",
        "Tham gia xây dựng Chiến lược phát triển ngành than và Quy hoạch năng lượng quốc gia; tháo gỡ vướng mắc về "
        "đất đai, tài nguyên, môi trường.",
        [
            (
                MANUAL,
                "Hoàn thành góp ý dự thảo quy hoạch phát triển ngành than gửi Bộ Công Thương",
                "Comments on the draft coal development plan sent to the Ministry of Industry and Trade",
                None,
                None,
                ("Văn bản góp ý của Tập đoàn gửi Bộ Công Thương", dt.date(2021, 3, 19)),
            ),
            (
                MANUAL,
                "Tháo gỡ thủ tục cấp phép khai thác cho các dự án mỏ mở rộng",
                "Mining permits cleared for the mine extension projects",
                None,
                None,
                None,
            ),
        ],
    ),
    (
        "Xây dựng đội ngũ người lao động có tay nghề cao, tận tụy, gắn bó với ngành",
        "A skilled, dedicated workforce",
        "Đào tạo, kèm cặp, nâng bậc thợ lò, thợ cơ điện; giữ chân và thu hút lao động hầm lò.",
        [
            (
                MANUAL,
                "Đào tạo nâng bậc thợ lò, thợ cơ điện theo kế hoạch năm",
                "Skill-grade training for miners and electricians as planned",
                None,
                None,
                None,
            ),
            (
                MANUAL,
                "Tuyển đủ lao động hầm lò theo kế hoạch",
                "Underground workforce recruited as planned",
                None,
                None,
                None,
            ),
        ],
    ),
    (
        "Phát huy dân chủ, chăm lo quyền lợi và lợi ích chính đáng của người lao động",
        "Democracy at work; workers' rights and benefits",
        "Thực hiện quy chế dân chủ cơ sở; bảo đảm việc làm, thu nhập, điều kiện làm việc và đời sống.",
        [
            (
                MANUAL,
                "Tổ chức Hội nghị người lao động năm 2021 tại 100 % đơn vị",
                "Workers' conference held in every unit",
                None,
                None,
                ("Báo cáo kết quả Hội nghị người lao động của các đơn vị", dt.date(2021, 3, 31)),
            ),
            (
                MANUAL,
                "Thu nhập bình quân không thấp hơn năm 2020",
                "Average income not below 2020's",
                None,
                None,
                None,
            ),
        ],
    ),
    (
        "Giữ vững niềm tin của lãnh đạo Đảng, Nhà nước, chính quyền các cấp",
        "Keep the trust of the Party, the State and the authorities",
        "Hoàn thành nghĩa vụ với ngân sách nhà nước; bảo vệ môi trường, an ninh trật tự vùng mỏ.",
        [
            (
                MANUAL,
                "Nộp đủ, đúng hạn nghĩa vụ ngân sách nhà nước",
                "State budget obligations paid in full and on time",
                None,
                None,
                None,
            ),
            (
                MANUAL,
                "Không để xảy ra điểm nóng về môi trường, an ninh trật tự vùng mỏ",
                "No environmental or public-order flashpoint in the mining region",
                None,
                0,
                None,
            ),
        ],
    ),
    (
        "Phòng, chống dịch COVID-19: không để người lao động bị lây nhiễm SARS-CoV-2, đón Tết Tân Sửu an toàn",
        "Epidemic prevention: no worker infected with SARS-CoV-2, a safe Tết Tân Sửu",
        "Thực hiện nghiêm “5K” và các biện pháp phòng, chống dịch tại nơi làm việc, nhà giao ca, khu tập thể; "
        "sản xuất an toàn trước, trong và sau Tết.",
        [
            (
                MANUAL,
                "0 người lao động bị lây nhiễm SARS-CoV-2",
                "0 workers infected with SARS-CoV-2",
                None,
                0,
                None,
            ),
            (
                MANUAL,
                "Đón Tết Tân Sửu an toàn, vui tươi; sản xuất trở lại đúng kế hoạch sau Tết",
                "A safe Tết Tân Sửu; production back on plan after the holiday",
                None,
                None,
                (
                    "Báo cáo sau Tết Tân Sửu: không có ca nhiễm, các mỏ sản xuất trở lại từ mùng 6",
                    dt.date(2021, 2, 22),
                ),
            ),
        ],
    ),
]
# The Q1/2021 quarterly briefing: (title, period start, period end, the day it sat) and its directives
# (owner company, person title index, text, days to deadline, priority) — all done since.
BRIEFING_2021 = (
    "Giao ban điều hành sản xuất quý I/2021",
    dt.date(2021, 1, 1),
    dt.date(2021, 3, 31),
    dt.date(2021, 4, 5),
)
DIRECTIVES_2021 = [
    (
        "NDA",
        1,
        "Bù đắp sản lượng thiếu hụt sau Tết Tân Sửu, bảo đảm tiến độ than nguyên khai quý II",
        30,
        "high",
    ),
    ("DGI", 3, "Chủ động phương án thoát nước moong trước mùa mưa 2021", 45, "normal"),
    (
        "CHC",
        0,
        "Duy trì nghiêm các biện pháp phòng, chống dịch COVID-19 khi giao nhận than với tàu nước ngoài",
        14,
        "high",
    ),
]

# Directives raised at each monthly briefing: (owner company, person title index, text, days to deadline,
# priority, fate). Fate: done, in_progress, open, cancelled — those still open past their deadline are overdue.
DIRECTIVES = [
    (
        "NDA",
        1,
        "Đẩy nhanh tiến độ chuẩn bị diện khai thác lò chợ mới, bảo đảm sản lượng quý tới",
        25,
        "high",
        "in_progress",
    ),
    ("VSO", 1, "Khắc phục dứt điểm sự cố tuyến băng tải chính, báo cáo rõ nguyên nhân", 10, "high", "done"),
    ("DGI", 3, "Tăng cường thoát nước moong, chủ động phương án mùa mưa", 30, "normal", "open"),
    ("TCB", 2, "Rà soát chất lượng than sạch, giảm độ tro theo hợp đồng tiêu thụ", 20, "normal", "done"),
    ("CHC", 0, "Phối hợp giải phóng tàu, giảm tồn kho than tại cảng", 15, "low", "open"),
    ("BLU", 3, "Kiểm tra toàn bộ hệ thống quan trắc khí mê-tan trước mùa khô", 12, "high", "cancelled"),
]
EVIDENCE = "Báo cáo kết quả thực hiện kèm biên bản kiểm tra của Ban Điều khiển sản xuất"

AGENDA = [
    ("Tình hình thực hiện kế hoạch sản xuất tháng, lũy kế", Section.PRODUCTION, "Ban Điều khiển sản xuất"),
    ("Công tác an toàn, cảnh báo khí mỏ", Section.SAFETY, "Ban An toàn"),
    ("Kiểm điểm thực hiện kết luận giao ban kỳ trước", Section.DIRECTIVES, "Văn phòng"),
    ("Tiến độ các nhiệm vụ trọng tâm năm", Section.KEY_TASKS, "Ban Kế hoạch"),
    ("Ý kiến các đơn vị; kết luận của Chủ trì", Section.OTHER, "Chủ trì"),
]
ATTENDEES = {
    "DC-HFG": "Tổng giám đốc (Chủ trì), các Phó Tổng giám đốc, Trưởng các ban",
    "DC-NDA": "Giám đốc, Phó Giám đốc Sản xuất, Quản đốc các phân xưởng",
    "DC-VSO": "Giám đốc, Phó Giám đốc Sản xuất",
    "DC-DGI": "Giám đốc, Trưởng phòng Điều khiển sản xuất",
    "DC-TCB": "Giám đốc, Phó Giám đốc Kỹ thuật",
    "DC-CHC": "Giám đốc, Trưởng phòng Điều độ cảng",
}
