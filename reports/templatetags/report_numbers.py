from django import template

from gonghui.money import to_wan

register = template.Library()


@register.filter
def wan(value):
    """An amount in 元 shown in 万元 with two places, as the statistics forms are kept."""
    if value is None or value == "":
        return ""
    return f"{to_wan(value):,.2f}"
