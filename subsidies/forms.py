"""Browser forms of the subsidy pages.

The ledger's filter form only draws the inputs: ``subsidies.selectors.claim_ledger`` parses
and checks every filter, and its field messages are attached back to these fields, so a
filter is validated the same way on the page, in the download and in the API.
"""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from loans.choices import LoanType
from loans.models import Bank, Program, Unit
from subsidies.choices import ClaimStatus

LEDGER_FILTERS = ("program", "unit", "bank", "status", "loan_type", "end_from", "end_to", "q")
# Filters taken from links (a batch page's download) without an input on the form.
HIDDEN_FILTERS = ("batch",)

_DATE = forms.DateInput(attrs={"type": "date"})


def _choices(rows, blank: str = "全部") -> list[tuple[str, str]]:
    return [("", blank), *((str(row.pk), str(row)) for row in rows)]


class ServiceErrorsMixin:
    def add_service_errors(self, field_errors: dict, message: str) -> None:
        """Attach a DomainError's messages to the fields they are about."""
        if not field_errors:
            self.add_error(None, message)
            return
        for field, texts in field_errors.items():
            for text in texts:
                self.add_error(field if field in self.fields else None, text)


class LedgerFilterForm(ServiceErrorsMixin, forms.Form):
    """The ledger's filters, drawn as selects and date inputs but kept as raw text."""

    program = forms.CharField(label="贷款项目", required=False)
    unit = forms.CharField(label="单位", required=False)
    bank = forms.CharField(label="合作银行", required=False)
    status = forms.CharField(
        label="状态",
        required=False,
        widget=forms.Select(choices=[("", "全部"), *ClaimStatus.choices]),
    )
    loan_type = forms.CharField(
        label="贷款类型",
        required=False,
        widget=forms.Select(choices=[("", "全部"), *LoanType.choices]),
    )
    end_from = forms.CharField(label="计息截止日自", required=False, widget=_DATE)
    end_to = forms.CharField(label="至", required=False, widget=_DATE)
    q = forms.CharField(
        label="搜索",
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "合同编号或借款人"}),
    )

    def __init__(
        self,
        *args,
        units: QuerySet[Unit] | None = None,
        banks: QuerySet[Bank] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        units = units if units is not None else Unit.objects.all()
        banks = banks if banks is not None else Bank.objects.all()
        self.fields["program"].widget = forms.Select(choices=_choices(Program.objects.all()))
        self.fields["unit"].widget = forms.Select(choices=_choices(units))
        self.fields["bank"].widget = forms.Select(choices=_choices(banks))

    def filters(self) -> dict[str, str]:
        """The raw filter values for ``claim_ledger`` (blank ones left out)."""
        data = self.data if self.is_bound else {}
        names = (*LEDGER_FILTERS, *HIDDEN_FILTERS)
        return {name: data.get(name, "").strip() for name in names if data.get(name)}


class BatchPaymentForm(ServiceErrorsMixin, forms.Form):
    """Date and reference of a batch's payment; ``mark_batch_paid`` checks both."""

    paid_on = forms.CharField(label="支付日期", widget=_DATE)
    payment_reference = forms.CharField(label="支付凭证号", max_length=64)
