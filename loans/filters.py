"""Filters of the application and loan lists, shared by the portal pages and the API."""

import django_filters
from django.db.models import Q

from gonghui.filters import QuickSelect, ReferenceChoiceFilter
from gonghui.pii import keyed_hash
from loans.choices import ApplicationChannel, ApplicationStatus, FounderClass, LoanStatus, LoanType
from loans.models import Application, Bank, Loan, Program, Unit

RESIDENT_ID_LENGTH = 18

SORTS = {
    "applied_on": "applied_on",
    "-applied_on": "-applied_on",
    "amount": "amount",
    "-amount": "-amount",
    "status": "status",
    "unit": "unit__sort_order",
    "reference": "reference",
}


def search_people(queryset, value: str, *, prefix: str = ""):
    """Name of the applicant or enterprise, or the last digits of the resident ID."""
    value = value.strip()
    if not value:
        return queryset
    condition = Q(**{f"{prefix}applicant__name__icontains": value}) | Q(
        **{f"{prefix}enterprise__name__icontains": value}
    )
    if value.isascii() and value.replace("X", "").replace("x", "").isdigit() and len(value) >= 4:
        # The ID is stored encrypted: a whole ID is found by its keyed hash, anything shorter
        # by its last four characters (a longer tail is matched on those four only).
        value = value.upper()
        if len(value) == RESIDENT_ID_LENGTH:
            condition |= Q(**{f"{prefix}applicant__id_number_hash": keyed_hash(value)})
        else:
            condition |= Q(**{f"{prefix}applicant__id_tail": value[-4:]})
    return queryset.filter(condition)


class ApplicationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索")
    program = ReferenceChoiceFilter(
        queryset=Program.objects.all(), label="贷款项目", empty_label="全部"
    )
    unit = ReferenceChoiceFilter(queryset=Unit.objects.all(), label="单位", empty_label="全部")
    status = django_filters.ChoiceFilter(
        choices=ApplicationStatus.choices, label="状态", empty_label="全部", widget=QuickSelect
    )
    channel = django_filters.ChoiceFilter(
        choices=ApplicationChannel.choices, label="申报方式", empty_label="全部", widget=QuickSelect
    )
    founder_class = django_filters.ChoiceFilter(
        field_name="applicant__founder_class",
        choices=FounderClass.choices,
        label="创业人员类型",
        empty_label="全部",
        widget=QuickSelect,
    )
    bank = ReferenceChoiceFilter(queryset=Bank.objects.all(), label="合作银行", empty_label="全部")
    applied_from = django_filters.DateFilter(
        field_name="applied_on", lookup_expr="gte", label="申请日期自"
    )
    applied_to = django_filters.DateFilter(field_name="applied_on", lookup_expr="lte", label="至")

    class Meta:
        model = Application
        fields = ["q", "program", "unit", "status", "channel", "founder_class", "bank"]

    def filter_q(self, queryset, name, value):
        return search_people(queryset, value)


class LoanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索")
    program = ReferenceChoiceFilter(
        queryset=Program.objects.all(), label="贷款项目", empty_label="全部"
    )
    unit = ReferenceChoiceFilter(queryset=Unit.objects.all(), label="单位", empty_label="全部")
    bank = ReferenceChoiceFilter(queryset=Bank.objects.all(), label="合作银行", empty_label="全部")
    status = django_filters.ChoiceFilter(
        choices=LoanStatus.choices, label="状态", empty_label="全部", widget=QuickSelect
    )
    loan_type = django_filters.ChoiceFilter(
        choices=LoanType.choices, label="贷款类型", empty_label="全部", widget=QuickSelect
    )
    disbursed_from = django_filters.DateFilter(
        field_name="disbursed_on", lookup_expr="gte", label="放款日期自"
    )
    disbursed_to = django_filters.DateFilter(
        field_name="disbursed_on", lookup_expr="lte", label="至"
    )

    class Meta:
        model = Loan
        fields = ["q", "program", "unit", "bank", "status", "loan_type"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return search_people(queryset, value, prefix="application__") | queryset.filter(
            contract_number__icontains=value
        )
