"""QuickSelect renders exactly what Django's Select templates render, faster."""

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from gonghui.filters import QuickSelect, ReferenceChoiceFilter
from loans.filters import ApplicationFilter, LoanFilter
from loans.models import Unit

CHOICES = [
    ("", "全部"),
    (1, "修水县"),
    ("a&b", 'R&D <"实验">'),
    ("safe", mark_safe("<b>已转义</b>")),
    ("lazy", gettext_lazy("Yes")),
]
GROUPED = [("", "全部"), ("一组", [(1, "甲"), (2, "乙")]), ("<二组>", [(3, "丙")]), (4, "丁")]


@pytest.mark.parametrize("choices", [CHOICES, GROUPED, []])
@pytest.mark.parametrize("value", [None, "", "1", "a&b", 3, "missing"])
@pytest.mark.parametrize(
    "attrs",
    [
        None,
        {"id": "id_unit"},
        {"id": "id_x", "required": True, "disabled": False, "data-note": 'a"<b>'},
    ],
)
def test_quick_select_renders_what_the_django_templates_render(choices, value, attrs):
    django = forms.Select(choices=choices, attrs={"class": "narrow"})
    quick = QuickSelect(choices=choices, attrs={"class": "narrow"})
    assert quick.render("unit", value, attrs) == django.render("unit", value, attrs)


def test_multiple_selected_values_render_alike():
    django = forms.SelectMultiple(choices=CHOICES)
    quick = type("QuickSelectMultiple", (QuickSelect, forms.SelectMultiple), {})(choices=CHOICES)
    assert quick.render("x", ["1", "a&b"]) == django.render("x", ["1", "a&b"])


@pytest.mark.django_db
@pytest.mark.parametrize("filterset_class", [ApplicationFilter, LoanFilter])
def test_filter_bars_render_their_selects_alike(filterset_class, unit, other_unit, program, bank):
    filterset = filterset_class({"unit": str(unit.pk), "status": "bogus"})
    form = filterset.form
    selects = [
        name for name, field in form.fields.items() if isinstance(field.widget, forms.Select)
    ]
    assert selects, "the filter bar has selects"
    for name in selects:
        bound = form[name]
        field = form.fields[name]
        assert isinstance(field.widget, QuickSelect), name
        plain = forms.Select(choices=list(field.widget.choices), attrs=field.widget.attrs)
        assert str(bound) == bound.as_widget(widget=plain)
    assert filterset_class.base_filters["unit"].__class__ is ReferenceChoiceFilter


@pytest.mark.django_db
def test_reference_choices_are_read_once_per_form(unit, other_unit, django_assert_num_queries):
    form = LoanFilter({}, queryset=None).form
    with django_assert_num_queries(1):
        first, second = str(form["unit"]), str(form["unit"])
    assert first == second
    assert all(f">{u.name}</option>" in first for u in Unit.objects.all())
