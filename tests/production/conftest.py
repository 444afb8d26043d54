import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from headframe.production import services
from headframe.production.models import Indicator
from headframe.production.services import ActualRow
from tests.factories import make_unit

PAST = dt.datetime(2027, 12, 31, 12, 0, tzinfo=dt.UTC)  # "now" for writes: every test day is in the past


@pytest.fixture
def mines(tree):
    """tree + an open-pit site B-OP under B with a bench, so site-type rules can be exercised."""
    make_unit("B-OP", "site", "B", site_type="open_pit")
    make_unit("B-OP-CT", "area", "B-OP")
    make_unit("B-OP-CT-T1", "position", "B-OP-CT", position_kind="bench")
    return tree


@pytest.fixture
def put():
    """put(("A-M1-K1-F1", "raw_coal_t", date, shift, value), …) as the system, 'now' at the end of 2027."""

    def store(*rows, actor=None, source="api", now=PAST):
        return services.actuals_upsert(
            actor=actor,
            rows=[ActualRow(u, i, d, s, v, loc=("body", n)) for n, (u, i, d, s, v) in enumerate(rows)],
            source=source,
            now=now,
        )

    return store


def ind(code: str) -> Indicator:
    return Indicator.objects.get(code=code)


def D(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def helpers():
    return SimpleNamespace(ind=ind, D=D)


SEEDED_DAY = dt.date(2026, 3, 10)


def plan_a_m1_2026(unit_code: str = "A-M1") -> None:
    """The plan most tests start from: 365 000 t of raw coal for 2026 at A-M1 (1 000 t a day), from 1 January."""
    services.plan_version_create(
        actor=None,
        unit_code=unit_code,
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        values={"raw_coal_t": 365000},
    )


@pytest.fixture
def seeded(mines):
    """A-M1's 2026 plan (365 000 t of raw coal) and the figures of SEEDED_DAY: 700 t at A-M1, 300 t at B-M1."""
    plan_a_m1_2026()
    services.actuals_upsert(
        actor=None,
        rows=[
            services.ActualRow("A-M1-K1-F1", "raw_coal_t", SEEDED_DAY, 1, 700),
            services.ActualRow("B-M1-K1-F1", "raw_coal_t", SEEDED_DAY, 1, 300),
        ],
        source="api",
    )
    return mines
