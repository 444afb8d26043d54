"""What the workforce pages share: an error item as a line a person reads (naming the workbook's row and column),
the day a page is asked for."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.errors import ErrorItem
from headframe.core.params import BadParameter, parse_day


def located(item: ErrorItem) -> str:
    """ "Dòng 3, day: …" for a cell of an imported workbook; the message alone otherwise."""
    loc = tuple(item.loc)
    if len(loc) >= 3 and loc[0] == "row":
        return _("Row %(row)s, %(column)s: ") % {"row": loc[1], "column": loc[2]} + item.text
    return item.text


def day_asked(request, name: str) -> dt.date:
    """The day a page's query parameter `name` asks for (dd/mm/yyyy, or ISO in links); today when none. A day
    that cannot be read is said so on the page, and today's is shown instead."""
    text = request.GET.get(name, "")
    try:
        return parse_day(text, name) or timezone.localdate()
    except BadParameter:
        messages.error(request, _("Not a date (dd/mm/yyyy): %(value)s") % {"value": text})
        return timezone.localdate()
