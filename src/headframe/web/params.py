"""Query and form parameters as people type them."""

import datetime as dt

from django.core.exceptions import BadRequest


def parse_day(value: str | None, field: str) -> dt.date | None:
    """dd/mm/yyyy as people type it (ISO yyyy-mm-dd also accepted, for links); None when empty.
    Anything else is a 400 naming the field."""
    if not value:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise BadRequest(f"{field}: expected a date as dd/mm/yyyy, got {value!r}")
