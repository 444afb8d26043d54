import datetime as dt

from django import template
from django.utils import timezone

from headframe.core.formatting import format_number_in_language

register = template.Library()


@register.filter
def number(value, decimals=0):
    """Thousands-grouped number in the active language (1.234.567,8 in Vietnamese, 1,234,567.8 in English)."""
    return format_number_in_language(value, decimals)


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
