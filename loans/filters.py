"""Filters of the application and loan lists, shared by the portal pages and the API.

A whole resident ID must not travel in a URL (browser history, proxy and gunicorn access logs)
or sit in an export job's stored params. The pages therefore swap it, before it is ever put in
a URL, for ``idh``: its keyed hash (gonghui/pii.py), which is what ``id_number_hash`` holds and
which says nothing without ``PII_HASH_KEY``. See :func:`hide_resident_id` and
``loans.views.search``.
"""

import re

import django_filters
from django import forms
from django.db.models import Q

from gonghui.errors import DomainError
from gonghui.filters import QuickSelect, ReferenceChoiceFilter
from gonghui.pii import keyed_hash
from loans.choices import ApplicationChannel, ApplicationStatus, FounderClass, LoanStatus, LoanType
from loans.models import Application, Bank, Loan, Program, Unit

RESIDENT_ID_LENGTH = 18
ID_HASH_PARAM = "idh"
ID_HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
SEARCH_HELP = (
    "姓名、企业名称，或身份证号：输入完整18位精确查找；不足18位时只比对最后4位"
    "（如输入“123456”即查找身份证号以“3456”结尾的申请人）"
)

SORTS = {
    "applied_on": "applied_on",
    "-applied_on": "-applied_on",
    "amount": "amount",
    "-amount": "-amount",
    "status": "status",
    "unit": "unit__sort_order",
    "reference": "reference",
}


def whole_resident_id(value: str | None) -> str | None:
    """*value* normalised (stripped, ``x`` → ``X``) if it is shaped like a whole resident ID."""
    text = (value or "").strip().upper()
    if len(text) == RESIDENT_ID_LENGTH and text.isascii() and text.replace("X", "").isdigit():
        return text
    return None


def hide_resident_id(data):
    """A copy of list query *data* (a QueryDict or a dict) with a whole resident ID in ``q``
    replaced by ``idh``, its keyed hash; ``None`` when ``q`` holds no whole ID.

    Any 18 characters shaped like an ID count, check digit or not: a mistyped ID is personal
    data too. So an 18-digit contract number typed whole on the loan list is taken for an ID;
    any shorter part of it still finds the contract."""
    id_number = whole_resident_id(data.get("q"))
    if id_number is None:
        return None
    hidden = data.copy()
    hidden.pop("q")
    hidden[ID_HASH_PARAM] = keyed_hash(id_number)
    return hidden


def clean_id_hash(value) -> str:
    """An ``idh`` value as stored in ``id_number_hash`` (stripped, lower case); "" when blank.

    Raises DomainError (field ``idh``) for a value that is no such hash."""
    text = str(value or "").strip().lower()
    if text and not ID_HASH_PATTERN.fullmatch(text):
        raise DomainError.for_field(
            ID_HASH_PARAM, "id_hash_invalid", "身份证号查询条件无效，请重新输入身份证号查询"
        )
    return text


def by_id_hash(queryset, value: str, *, field: str = "applicant__id_number_hash"):
    """The rows whose ``field`` (an applicant's ``id_number_hash``) is *value*, an ``idh``
    token; a value that is no such hash matches nothing."""
    try:
        value = clean_id_hash(value)
    except DomainError:
        return queryset.none()
    return queryset.filter(**{field: value}) if value else queryset.none()


def search_people(queryset, value: str, *, prefix: str = ""):
    """Name of the applicant or enterprise, or the resident ID: a whole ID exactly (by its
    keyed hash), a shorter run of at least 4 digits by its last 4 only (see SEARCH_HELP)."""
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


def _id_hash_filter() -> django_filters.CharFilter:
    return django_filters.CharFilter(
        method="filter_idh",
        label="身份证号（已转为摘要）",
        help_text="完整身份证号的摘要，由列表页自动生成；网址中不出现身份证号",
        widget=forms.HiddenInput,
    )


class ApplicationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="搜索", help_text=SEARCH_HELP)
    idh = _id_hash_filter()
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

    def filter_idh(self, queryset, name, value):
        return by_id_hash(queryset, value)


class LoanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label="搜索", help_text=f"合同编号、{SEARCH_HELP}"
    )
    idh = _id_hash_filter()
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

    def filter_idh(self, queryset, name, value):
        return by_id_hash(queryset, value, field="application__applicant__id_number_hash")
