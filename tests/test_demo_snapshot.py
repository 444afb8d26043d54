"""The demo copied back (tests/demo_snapshot.py) is the demo as loaded: every table, row for row."""

import hashlib

from django.db import connection, transaction

from tests.demo_snapshot import _captures, _tables, demo_database


def _fingerprint() -> dict[str, tuple[int, str]]:
    """Per table: its row count and a digest of its rows in sorted order, as the ORM's driver returns them."""
    found = {}
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            found[table] = (len(rows), digest)
    return found


def _in_rolled_back_transaction(work):
    with transaction.atomic():
        result = work()
        transaction.set_rollback(True)
    return result


def test_the_copied_demo_is_the_loaded_demo_row_for_row(db):
    _captures.clear()  # so that the first call loads the demo, even after another module had it copied
    loaded = _in_rolled_back_transaction(lambda: (demo_database(), _fingerprint())[1])
    copied = _in_rolled_back_transaction(lambda: (demo_database(), _fingerprint())[1])
    assert sum(rows for rows, _ in loaded.values()) > 10_000  # the demo, not an empty database
    assert copied == loaded
    # and the rollback of the transaction it was put in takes all of it away again
    from headframe.org.models import Unit

    assert not Unit.objects.filter(code="HFG").exists()
