"""Query and form parameters as people type them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import BadRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class BadParameter(BadRequest):
    """A 400 naming the query or form parameter that is wrong, the value given and the form expected (in the
    UI language): the bad-request page shows them. str() stays the English line logs and older callers read."""

    def __init__(self, field: str, value: str, expected: StrOrPromise, english: str) -> None:
        super().__init__(english)
        self.field, self.value, self.expected = field, value, expected


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
    raise BadParameter(
        field, value, _("a date as dd/mm/yyyy"), f"{field}: expected a date as dd/mm/yyyy, got {value!r}"
    )
