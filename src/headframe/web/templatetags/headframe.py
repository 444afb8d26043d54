from django import template
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
