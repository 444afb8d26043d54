from django import template

register = template.Library()


@register.filter
def dictget(mapping, key):
    """mapping[key] in a template (None when absent)."""
    if mapping is None:
        return None
    return mapping.get(key)
