"""Writes that bypass save() still leave history: the batch services move claims with
bulk_update_audited, and each move names the clerk who made it."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from accounts.choices import Role
from loans.choices import LoanStatus
from subsidies.choices import ClaimStatus
from subsidies.services.batches import approve_batch, create_batch, mark_batch_paid
from subsidies.services.claims import create_due_claims
from tests.factories import LoanFactory, make_user

pytestmark = pytest.mark.django_db


def test_each_claim_s_history_follows_its_batch_with_the_clerks(program, unit, bank, city_user):
    approver = make_user(Role.CITY_STAFF, username="city2")
    for _ in range(2):
        LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            status=LoanStatus.REPAID,
            settled_on=date(2021, 1, 5),
        )
    claims = create_due_claims(as_of=date(2021, 8, 1))
    assert len(claims) == 2
    batch = create_batch(program=program, claim_ids=[c.pk for c in claims], user=city_user)
    approve_batch(batch=batch, user=approver)
    mark_batch_paid(batch=batch, user=city_user, paid_on=timezone.localdate(), reference="PAY-1")

    for claim in claims:
        steps = list(
            claim.history.order_by("history_date", "history_id").values_list(
                "status", "batch", "history_user", "history_type"
            )
        )
        assert steps == [
            (ClaimStatus.PENDING, None, None, "+"),
            (ClaimStatus.BATCHED, batch.pk, city_user.pk, "~"),
            (ClaimStatus.APPROVED, batch.pk, approver.pk, "~"),
            (ClaimStatus.PAID, batch.pk, city_user.pk, "~"),
        ]
    batch_steps = list(
        batch.history.order_by("history_date", "history_id").values_list("status", "history_user")
    )
    assert [user for _, user in batch_steps] == [city_user.pk, approver.pk, city_user.pk]
