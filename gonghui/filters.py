"""The filter bar of a list page: selects that cost little to render, shared by the FilterSets.

A list page's filter bar (six selects, about sixty options) cost as much as the table of fifty
rows below it, for two reasons fixed here:

* :class:`QuickSelect` is Django's ``Select`` with the same HTML built in Python. Django renders
  a select through ``select.html``, which includes ``select_option.html`` once per option; the
  output here is byte for byte what those templates give (a test renders both).
* :class:`ReferenceChoiceFilter` reads its few reference rows (programs, units, banks) with one
  plain query. Django's ``ModelChoiceIterator`` reads them with ``QuerySet.iterator()``, which on
  PostgreSQL is a server-side cursor: DECLARE, FETCH and CLOSE, three round trips per select.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django_filters.fields import ModelChoiceField, ModelChoiceIterator


def _text(value) -> str:
    """``{{ value|stringformat:'s' }}`` under autoescaping (``str`` keeps safe text safe)."""
    return conditional_escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}" + ("" if value is True else f'="{_text(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


def _label(label) -> str:
    """``{{ widget.label }}``: localized, then escaped."""
    label = localize(label)
    return conditional_escape(label if isinstance(label, str) else str(label))


class QuickSelect(forms.Select):
    """``forms.Select`` rendering its ``select.html`` and ``select_option.html`` in Python."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_label(group_name)}">')
            for option in options:
                parts.append(
                    f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                    f"{_label(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class ListedChoiceIterator(ModelChoiceIterator):
    """django-filter's choices (empty, null, then the rows) from a plain query."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        # The field's own copy of the queryset (a form deep-copies its fields): a second
        # rendering reuses the rows.
        for obj in self.queryset:
            yield self.choice(obj)


class ReferenceChoiceField(ModelChoiceField):
    iterator = ListedChoiceIterator
    widget = QuickSelect


class ReferenceChoiceFilter(django_filters.ModelChoiceFilter):
    """A ``ModelChoiceFilter`` over a small reference table, for a list page's filter bar."""

    field_class = ReferenceChoiceField
