"""SQLite keeps raw readings and their aggregates in WITHOUT ROWID tables clustered on their key (migration
0011): one B-tree per reading instead of two. Django rebuilds a SQLite table from its model when a migration
alters it, without WITHOUT ROWID; the first test fails then, so that the rebuild is redone there."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from headframe.telemetry.services.ingestion import prune_chunk_sql

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


def test_pruning_deletes_by_key(mine):
    sid = mine.ch4.id
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO telemetry_reading (sensor_id, ts, value) VALUES (%s, %s, %s)",
            [(sid, 1_000 * n, 1.0) for n in range(1, 11)],
        )
        cursor.execute(prune_chunk_sql("raw"), [5_500])
        assert cursor.rowcount == 5
    assert [ts for s, ts, _v in _rows("telemetry_reading") if s == sid] == [
        6_000,
        7_000,
        8_000,
        9_000,
        10_000,
    ]
