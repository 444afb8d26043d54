"""SQLite keeps raw readings and their aggregates in WITHOUT ROWID tables clustered on their key (migration
0011): one B-tree per reading instead of two. Django rebuilds a SQLite table from its model when a migration
alters it, without WITHOUT ROWID; the first test fails then, so that the rebuild is redone there."""

from __future__ import annotations

import importlib
import time
from types import SimpleNamespace

import pytest
from django.db import connection

from headframe.telemetry.services import ingestion

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="WITHOUT ROWID is SQLite's"),
]
migration = importlib.import_module("headframe.telemetry.migrations.0011_sqlite_without_rowid")


def _create_sql(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
        return cursor.fetchone()[0]


def _rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sensor_id, ts, value FROM {table} ORDER BY sensor_id, ts")
        return cursor.fetchall()


@pytest.mark.parametrize("table", migration.TABLES)
def test_the_migrated_tables_have_no_rowid(table):
    assert _create_sql(table).endswith("WITHOUT ROWID")


def test_the_rebuild_keeps_every_row_both_ways(mine):
    editor = SimpleNamespace(connection=connection)
    sid = mine.ch4.id
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO telemetry_reading (sensor_id, ts, value) VALUES (%s, %s, %s)",
            [(sid, 1_000 * n, n / 10) for n in range(500, 0, -1)],  # not in key order
        )
    before = _rows("telemetry_reading")
    migration._rebuild(editor, "telemetry_reading", without_rowid=False)
    assert not _create_sql("telemetry_reading").endswith("WITHOUT ROWID")
    assert _rows("telemetry_reading") == before
    migration._rebuild(editor, "telemetry_reading", without_rowid=True)
    migration._rebuild(editor, "telemetry_reading", without_rowid=True)  # a second run changes nothing
    assert _create_sql("telemetry_reading").endswith("WITHOUT ROWID")
    assert _rows("telemetry_reading") == before


def test_pruning_goes_sensor_by_sensor_along_the_key_and_resumes_where_its_budget_ran_out(mine, monkeypatch):
    monkeypatch.setattr(ingestion, "PRUNE_CHUNK", 2)
    monkeypatch.setattr(ingestion, "_prune_resume", {})
    sensors = [mine.ch4.id, mine.co.id, mine.o2.id]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO telemetry_reading (sensor_id, ts, value) VALUES (%s, %s, %s)",
            [(sid, 1_000 * n, 1.0) for sid in sensors for n in range(1, 11)],
        )
    pruned = {"raw": 0}
    # A budget already spent: one chunk (2 rows of the first sensor), then it stops and says so.
    assert ingestion._prune_along_key("raw", 5_500, time.monotonic() - 1, pruned) is False
    assert pruned["raw"] == 2
    # The next call goes on from there, round to the first sensor, and finishes.
    assert ingestion._prune_along_key("raw", 5_500, None, pruned) is True
    assert pruned["raw"] == 3 * 5
    left = _rows("telemetry_reading")
    assert left == [(sid, 1_000 * n, 1.0) for sid in sorted(sensors) for n in range(6, 11)]


def test_the_prune_seeks_the_key_and_never_scans_the_table(mine):
    with connection.cursor() as cursor:
        for sql in (
            "SELECT MIN(sensor_id) FROM telemetry_reading WHERE sensor_id >= 1",
            "DELETE FROM telemetry_reading WHERE sensor_id = 1 AND ts IN "
            "(SELECT ts FROM telemetry_reading WHERE sensor_id = 1 AND ts < 5 ORDER BY ts LIMIT 2)",
        ):
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "SEARCH" in plan and "SCAN telemetry_reading" not in plan, plan
