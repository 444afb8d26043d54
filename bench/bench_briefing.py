"""Briefing pack of the demo group (target: web page < 1 s, PDF < 5 s), against the baseline of the plain group
summary query measured in the same run (`production.selectors.summaries(group, on, indicators)`, every
indicator): the ratio is what the pack adds — the company and site bucketings, early warnings, reasons,
chart series, telemetry KPIs, directives, key tasks, the narrative and the rendering.

Figures: one year of the demo group's plans and daily actuals (`load_production_demo(years=1)`), up to
yesterday; the pack covers this month up to yesterday."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from bench.timing import best_of, report
from headframe.briefing.pack import pack_for
from headframe.briefing.pack.export import pack_pdf
from headframe.briefing.pack.xlsx import pack_xlsx
from headframe.org.models import Unit
from headframe.production import selectors
from headframe.production.demo import GROUP_CODE, load_production_demo


def run() -> None:
    today = timezone.localdate()
    started = time.perf_counter()
    loaded = load_production_demo(today=today, years=1)
    print(
        f"  loaded one year of demo figures: {loaded['actuals']:,} actuals in {time.perf_counter() - started:.1f} s"
    )
    group = Unit.objects.get(code=GROUP_CODE)
    on = today - dt.timedelta(days=1)
    start = on.replace(day=1)
    indicators = selectors.indicators_for()
    baseline = best_of(lambda: selectors.summaries(group, on, indicators), repeat=5, number=3)
    report("baseline: group summary, every indicator", baseline, "baseline", baseline)
    build = best_of(lambda: pack_for(group, start, on), repeat=3, number=2)
    report("pack build (JSON dict)", build, "baseline", baseline)

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    url = f"/briefing/pack?unit={group.code}&from={start:%d/%m/%Y}&to={on:%d/%m/%Y}"

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    web = best_of(page, repeat=3, number=2)
    report("web pack page: build + render (target < 1 s)", web, "baseline", baseline)
    pdf = best_of(lambda: pack_pdf(pack_for(group, start, on), "vi"), repeat=2, number=1)
    report("PDF: build + WeasyPrint (target < 5 s)", pdf, "baseline", baseline)
    xlsx = best_of(lambda: pack_xlsx(pack_for(group, start, on)), repeat=2, number=1)
    report("Excel: build + openpyxl", xlsx, "baseline", baseline)
    print(
        f"  web pack {'meets' if web < 1 else 'MISSES'} the 1 s target ({web:.2f} s); "
        f"PDF {'meets' if pdf < 5 else 'MISSES'} the 5 s target ({pdf:.2f} s)"
    )
