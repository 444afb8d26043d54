"""SQLite: raw readings and their aggregates become WITHOUT ROWID tables (PostgreSQL: nothing to do).

Their key, (sensor, ts) and (sensor, step, bucket), was a second B-tree beside the rowid table: every reading went
into two trees and every flush dirtied the pages of both. Clustered on the key, a reading is written once and an
aggregate upsert finds its row in one lookup (the ingest benchmark: ~1,5× less time inserting and committing,
and a table less than half the size). The rows are copied in key order into the new table, which then takes the
old one's name; on a large database this takes a while, once.

Django rebuilds a SQLite table from its model to alter it, without WITHOUT ROWID: tests/telemetry/
test_sqlite_tables.py fails if a later migration does so, so that the rebuild is redone there.
"""

from django.db import migrations

TABLES = ("telemetry_reading", "telemetry_readingaggregate")
SUFFIX = " WITHOUT ROWID"


def _rebuild(schema_editor, table: str, without_rowid: bool) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
        row = cursor.fetchone()
        if row is None:
            return
        create = row[0].rstrip()
        if create.upper().endswith(SUFFIX) == without_rowid:
            return  # already so
        create = create + SUFFIX if without_rowid else create[: -len(SUFFIX)]
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        indexes = [(name, sql) for name, sql in cursor.fetchall() if sql]  # autoindexes have no SQL
        staging = f"{table}__rebuilt"
        cursor.execute(f'DROP TABLE IF EXISTS "{staging}"')
        cursor.execute(create.replace(f'CREATE TABLE "{table}"', f'CREATE TABLE "{staging}"', 1))
        cursor.execute(f'PRAGMA table_info("{table}")')
        info = cursor.fetchall()  # (cid, name, type, notnull, default, position in the primary key)
        columns = ", ".join(f'"{c[1]}"' for c in info)
        order = ", ".join(f'"{c[1]}"' for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
        cursor.execute(f'INSERT INTO "{staging}" ({columns}) SELECT {columns} FROM "{table}" ORDER BY {order}')
        cursor.execute(f'DROP TABLE "{table}"')
        cursor.execute(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
        for _name, sql in indexes:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    for table in TABLES:
        _rebuild(schema_editor, table, without_rowid=True)


def backwards(apps, schema_editor):
    for table in TABLES:
        _rebuild(schema_editor, table, without_rowid=False)


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0010_quarantine_unchecked")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
