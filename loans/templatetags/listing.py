"""Template tags of the list pages."""

from django import template

register = template.Library()


@register.inclusion_tag("includes/query_inputs.html", takes_context=True)
def query_inputs(context, *exclude: str) -> dict:
    """The page's GET parameters as hidden inputs, but those named in ``exclude``: a form
    posted from a list (an export) carries the list's filters.

    ``{% query_inputs "page" "sort" %}``
    """
    return {
        "params": [
            (key, values) for key, values in context["request"].GET.lists() if key not in exclude
        ]
    }
