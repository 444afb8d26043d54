"""The workforce demo. Always: ~2 000 workers of the two underground mines of company NDA with tag numbers, the
course catalogue, certificates (some expiring within 30/60/90 days, a few lapsed), today's rosters of the mines' work
positions and about 150 people underground now, two of them overdue.

`full=True` (what `make demo` loads): the whole group, ~10 000 workers (tag numbers at the underground mines, whose
people go underground; open-pit, plant and port people without), today's rosters and people underground at every
underground mine, and the last HISTORY_DAYS days of rosters and presence records (check-in and check-out) at every
underground mine: what the briefing pack's underground headcount and the epidemic contact trace read.

Idempotent and fast: workers, courses and certificates are written once per company (bulk, as demo data: no audit
rows); rosters and presences are added for the days a mine has none yet, so a load on a later day brings the days
since. Deterministic (seeded) apart from the clock.

People the lamp-room pages and their tests can rely on (all at NDA-M1, rostered on every shift of today):
tag NDA-00001 may go underground; NDA-00002's periodic safety training has lapsed; NDA-00003 is of health class
IV; NDA-00004 has every certificate but no roster today. None of them is underground after the load."""

from __future__ import annotations

import datetime as dt
import random

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import SiteType, Unit, UnitKind
from headframe.production.selectors import calendars_for
from headframe.workforce.models import Certificate, Course, Presence, RosterEntry, Trade, Worker
from headframe.workforce.rules import roster_days
from headframe.workforce.selectors import underground_now

SEED = 15
SITES = ("NDA-M1", "NDA-M2")  # the mines of the small demo (the tests' and the lamp-room examples')
WORKERS_PER_SITE = 1000
# The full demo: workers per site of each company (the ~10 000 of a mid-sized coal group's eight member companies).
COMPANY_WORKERS_PER_SITE = {
    "NDA": 1000,
    "VSO": 900,
    "BLU": 900,
    "SLA": 900,
    "DGI": 500,
    "CMO": 500,
    "TCB": 600,
    "CHC": 500,
}
HISTORY_DAYS = 30
UNDERGROUND_NOW = 150  # per company, over its underground mines
ABSENT = 0.03  # share of rostered people who do not come (sick, leave): rostered without a presence
CREW = (4, 7)  # people per work position per shift

COURSES = [
    # code, Vietnamese, English, validity (months), required underground
    (
        "ATVSLD",
        "Huấn luyện an toàn, vệ sinh lao động định kỳ (nhóm 3)",
        "Periodic safety training (group 3)",
        12,
        True,
    ),
    ("SOCUU", "Sơ cứu, cấp cứu", "First aid", 24, False),
    ("CUUHOMO", "Cấp cứu mỏ", "Mine rescue", 12, False),
    ("NOMIN", "Chứng chỉ thợ nổ mìn", "Blasting licence", 24, False),
    ("DIEN", "Chứng chỉ an toàn điện", "Electrical licence", 36, False),
    ("TOITRUC", "Vận hành tời trục", "Hoist operation", 24, False),
]
REQUIRED = "ATVSLD"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thanh", "Xuân"]
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
    "Thắng",
]
# the trades of each kind of area (by the area code's suffix)
AREA_TRADES = {
    "KT": [Trade.MINER] * 7 + [Trade.ELECTROMECHANIC, Trade.BLASTER],
    "DL": [Trade.MINER] * 6 + [Trade.BLASTER] * 2 + [Trade.ELECTROMECHANIC],
    "TG": [Trade.ELECTROMECHANIC] * 3 + [Trade.MINER, Trade.OTHER],
    "VT": [Trade.DRIVER] * 3 + [Trade.ELECTROMECHANIC] * 2 + [Trade.MINER],
}


def _months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def _courses() -> dict[str, Course]:
    existing = {c.code: c for c in Course.objects.all()}
    missing = [
        Course(code=code, name_vi=vi, name_en=en, validity_months=months, required_underground=required)
        for code, vi, en, months, required in COURSES
        if code not in existing
    ]
    Course.objects.bulk_create(missing)
    return {c.code: c for c in Course.objects.all()}


def _certificate(worker: Worker, course: Course, expires_on: dt.date) -> Certificate:
    passed_on = _months(expires_on, -(course.validity_months or 12))
    return Certificate(worker=worker, course=course, passed_on=passed_on, expires_on=expires_on)


def _areas(site: Unit) -> list[Unit]:
    """Where a site's people belong: its areas (sections), or the site itself when it has none."""
    return list(Unit.objects.filter(parent=site, kind=UnitKind.AREA).order_by("code")) or [site]


def _workers(
    rng: random.Random,
    company: str,
    sites: list[Unit],
    per_site: int,
    courses: dict[str, Course],
    today: dt.date,
) -> None:
    if Worker.objects.filter(employee_no__startswith=company).exists():
        return
    workers: list[Worker] = []
    number = 0
    for site in sites:
        areas = _areas(site)
        tagged = site.site_type == SiteType.UNDERGROUND  # the lamp room's tags: people who go underground
        for i in range(per_site):
            number += 1
            area = areas[i % len(areas)]
            trade = rng.choice(AREA_TRADES.get(area.code.rsplit("-", 1)[-1][:2], [Trade.MINER]))
            if not tagged:
                trade = rng.choice([Trade.DRIVER, Trade.ELECTROMECHANIC, Trade.OTHER, Trade.MINER])
            health = rng.choices([1, 2, 3, 4, 5], weights=[40, 35, 22, 2, 1])[0]
            workers.append(
                Worker(
                    employee_no=f"{company}{number:05d}",
                    full_name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                    unit=area,
                    team=f"Tổ {i % 12 + 1}",
                    trade=trade,
                    skill_grade=rng.randint(2, 7),
                    hire_date=today - dt.timedelta(days=rng.randint(200, 9000)),
                    health_class=health,
                    tag_no=f"{company}-{number:05d}" if tagged else None,
                )
            )
    if company == "NDA":  # the fixed examples of the lamp room (see the module docstring)
        workers[0].health_class, workers[1].health_class, workers[3].health_class = 1, 1, 1
        workers[2].health_class = 4
    Worker.objects.bulk_create(workers, batch_size=1000)
    workers = list(Worker.objects.filter(employee_no__startswith=company).order_by("employee_no"))
    certificates = []
    for index, worker in enumerate(workers):
        draw = rng.random()
        if company == "NDA" and index == 1:
            expires = today - dt.timedelta(days=20)  # NDA-00002: lapsed
        elif company == "NDA" and index < 4:
            expires = today + dt.timedelta(days=200)
        elif draw < 0.008:
            expires = today - dt.timedelta(days=rng.randint(1, 60))  # a few lapsed
        elif draw < 0.12:
            expires = today + dt.timedelta(days=rng.randint(0, 90))  # expiring within 30/60/90 days
        else:
            expires = today + dt.timedelta(days=rng.randint(91, 360))
        certificates.append(_certificate(worker, courses[REQUIRED], expires))
        extra = ["SOCUU"] if rng.random() < 0.3 else []
        extra += ["NOMIN"] if worker.trade == Trade.BLASTER else []
        extra += ["DIEN"] if worker.trade == Trade.ELECTROMECHANIC else []
        extra += ["TOITRUC"] if worker.trade == Trade.ELECTROMECHANIC and rng.random() < 0.3 else []
        extra += ["CUUHOMO"] if rng.random() < 0.04 else []
        for code in extra:
            certificates.append(
                _certificate(worker, courses[code], today + dt.timedelta(days=rng.randint(-15, 700)))
            )
    Certificate.objects.bulk_create(certificates, batch_size=2000)


def _may_go(worker: Worker, lapsed: set[int]) -> bool:
    return worker.health_class <= 3 and worker.pk not in lapsed


def _rosters_and_presence(rng: random.Random, sites: list[Unit], today: dt.date, now: dt.datetime) -> None:
    patterns = calendars_for(sites)
    lapsed = set(
        Certificate.objects.filter(course__code=REQUIRED, expires_on__lt=today).values_list(
            "worker_id", flat=True
        )
    )
    examples = list(Worker.objects.filter(tag_no__in=["NDA-00001", "NDA-00002", "NDA-00003"]))
    for site in sites:
        pattern = patterns[site.pk]
        days = sorted(roster_days(pattern, now))
        day, current = pattern.shift_of(now)
        if RosterEntry.objects.filter(position__path__startswith=site.path, day__in=days).exists():
            continue
        positions = list(
            Unit.objects.filter(path__startswith=site.path, kind=UnitKind.POSITION).order_by("path")
        )
        crew = [
            w
            for w in Worker.objects.filter(unit__path__startswith=site.path, is_active=True).order_by(
                "employee_no"
            )
            if w.tag_no not in ("NDA-00001", "NDA-00002", "NDA-00003", "NDA-00004")
        ]
        rng.shuffle(crew)
        entries: list[RosterEntry] = []
        # the production day's shifts (and the local date's, when it differs): the crew of one shift works
        # no other shift of that day
        slots = [(d, s) for d in days for s in range(1, pattern.shift_count + 1)]
        # two shifts ago (it may be yesterday's): the crew of the two people left underground past their shift
        start = pattern.shift_start(day, current) - dt.timedelta(hours=2 * pattern.shift_hours)
        earlier = pattern.shift_of(start)
        if earlier not in slots:
            slots.append(earlier)
        cursor = 0
        crews: dict[tuple[dt.date, int], list[tuple[Worker, Unit]]] = {}
        for slot in slots:
            crews[slot] = []
            for position in positions:
                for worker in crew[cursor : cursor + rng.randint(*CREW)]:
                    entries.append(RosterEntry(worker=worker, position=position, day=slot[0], shift=slot[1]))
                    crews[slot].append((worker, position))
                cursor += CREW[1]
                cursor %= max(len(crew) - CREW[1], 1)
        if site.code == SITES[0]:
            face = positions[0]
            for slot in slots:
                for worker in examples:
                    entries.append(RosterEntry(worker=worker, position=face, day=slot[0], shift=slot[1]))
        RosterEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
        if Presence.objects.filter(site=site, checked_out_at__isnull=True).exists():
            continue
        on_shift = [w for w, _p in crews[(day, current)] if _may_go(w, lapsed)]
        shift_start = pattern.shift_start(day, current)
        presences = [
            Presence(
                worker=worker,
                site=site,
                checked_in_at=min(now, shift_start + dt.timedelta(minutes=rng.randint(-25, 20))),
            )
            for worker in on_shift[: UNDERGROUND_NOW // len(SITES) - 1]
        ]
        # one of the crew of two shifts ago is still underground at NDA's mines: overdue
        came = set(  # people with a stay of that shift already (the full demo's history)
            Presence.objects.filter(
                site=site, checked_in_at__gte=pattern.shift_start(*earlier) - dt.timedelta(hours=1)
            ).values_list("worker_id", flat=True)
        )
        left = [
            w
            for w, _p in crews[earlier]
            if _may_go(w, lapsed) and w not in on_shift and w.pk not in came and site.code in SITES
        ]
        if left:
            presences.append(
                Presence(
                    worker=left[0],
                    site=site,
                    checked_in_at=pattern.shift_start(*earlier) + dt.timedelta(minutes=10),
                )
            )
        Presence.objects.bulk_create(presences, ignore_conflicts=True)


def _history(rng: random.Random, sites: list[Unit], today: dt.date, now: dt.datetime, days: int) -> None:
    """The last `days` days before today's rosters at each underground mine: every tagged person has a work
    position and a shift (rotating weekly), a rest day a week, and a presence (in before the shift starts, out after
    it ends) on the days they came. The last shift before today's rosters is left out so no stay overlaps today's."""
    patterns = calendars_for(sites)
    lapsed = set(
        Certificate.objects.filter(course__code=REQUIRED, expires_on__lt=today).values_list(
            "worker_id", flat=True
        )
    )
    for site in sites:
        pattern = patterns[site.pk]
        first_today = min(roster_days(pattern, now))
        wanted = [first_today - dt.timedelta(days=n) for n in range(days, 0, -1)]
        done = set(
            RosterEntry.objects.filter(position__path__startswith=site.path, day__in=wanted).values_list(
                "day", flat=True
            )
        )
        wanted = [day for day in wanted if day not in done]
        if not wanted:
            continue
        positions = list(
            Unit.objects.filter(path__startswith=site.path, kind=UnitKind.POSITION).order_by("path")
        )
        crew = list(
            Worker.objects.filter(unit__path__startswith=site.path, is_active=True, tag_no__isnull=False)
            .exclude(tag_no__in=["NDA-00001", "NDA-00002", "NDA-00003", "NDA-00004"])
            .order_by("employee_no")
        )
        if not positions or not crew:
            continue
        entries: list[tuple] = []
        presences: list[tuple] = []
        last = (first_today - dt.timedelta(days=1), pattern.shift_count)
        stamp = connection.ops.adapt_datetimefield_value
        for day in wanted:
            week = day.isocalendar().week
            for index, worker in enumerate(crew):
                if (index + day.toordinal()) % 7 == 0:
                    continue  # the weekly rest day
                shift = (index + week) % pattern.shift_count + 1
                if (day, shift) == last:
                    continue
                entries.append((worker.pk, positions[index % len(positions)].pk, day.isoformat(), shift))
                if not _may_go(worker, lapsed) or rng.random() < ABSENT:
                    continue
                start = pattern.shift_start(day, shift)
                end = start + dt.timedelta(hours=pattern.shift_hours)
                if end >= now:
                    continue
                presences.append(
                    (
                        worker.pk,
                        site.pk,
                        stamp(start - dt.timedelta(minutes=rng.randint(5, 30))),
                        stamp(end + dt.timedelta(minutes=rng.randint(5, 45))),
                    )
                )
        _insert(RosterEntry, ("worker_id", "position_id", "day", "shift"), entries)
        _insert(
            Presence,
            ("worker_id", "site_id", "checked_in_at", "checked_out_at"),
            presences,
            override_reason="",
            refusals="[]",
        )


def _insert(model, columns: tuple[str, ...], rows: list[tuple], **constants) -> None:
    """Plain multi-row INSERTs of history rows: ~200 000 model instances through bulk_create cost the demo ~15 s;
    rows as tuples a few. Only for rows the demo has just computed (no defaults, signals or validation needed)."""
    columns = (*columns, *constants)
    extra = tuple(constants.values())
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch = 500  # SQLite allows 32 766 parameters per statement
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES " + ", ".join([marks] * len(chunk)),
                [value for row in chunk for value in (*row, *extra)],
            )


def load_workforce_demo(*, now: dt.datetime | None = None, full: bool = False) -> None:
    """See the module docstring. Called at the end of headframe.demo.load_demo (inside its transaction)."""
    now = now or timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    rng = random.Random(SEED)
    small = list(Unit.objects.filter(code__in=SITES).order_by("code"))
    if len(small) != len(SITES):
        return
    courses = _courses()
    companies = COMPANY_WORKERS_PER_SITE if full else {"NDA": WORKERS_PER_SITE}
    underground: list[Unit] = []
    for company, per_site in companies.items():
        sites = list(Unit.objects.filter(parent__code=company, kind=UnitKind.SITE).order_by("code"))
        if not sites:
            continue
        _workers(rng, company, sites, per_site, courses, today)
        underground += [site for site in sites if site.site_type == SiteType.UNDERGROUND]
    if full:
        _come_up(now, None)  # a demo started again later: the crews of the shifts since have come up
        # the month before first: today's load then adds the examples to days the history has filled
        _history(rng, underground, today, now, HISTORY_DAYS)
    _rosters_and_presence(rng, underground if full else small, today, now)


# ---------------------------------------------------------------- the demo's lamp room over the shifts


def demo_lamp_room(*, now: dt.datetime | None = None, since: dt.datetime | None = None) -> int:
    """What the demo's lamp rooms do between shifts (run every minute by `headframe demo`, never in production):
    people whose shift has ended come up 5–40 minutes after its end; the crew rostered on the next shift go down
    from 30 minutes before it starts (a few stay home); a day without rosters gets those of a week before (or,
    loaded with less than a week of them, of the latest rostered day).
    Stays whose shift ended before `since` (when the demo started) are left: they are the examples of people
    overdue underground, for the lamp room to check out. Returns the check-ins and check-outs made."""
    now = now or timezone.now()
    moved = _come_up(now, since)
    unit_paths = Worker.objects.filter(tag_no__isnull=False).values_list("unit__path", flat=True).distinct()
    site_paths = {"/".join(path.split("/")[:4]) + "/" for path in unit_paths}  # /G/COMPANY/SITE/
    sites = list(Unit.objects.filter(kind=UnitKind.SITE, site_type=SiteType.UNDERGROUND, path__in=site_paths))
    lapsed = set(
        Certificate.objects.filter(
            course__code=REQUIRED, expires_on__lt=now.astimezone(LOCAL_TZ).date()
        ).values_list("worker_id", flat=True)
    )
    patterns = calendars_for(sites)
    for site in sites:
        pattern = patterns[site.pk]
        try:
            day, shift = pattern.shift_of(now + dt.timedelta(minutes=30))
        except ValueError:
            continue
        moved += _go_down(site, pattern, day, shift, now, lapsed)
    return moved


def _come_up(now: dt.datetime, since: dt.datetime | None) -> int:
    """Check out, 5–40 minutes after their shift's end, the people whose shift ended after `since`."""
    moved = 0
    for row in underground_now(None, now=now):
        if row.shift_end is None or (since is not None and row.shift_end < since):
            continue
        out_at = row.shift_end + dt.timedelta(minutes=5 + row.presence_id % 36)
        if out_at <= now:
            moved += Presence.objects.filter(pk=row.presence_id, checked_out_at__isnull=True).update(
                checked_out_at=out_at
            )
    return moved


def _go_down(site: Unit, pattern, day: dt.date, shift: int, now: dt.datetime, lapsed: set[int]) -> int:
    at_site = RosterEntry.objects.filter(position__path__startswith=site.path)
    if not at_site.filter(day=day).exists():
        source = day - dt.timedelta(days=7)
        if not at_site.filter(day=source).exists():  # loaded with less than a week of rosters: the latest day
            source = at_site.filter(day__lt=day).aggregate(latest=Max("day"))["latest"]
        rostered = at_site.filter(day=source).values_list("worker_id", "position_id", "shift")
        RosterEntry.objects.bulk_create(
            [RosterEntry(worker_id=w, position_id=p, day=day, shift=s) for w, p, s in rostered],
            ignore_conflicts=True,
        )
    start = pattern.shift_start(day, shift)
    crew = at_site.filter(day=day, shift=shift).select_related("worker")
    here = set(
        Presence.objects.filter(site=site, checked_in_at__gte=start - dt.timedelta(hours=1)).values_list(
            "worker_id", flat=True
        )
    ) | set(Presence.objects.filter(checked_out_at__isnull=True).values_list("worker_id", flat=True))
    down = []
    for entry in crew:
        worker = entry.worker
        if worker.pk in here or not _may_go(worker, lapsed) or (worker.pk * 7 + day.toordinal()) % 33 == 0:
            continue
        at = start - dt.timedelta(minutes=5 + worker.pk % 25)
        if at <= now:
            down.append(Presence(worker=worker, site=site, checked_in_at=at))
    Presence.objects.bulk_create(down, ignore_conflicts=True)
    return len(down)
