"""Browser forms of the quota page: the program selector and the reallocation (调剂) form."""

from django import forms
from django.db.models import QuerySet

from loans.models import Program, Unit


def default_program(units: QuerySet[Unit] | None = None) -> Program | None:
    """The latest active program giving a task to one of ``units`` (a county clerk's own
    unit, every unit for the city), else the latest active program, else the latest one."""
    active = Program.objects.filter(is_active=True)
    if units is not None:
        with_quota = active.filter(quotas__unit__in=units).distinct().first()
        if with_quota is not None:
            return with_quota
    return active.first() or Program.objects.first()


class ProgramSelectForm(forms.Form):
    program = forms.ModelChoiceField(
        Program.objects.all(), label="贷款项目", required=False, empty_label=None
    )

    def selected(self, units: QuerySet[Unit] | None = None) -> Program | None:
        """The chosen program when the input is valid, else the default one for ``units``."""
        if self.is_bound and self.is_valid() and self.cleaned_data["program"]:
            return self.cleaned_data["program"]
        return default_program(units)


class ReallocationForm(forms.Form):
    """Browser fields of a reallocation; ``record_reallocation`` applies every rule and its
    field messages are attached back to these fields."""

    from_unit = forms.ModelChoiceField(Unit.objects.all(), label="调出单位（减分）")
    to_unit = forms.ModelChoiceField(Unit.objects.all(), label="调入单位（加分）")
    amount = forms.CharField(label="调剂金额（元）", max_length=20)
    reallocated_on = forms.CharField(
        label="调剂日期", widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label="调剂原因", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, program: Program | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if program is not None:
            units = Unit.objects.filter(quotas__program=program).order_by("sort_order", "code")
            self.fields["from_unit"].queryset = units
            self.fields["to_unit"].queryset = units

    def add_service_errors(self, field_errors: dict, message: str) -> None:
        """Attach a DomainError's messages to the fields they are about."""
        if not field_errors:
            self.add_error(None, message)
            return
        for field, texts in field_errors.items():
            for text in texts:
                self.add_error(field if field in self.fields else None, text)
