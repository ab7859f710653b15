"""Export jobs of the subsidy pages (see ``reports.jobs`` for the contract): 贴息台账."""

from __future__ import annotations

from django.utils import timezone

from accounts.choices import Role
from accounts.permissions import ALL_ROLES
from accounts.scoping import profile_of, restrict, role_of
from loans.models import Bank, Unit
from reports.jobs import register_export, tracked
from subsidies.exports import ledger_workbook
from subsidies.forms import HIDDEN_FILTERS, LEDGER_FILTERS, LedgerFilterForm
from subsidies.selectors import claim_ledger, ledger_totals


def _form(data, user) -> LedgerFilterForm:
    """The ledger page's filter form, with the user's units and banks (as on the page)."""
    banks = Bank.objects.all()
    if role_of(user) == Role.BANK_OFFICER:
        profile = profile_of(user)
        banks = banks.filter(pk=profile.bank_id if profile else None)
    form = LedgerFilterForm(
        {name: data.get(name, "") for name in (*LEDGER_FILTERS, *HIDDEN_FILTERS)},
        units=restrict(Unit.objects.all(), user).order_by("sort_order", "code"),
        banks=banks,
    )
    form.is_valid()
    return form


def parse_ledger(data, user) -> dict:
    """The ledger's filters, checked by ``claim_ledger`` exactly as on the page."""
    from subsidies.views import ClaimLedgerView

    form = _form(data, user)
    filters = form.filters()
    claim_ledger(user=user, filters=filters)  # raises DomainError with field messages
    return {
        "filters": filters,
        "subtitle": ClaimLedgerView._describe(form),
        "stamp": timezone.localdate().strftime("%Y%m%d"),
    }


def write_ledger(path, *, user, params, progress) -> int:
    claims = claim_ledger(user=user, filters=params["filters"])
    totals = ledger_totals(claims)
    ledger_workbook(
        tracked(claims.iterator(chunk_size=500), progress, total=totals.count),
        totals,
        subtitle=params.get("subtitle", ""),
        target=path,
    )
    return totals.count


register_export(
    "subsidy-ledger",
    label="贴息台账",
    parse_params=parse_ledger,
    write=write_ledger,
    filename=lambda params: f"贴息台账-{params['stamp']}.xlsx",
    allowed=lambda user: role_of(user) in ALL_ROLES,
)
