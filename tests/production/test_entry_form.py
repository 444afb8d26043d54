"""The day-entry form without dead ends: whole-day figures (shift 0) show and can be corrected or converted to
shifts, the day's plan and totals are on the form, and a position held by a safety campaign is said once,
before typing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from headframe.core.models import AuditEntry
from headframe.production import services
from headframe.production.models import Actual, DailyTotal
from tests.production.conftest import plan_a_m1_2026

DAY = dt.date(2026, 3, 10)
URL = "/production/entry/"


@pytest.fixture
def whole_day(mines):
    plan_a_m1_2026("A-M1-K1-F1")
    services.actuals_upsert(
        actor=None,
        rows=[services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 0, 1500)],
        source="xlsx",
    )
    return mines


def _post(client, **cells):
    data = {"unit": "A-M1-K1-F1", "date": "10/03/2026", **cells}
    return client.post(URL, data)


def _stored() -> dict[int, Decimal]:
    qs = Actual.objects.filter(unit__code="A-M1-K1-F1", indicator__code="raw_coal_t", day=DAY)
    return dict(qs.values_list("shift", "value"))


def test_whole_day_figure_shows_in_the_whole_day_row(client, users, whole_day):
    client.force_login(users.reporter_a)
    html = client.get(URL, {"unit": "A-M1-K1-F1", "date": "10/03/2026"}).content.decode()
    assert "Cả ngày" in html
    assert 'name="v-0-raw_coal_t" value="1.500"' in html


def test_whole_day_figure_is_corrected_on_the_form(client, users, whole_day):
    client.force_login(users.reporter_a)
    response = _post(client, **{"v-0-raw_coal_t": "1.600"})
    assert response.status_code == 302
    assert _stored() == {0: Decimal("1600")}


def test_typing_shifts_with_the_whole_day_cleared_converts_the_day(client, users, whole_day):
    client.force_login(users.reporter_a)
    response = _post(client, **{"v-0-raw_coal_t": "", "v-1-raw_coal_t": "700", "v-2-raw_coal_t": "650,5"})
    assert response.status_code == 302
    assert _stored() == {1: Decimal("700"), 2: Decimal("650.5")}
    total = DailyTotal.objects.get(unit__code="A-M1-K1-F1", indicator__code="raw_coal_t", day=DAY)
    assert total.value == Decimal("1350.5")
    removed = AuditEntry.objects.get(action="delete", object_type="production.actual")
    assert removed.before == {"value": "1500"} and removed.actor.username == "reporter_a"


def test_shifts_converted_back_to_a_whole_day(client, users, whole_day):
    client.force_login(users.reporter_a)
    _post(client, **{"v-1-raw_coal_t": "700", "v-2-raw_coal_t": "600"})
    response = _post(client, **{"v-0-raw_coal_t": "1400"})
    assert response.status_code == 302
    assert _stored() == {0: Decimal("1400")}


def test_whole_day_and_shifts_typed_together_is_a_vietnamese_field_error(client, users, whole_day):
    client.force_login(users.reporter_a)
    response = _post(client, **{"v-0-raw_coal_t": "1500", "v-1-raw_coal_t": "700"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nhập chỉ tiêu này cho cả ngày hoặc theo ca" in html
    assert "shift 0" not in html and "raw_coal_t 10/03/2026" not in html
    assert 'name="v-1-raw_coal_t" value="700"' in html  # what was typed is kept
    assert _stored() == {0: Decimal("1500")}  # nothing half-written


def test_form_shows_the_day_plan_and_totals(client, users, whole_day):
    client.force_login(users.reporter_a)
    html = client.get(URL, {"unit": "A-M1-K1-F1", "date": "10/03/2026"}).content.decode()
    assert 'data-testid="entry-totals"' in html
    assert "Kế hoạch ngày" in html and "Tổng ngày" in html
    plan = html.split('data-testid="plan-raw_coal_t">')[1].split("<")[0]
    assert plan == "1.000,0"  # 365.000 t a year, by day
    total = html.split('data-testid="total-raw_coal_t">')[1].split("<")[0]
    assert total == "1.500,0"


@pytest.fixture
def gated(mines, indicator_catalogue):
    from headframe.safety import services as safety
    from tests.factories import make_user

    officer = make_user("an_toan", ("safety_officer", "A"))
    safety.campaign_create(
        actor=officer,
        code="RESTART-1",
        title_vi="Kiểm tra trước khi sản xuất trở lại",
        title_en="Restart check",
        unit_codes=["A-M1"],
        starts_on=DAY - dt.timedelta(days=2),
        due_on=DAY + dt.timedelta(days=2),
        teams={"A-M1": "Tổ kiểm tra"},
        now=timezone.make_aware(dt.datetime(2026, 3, 8, 7, 0)),
    )
    return mines


def test_position_held_by_safety_is_said_once_before_typing(client, users, gated):
    client.force_login(users.reporter_a)
    response = client.get(URL, {"unit": "A-M1-K1-F1", "date": "10/03/2026"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="entry-gate"') == 1
    assert "Không thể nhập số liệu cho vị trí này" in html and "/safety/readiness/" in html
    assert '<fieldset class="plain" disabled>' in html  # nothing to type into


def test_a_refused_post_shows_the_gate_once(client, users, gated):
    client.force_login(users.reporter_a)
    response = _post(client, **{"v-1-raw_coal_t": "700"})
    assert response.status_code == 422
    html = response.content.decode()
    assert html.count("RESTART-1") == 1
    assert not Actual.objects.exists()


def test_days_before_the_campaign_are_open(client, users, gated):
    client.force_login(users.reporter_a)
    html = client.get(URL, {"unit": "A-M1-K1-F1", "date": "01/03/2026"}).content.decode()
    assert 'data-testid="entry-gate"' not in html and "disabled" not in html
