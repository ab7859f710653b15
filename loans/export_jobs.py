"""The loan export as an export job (see ``reports.jobs`` for the contract)."""

from __future__ import annotations

from django.utils import timezone

from accounts.scoping import role_of
from loans.exports import loan_export_params, write_loans
from reports.jobs import register_export


def _params(data, user) -> dict:
    return {**loan_export_params(data, user), "stamp": timezone.localdate().strftime("%Y%m%d")}


def _write(path, *, user, params, progress) -> int:
    filters = {key: value for key, value in params.items() if key != "stamp"}
    return write_loans(path, user=user, params=filters, progress=progress)


register_export(
    "loans",
    label="贷款明细",
    parse_params=_params,
    write=_write,
    filename=lambda params: f"loans-{params['stamp']}.xlsx",
    allowed=lambda user: role_of(user) is not None,
)
