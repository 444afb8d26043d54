"""Demo data: a clearly fictional coal-and-minerals group modelled on a Vietnamese coal group.

Deterministic (fixed seed, fixed dates) and idempotent: anything that already exists is left as it is, so
running it twice changes nothing. Everything is written through the services, so it is audited like any
other write (as the system).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from headframe.briefing.demo import load_briefing_demo
from headframe.core.audit import channel
from headframe.org import services
from headframe.org.models import BridgePoint, Person, Unit
from headframe.production.demo import load_production_demo
from headframe.safety.demo import load_safety_demo
from headframe.telemetry.demo import TelemetryDemoResult, load_telemetry_demo
from headframe.workforce.demo import load_workforce_demo

DEMO_PASSWORD = "headframe-demo"
DEMO_SEED = 2027
DEMO_VALID_FROM = dt.date(2020, 1, 1)
GROUP_CODE = "HFG"


@dataclass
class UnitSpec:
    code: str
    name_vi: str
    name_en: str
    kind: str
    parent: str | None
    site_type: str = ""
    position_kind: str = ""


@dataclass
class DemoPlan:
    units: list[UnitSpec] = field(default_factory=list)

    def add(self, *args, **kwargs) -> str:
        spec = UnitSpec(*args, **kwargs)
        self.units.append(spec)
        return spec.code


# (code, Vietnamese name, English name, site type, number of sites)
COMPANIES = [
    ("NDA", "Công ty Than Núi Đá", "Nui Da Coal Company", "underground", 2),
    ("VSO", "Công ty Than Vàng Sơn", "Vang Son Coal Company", "underground", 2),
    ("BLU", "Công ty Than Bắc Lương", "Bac Luong Coal Company", "underground", 2),
    ("SLA", "Công ty Than Suối Lại", "Suoi Lai Coal Company", "underground", 2),
    ("DGI", "Công ty Than Đèo Gió", "Deo Gio Coal Company", "open_pit", 2),
    ("CMO", "Công ty Than Cao Mộc", "Cao Moc Coal Company", "open_pit", 1),
    ("TCB", "Công ty Tuyển than Cửa Bến", "Cua Ben Coal Preparation Company", "plant", 1),
    ("CHC", "Công ty Cảng Hòn Cát", "Hon Cat Port Company", "port", 1),
]

SITE_NAMES = {
    "underground": ("Mỏ hầm lò {name} {n}", "{name} underground mine {n}"),
    "open_pit": ("Mỏ lộ thiên {name} {n}", "{name} open-pit mine {n}"),
    "plant": ("Nhà máy tuyển {name}", "{name} preparation plant"),
    "port": ("Cảng {name}", "{name} port"),
}

BRIDGE_POINTS = [
    ("DC-HFG", "Điểm cầu Trụ sở Tập đoàn", "Group headquarters", GROUP_CODE, "Hạ Long, Quảng Ninh"),
    ("DC-NDA", "Điểm cầu Công ty Than Núi Đá", "Nui Da Coal", "NDA", "Cẩm Phả, Quảng Ninh"),
    ("DC-VSO", "Điểm cầu Công ty Than Vàng Sơn", "Vang Son Coal", "VSO", "Uông Bí, Quảng Ninh"),
    ("DC-DGI", "Điểm cầu Công ty Than Đèo Gió", "Deo Gio Coal", "DGI", "Cẩm Phả, Quảng Ninh"),
    ("DC-TCB", "Điểm cầu Công ty Tuyển than Cửa Bến", "Cua Ben Preparation", "TCB", "Cửa Ông, Quảng Ninh"),
    ("DC-CHC", "Điểm cầu Công ty Cảng Hòn Cát", "Hon Cat Port", "CHC", "Cẩm Phả, Quảng Ninh"),
]

# username: [(role, unit code)] — one per role, plus a second reporter to show scopes side by side.
DEMO_USERS = {
    "admin": [("admin", GROUP_CODE)],
    "planner": [("planner", GROUP_CODE)],
    "viewer": [("viewer", GROUP_CODE)],
    "dispatcher": [("dispatcher", "NDA")],
    "safety": [("safety_officer", "NDA")],
    "reporter": [("reporter", "NDA-M1")],
    "reporter_vso": [("reporter", "VSO")],
    # The workforce module's people: HR at the company, the lamp room and the overman at the underground mine.
    "personnel": [("personnel", "NDA")],
    "lamp_room": [("lamp_room", "NDA-M1")],
    "overman": [("overman", "NDA-M1")],
    "medical": [("medical", "NDA")],
    # The machine account gateways (and `headframe simulate --transport http`) send readings as: token only.
    "gateway": [("gateway", GROUP_CODE)],
}
MACHINE_USERS = frozenset({"gateway"})

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Văn", "Đức", "Minh", "Quang", "Thị", "Hữu", "Công", "Thanh"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hùng",
    "Khánh",
    "Long",
    "Nam",
    "Phong",
    "Sơn",
    "Tuấn",
    "Hà",
    "Lan",
]
TITLES = ["Giám đốc", "Phó Giám đốc Sản xuất", "Trưởng phòng Điều khiển sản xuất", "Trưởng phòng An toàn"]


def _underground_site(plan: DemoPlan, rng: random.Random, site: str) -> None:
    for k in (1, 2):
        area = plan.add(f"{site}-KT{k}", f"Phân xưởng Khai thác {k}", f"Mining section {k}", "area", site)
        for i in range(1, 5):
            seam, level = rng.choice([11, 13, 14, 16]), rng.choice([-50, -100, -150, -200, -250])
            plan.add(
                f"{area}-LC{i:02d}",
                f"Lò chợ {seam}-{k}.{i} mức {level}",
                f"Longwall face {seam}-{k}.{i} at level {level}",
                "position",
                area,
                position_kind="longwall_face",
            )
    for k in (1, 2):
        area = plan.add(f"{site}-DL{k}", f"Phân xưởng Đào lò {k}", f"Development section {k}", "area", site)
        for i in range(1, 6):
            level = rng.choice([-150, -200, -250, -300, -350])
            kind_vi, kind_en = rng.choice(
                [
                    ("Lò xuyên vỉa", "Crosscut"),
                    ("Lò dọc vỉa", "Drift"),
                    ("Lò thượng", "Raise"),
                    ("Lò DVVT", "Haulage"),
                ]
            )
            plan.add(
                f"{area}-DL{i:02d}",
                f"{kind_vi} mức {level} số {i}",
                f"{kind_en} at level {level} no. {i}",
                "position",
                area,
                position_kind="development_heading",
            )
    area = plan.add(
        f"{site}-TG", "Phân xưởng Thông gió – Thoát nước", "Ventilation and drainage section", "area", site
    )
    for i in (1, 2):
        plan.add(
            f"{area}-QG{i}",
            f"Trạm quạt gió chính số {i}",
            f"Main fan no. {i}",
            "position",
            area,
            position_kind="main_fan",
        )
    for i, level in enumerate((-50, -150, -250), start=1):
        plan.add(
            f"{area}-TB{i}",
            f"Trạm bơm mức {level}",
            f"Pump station at level {level}",
            "position",
            area,
            position_kind="pump_station",
        )
    area = plan.add(f"{site}-VT", "Phân xưởng Vận tải", "Transport section", "area", site)
    for i in (1, 2):
        plan.add(
            f"{area}-BT{i}",
            f"Tuyến băng tải chính số {i}",
            f"Main conveyor no. {i}",
            "position",
            area,
            position_kind="conveyor",
        )
    plan.add(f"{area}-GN1", "Giếng nghiêng chính", "Main incline", "position", area, position_kind="shaft")


def _open_pit_site(plan: DemoPlan, rng: random.Random, site: str) -> None:
    for k, side_vi, side_en in ((1, "Bắc", "north"), (2, "Nam", "south")):
        area = plan.add(
            f"{site}-CT{k}", f"Công trường khai thác {side_vi}", f"Mining pit {side_en}", "area", site
        )
        for i in range(1, 7):
            bench = 200 - 15 * i - rng.choice([0, 5])
            plan.add(
                f"{area}-T{i:02d}",
                f"Tầng khai thác +{bench}",
                f"Bench +{bench}",
                "position",
                area,
                position_kind="bench",
            )
    area = plan.add(f"{site}-TN", "Phân xưởng Thoát nước", "Drainage section", "area", site)
    for i in (1, 2, 3):
        plan.add(
            f"{area}-TB{i}",
            f"Trạm bơm moong số {i}",
            f"Pit sump pump no. {i}",
            "position",
            area,
            position_kind="pump_station",
        )
    area = plan.add(f"{site}-VT", "Phân xưởng Vận tải", "Transport section", "area", site)
    for i in (1, 2, 3):
        plan.add(
            f"{area}-BT{i}",
            f"Tuyến băng tải số {i}",
            f"Conveyor no. {i}",
            "position",
            area,
            position_kind="conveyor",
        )


def _plant_site(plan: DemoPlan, rng: random.Random, site: str) -> None:
    for k in (1, 2):
        area = plan.add(f"{site}-PX{k}", f"Phân xưởng Tuyển {k}", f"Preparation section {k}", "area", site)
        for i in range(1, 5):
            plan.add(
                f"{area}-DC{i}",
                f"Dây chuyền tuyển số {k}.{i}",
                f"Processing line {k}.{i}",
                "position",
                area,
                position_kind="processing_line",
            )
    area = plan.add(f"{site}-KHO", "Kho than thành phẩm", "Product stockyard", "area", site)
    for i in range(1, 5):
        plan.add(
            f"{area}-BT{i}",
            f"Băng tải kho số {i}",
            f"Stockyard conveyor no. {i}",
            "position",
            area,
            position_kind="conveyor",
        )


def _port_site(plan: DemoPlan, rng: random.Random, site: str) -> None:
    for k in (1, 2):
        area = plan.add(f"{site}-BEN{k}", f"Khu bến số {k}", f"Berth area {k}", "area", site)
        for i in range(1, 4):
            plan.add(
                f"{area}-B{i}",
                f"Bến rót than số {k}.{i}",
                f"Loading berth {k}.{i}",
                "position",
                area,
                position_kind="berth",
            )
        for i in (1, 2):
            plan.add(
                f"{area}-BT{i}",
                f"Băng tải rót số {k}.{i}",
                f"Shiploader conveyor {k}.{i}",
                "position",
                area,
                position_kind="conveyor",
            )


SITE_BUILDERS = {
    "underground": _underground_site,
    "open_pit": _open_pit_site,
    "plant": _plant_site,
    "port": _port_site,
}


def build_plan(seed: int = DEMO_SEED) -> DemoPlan:
    """The whole demo tree as data, in parent-before-child order."""
    rng = random.Random(seed)
    plan = DemoPlan()
    plan.add(
        GROUP_CODE,
        "Tập đoàn Công nghiệp Than – Khoáng sản Headframe (dữ liệu mẫu)",
        "Headframe Coal and Minerals Group (demo data)",
        "group",
        None,
    )
    for code, name_vi, name_en, site_type, n_sites in COMPANIES:
        plan.add(code, name_vi, name_en, "company", GROUP_CODE)
        short = name_vi.split("Than ")[-1].split("Cảng ")[-1]
        for n in range(1, n_sites + 1):
            vi, en = SITE_NAMES[site_type]
            suffix = n if n_sites > 1 else ""
            site = plan.add(
                f"{code}-M{n}",
                vi.format(name=short, n=suffix).strip(),
                en.format(name=name_en.split(" Co")[0].split(" Port")[0], n=suffix).strip(),
                "site",
                code,
                site_type=site_type,
            )
            SITE_BUILDERS[site_type](plan, rng, site)
    return plan


@dataclass
class DemoResult:
    created_units: int = 0
    created_bridge_points: int = 0
    created_people: int = 0
    created_users: list[str] = field(default_factory=list)
    production: dict = field(default_factory=dict)
    telemetry: TelemetryDemoResult | None = None


@transaction.atomic
def load_demo(seed: int = DEMO_SEED, production_years: int = 0, workforce_full: bool = False) -> DemoResult:
    """The organisation demo; with production_years, also that many years of plans and daily figures up
    to yesterday (a later run adds only the days since); with workforce_full, the whole group's workforce and a
    month of its rosters and presence (otherwise NDA's underground mines today)."""
    result = DemoResult()
    rng = random.Random(seed + 1)
    with channel("system"):
        existing = set(Unit.objects.values_list("code", flat=True))
        for spec in build_plan(seed).units:
            if spec.code in existing:
                continue
            services.unit_create(
                actor=None,
                code=spec.code,
                name_vi=spec.name_vi,
                name_en=spec.name_en,
                kind=spec.kind,
                parent_code=spec.parent,
                site_type=spec.site_type,
                position_kind=spec.position_kind,
                valid_from=DEMO_VALID_FROM,
            )
            result.created_units += 1
        existing_points = set(BridgePoint.objects.values_list("code", flat=True))
        for code, name_vi, name_en, unit_code, location in BRIDGE_POINTS:
            if code not in existing_points:
                services.bridge_point_create(
                    actor=None,
                    code=code,
                    name_vi=name_vi,
                    name_en=name_en,
                    unit_code=unit_code,
                    location=location,
                )
                result.created_bridge_points += 1
        existing_people = set(Person.objects.values_list("employee_no", flat=True))
        number = 0
        for company, *_ in COMPANIES:
            for title in TITLES:
                number += 1
                name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                employee_no = f"NV{number:05d}"
                if employee_no not in existing_people:
                    services.person_create(
                        actor=None,
                        employee_no=employee_no,
                        full_name=name,
                        unit_code=company,
                        job_title=title,
                    )
                    result.created_people += 1
        User = get_user_model()
        existing_users = set(User.objects.filter(username__in=DEMO_USERS).values_list("username", flat=True))
        for username, grants in DEMO_USERS.items():
            if username in existing_users:
                continue
            password = None if username in MACHINE_USERS else DEMO_PASSWORD
            services.user_create(actor=None, username=username, grants=grants, password=password)
            result.created_users.append(username)
        result.telemetry = load_telemetry_demo()
        load_safety_demo()
        if production_years:
            result.production = load_production_demo(
                today=timezone.localdate(), years=production_years, seed=seed
            )

        # The year's key tasks, the last monthly briefings with their directives, and the next one.
        load_briefing_demo(today=timezone.localdate())

        # The workforce: workers, certificates, rosters, who is underground (the whole group with workforce_full).
        load_workforce_demo(full=workforce_full)
    return result
