"""Celery tasks of the subsidy domain: thin wrappers that call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from gonghui.inputs import parse_date
from subsidies.services.claims import create_due_claims


@shared_task(
    name="subsidies.scan_due_claims",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def scan_due_claims(as_of: str | None = None) -> int:
    """The daily scan: create the claims of loans repaid, renewed or past maturity.

    ``as_of`` is an ISO date (today in Asia/Shanghai when omitted). Safe to run twice: a
    loan that has a claim is skipped. Returns the number of claims created.
    """
    day = parse_date(as_of, field="as_of") if as_of else None
    return len(create_due_claims(as_of=day))
