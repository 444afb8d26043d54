"""What the workforce pages share: an error item as a line a person reads, naming the workbook's row and column."""

from __future__ import annotations

from django.utils.translation import gettext as _

from headframe.core.errors import ErrorItem


def located(item: ErrorItem) -> str:
    """ "Dòng 3, day: …" for a cell of an imported workbook; the message alone otherwise."""
    loc = tuple(item.loc)
    if len(loc) >= 3 and loc[0] == "row":
        return _("Row %(row)s, %(column)s: ") % {"row": loc[1], "column": loc[2]} + item.text
    return item.text
