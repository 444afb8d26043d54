"""The workforce demo: income — the payroll's monthly totals of every site of the demo companies for last year
and this year to the current month (people paid: the site's workers, or a typical crew where the demo has none),
and each company's income plan for both years. Underground miners earn most, then open pit, plants and ports;
January carries the Tết bonus. Idempotent: existing months and plans are kept (bulk, as demo data)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import SiteType, Unit, UnitKind
from headframe.workforce.models import IncomePlan, PayrollMonth, Worker

SEED = 88
# average monthly income per worker this year (VND) by kind of site
BASE = {
    SiteType.UNDERGROUND: 17_500_000,
    SiteType.OPEN_PIT: 14_200_000,
    SiteType.PLANT: 11_800_000,
    SiteType.PORT: 11_000_000,
}
LAST_YEAR = Decimal("0.94")  # last year's pay against this year's
TET_BONUS = Decimal("1.35")  # January
TYPICAL_CREW = 700  # people paid at a site where the demo has no workers


def _months(today: dt.date) -> list[dt.date]:
    last = [dt.date(today.year - 1, m, 1) for m in range(1, 13)]
    return last + [dt.date(today.year, m, 1) for m in range(1, today.month + 1)]


def load(*, now: dt.datetime | None = None) -> None:
    """See the module docstring."""
    today = (now or timezone.now()).astimezone(LOCAL_TZ).date()
    sites = list(
        Unit.objects.filter(kind=UnitKind.SITE, parent__kind=UnitKind.COMPANY).select_related("parent")
    )
    if not sites:
        return
    workers = {
        row["unit__parent"]: row["n"]
        for row in Worker.objects.filter(is_active=True).values("unit__parent").annotate(n=Count("pk"))
    }
    rng = random.Random(SEED)
    rows = []
    for site in sorted(sites, key=lambda s: s.path):
        base = Decimal(BASE.get(site.site_type, 12_000_000))
        headcount = workers.get(site.pk) or TYPICAL_CREW + rng.randint(-100, 300)
        for month in _months(today):
            factor = (LAST_YEAR if month.year < today.year else Decimal(1)) * Decimal(rng.uniform(0.95, 1.06))
            if month.month == 1:
                factor *= TET_BONUS
            people = max(1, headcount + rng.randint(-15, 15))
            total = (base * factor).quantize(Decimal(1000)) * people
            rows.append(PayrollMonth(unit=site, month=month, headcount=people, total_income=total))
    PayrollMonth.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    companies = {site.parent for site in sites}
    plans = []
    for company in sorted(companies, key=lambda c: c.code):
        kinds = [BASE.get(s.site_type, 12_000_000) for s in sites if s.parent_id == company.pk]
        average = Decimal(sum(kinds) / len(kinds))
        for year, factor in ((today.year - 1, LAST_YEAR), (today.year, Decimal(1))):
            amount = (average * factor * Decimal("0.98")).quantize(Decimal(100_000))
            plans.append(IncomePlan(unit=company, year=year, average_income=amount))
    IncomePlan.objects.bulk_create(plans, ignore_conflicts=True)
