"""PostgreSQL statements over whole arrays (`unnest`), with the arrays sent in binary.

Django's psycopg cursors bind parameters on the client: a list of numbers becomes an `ARRAY[...]` text literal,
written element by element in Python and parsed again by the server. An ingest flush hands the aggregate upsert
and the live-state update arrays of 10 000-100 000 elements, where that was about half of what the flush cost on
PostgreSQL. A server-bound cursor with binary parameters (`%b`) packs them in psycopg's C dumpers: 60 000 rows of
(bigint, float8, varchar) went from 447 to 177 ms here.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from django.db import connection


def execute_arrays(sql: str, params: Sequence[object]) -> None:
    """Run `sql` (with `%s` placeholders) on the default connection, in its transaction, with every parameter
    sent in binary. Errors come out as Django's database errors, as from any other query."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql.replace("%s", "%b"), params)
