import datetime as dt

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from headframe.core.formatting import format_number

register = template.Library()


@register.filter
def number(value, decimals=0):
    """Thousands-grouped number in the active language (1.234.567,8 in Vietnamese, 1,234,567.8 in English)."""
    if value is None or value == "":
        return ""
    if (get_language() or "vi").startswith("en"):
        return format_number(value, int(decimals), thousands=",", decimal_sep=".")
    return format_number(value, int(decimals))


@register.filter
def local_time(value):
    """An ISO-8601 time with offset (as JSON documents such as the frozen pack keep it) as a local datetime,
    for `|date:"d/m/Y H:i"`; a datetime is converted too."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return timezone.localtime(value) if timezone.is_aware(value) else value
