"""Two disbursements racing for one application create exactly one loan."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import LoanType, ReviewChannel
from loans.models import Loan
from tests.api.conftest import API, DISBURSEMENT, post, token_client
from tests.factories import ApplicationFactory


@pytest.mark.django_db(transaction=True)
def test_two_racing_disbursements_create_one_loan(program, unit, bank, bank_user):
    application = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        channel=C.BANK_REFERRAL,
        status=S.BANK_APPROVED,
        amount=Decimal("300000.00"),
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.GUARANTEED,
        approved_amount=Decimal("300000.00"),
        approved_rate=Decimal("5.80"),
        decided_at=timezone.now(),
    )
    clients = [token_client(bank_user), token_client(bank_user)]
    bodies = [
        {**DISBURSEMENT, "application": application.pk, "contract_number": f"RACE-{n}"}
        for n in range(2)
    ]
    statuses: list[int] = []

    def disburse(n: int, barrier: threading.Barrier | None) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            statuses.append(post(clients[n], f"{API}/loans/", bodies[n]).status_code)
        finally:
            if barrier is not None:
                connection.close()

    if connection.vendor == "postgresql":
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=disburse, args=(n, barrier)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    else:
        # SQLite serialises writers: the same two requests, one after the other.
        for n in range(2):
            disburse(n, None)

    assert sorted(statuses) == [201, 409]
    assert Loan.objects.filter(application=application).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_duplicates_with_one_key_have_one_effect(program, unit, bank_user):
    from loans.models import Application
    from tests.api.conftest import application_payload

    clients = [token_client(bank_user), token_client(bank_user)]
    payload = application_payload(program, unit)
    results: list[tuple[int, dict]] = []

    def create(n: int, barrier: threading.Barrier | None) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            response = post(clients[n], f"{API}/applications/", payload, key="dup-1")
            results.append((response.status_code, response.json()))
        finally:
            if barrier is not None:
                connection.close()

    if connection.vendor == "postgresql":
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=create, args=(n, barrier)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    else:
        for n in range(2):
            create(n, None)

    statuses = sorted(status for status, _body in results)
    assert statuses in ([201, 201], [201, 409])
    assert Application.objects.count() == 1
