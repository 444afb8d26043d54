"""Two writers of the same unit at once (two shift foremen, or an import during a form save): totals are
recomputed from what a transaction sees, so the writers must take turns. SQLite serialises writers by
itself; on PostgreSQL the actuals service locks the units it writes."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from headframe.production import services
from headframe.production.models import DailyTotal, MonthlyTotal
from tests.production.conftest import D

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite allows one writer at a time anyway"
)


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_unit_take_turns(indicator_catalogue, mines, put, monkeypatch):
    inside = threading.Event()
    original = services.refresh_totals

    def slow_first(keys):
        if not inside.is_set():
            inside.set()
            time.sleep(1.0)  # the first writer holds its transaction open while the second arrives
        return original(keys)

    monkeypatch.setattr(services.actuals, "refresh_totals", slow_first)  # where actuals_upsert looks it up
    finished, errors = [], []

    def write(name, shift, value):
        try:
            put(("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 5, 5), shift, value))
            finished.append(name)
        except Exception as exc:  # reported below; a thread cannot raise into the test
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=write, args=("first", 1, 100))
    first.start()
    assert inside.wait(10), errors
    second = threading.Thread(target=write, args=("second", 2, 50))
    second.start()
    first.join(20)
    second.join(20)
    assert not errors, errors
    assert finished == ["first", "second"]  # the second waited for the first to commit
    assert DailyTotal.objects.get().value == D(150)
    month = MonthlyTotal.objects.get()
    assert (month.value_sum, month.day_count) == (D(150), 1)
