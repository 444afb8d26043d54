"""Import of a 10,000-row workbook (target < 5 s), against the baseline of merely reading the same
workbook with openpyxl in the same run: the ratio is what validation and storage add."""

import datetime as dt
import io
import time

from openpyxl import Workbook, load_workbook

from bench.timing import report
from headframe.org.models import Unit
from headframe.production.excel import import_actuals_workbook
from headframe.production.models import Actual

ROWS = 10_000


def _workbook(units: list[Unit]) -> bytes:
    """10,000 rows of raw coal, one per underground longwall face and day, in the template's layout."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Số liệu"
    sheet.append(["Mã đơn vị", "Ngày", "Ca", "Than nguyên khai (t)\nraw_coal_t"])
    day = dt.date(2021, 1, 1)
    n = 0
    while n < ROWS:
        for unit in units:
            if n == ROWS:
                break
            sheet.append([unit.code, day, 1, f"{1000 + n % 500},5"])
            n += 1
        day += dt.timedelta(days=1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run() -> None:
    faces = list(Unit.objects.filter(position_kind="longwall_face").order_by("code"))
    content = _workbook(faces)
    started = time.perf_counter()
    rows = sum(
        1 for _ in load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True)
    )
    baseline = time.perf_counter() - started
    report(f"baseline: openpyxl reads the {rows - 1:,}-row workbook", baseline, "baseline", baseline)
    Actual.objects.filter(day__year=2021).delete()
    started = time.perf_counter()
    result = import_actuals_workbook(actor=None, file=io.BytesIO(content))
    first = time.perf_counter() - started
    report(f"import, {result.created:,} new figures (target < 5 s)", first, "baseline", baseline)
    started = time.perf_counter()
    again = import_actuals_workbook(actor=None, file=io.BytesIO(content))
    second = time.perf_counter() - started
    report(f"same file again ({again.unchanged:,} unchanged)", second, "baseline", baseline)
    print(f"  import {'meets' if first < 5 else 'MISSES'} the 5 s target ({first:.2f} s)")
