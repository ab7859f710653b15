"""Payment batches: city staff make them from pending claims of one program, another city
clerk approves (never the maker), they are paid with a date and a reference, and a paid claim
never changes."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from gonghui.errors import DomainError
from subsidies.choices import BatchStatus, ClaimStatus
from subsidies.models import PaymentBatch, SubsidyClaim
from subsidies.services.batches import approve_batch, create_batch, mark_batch_paid
from subsidies.services.claims import create_claim_for_loan
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def claims(pending_claims):
    return pending_claims(3)


@pytest.fixture
def batch(program, claims, city_user):
    return create_batch(program=program, claim_ids=[c.pk for c in claims], user=city_user)


def _statuses(claims):
    return {c.status for c in SubsidyClaim.objects.filter(pk__in=[c.pk for c in claims])}


def test_city_staff_gather_pending_claims_into_a_draft_batch(program, claims, batch, city_user):
    assert batch.number == "TX-jgd-2020-001"
    assert (batch.status, batch.claim_count, batch.total) == (
        BatchStatus.DRAFT,
        3,
        D("52925.01"),  # 3 × 17,641.67
    )
    assert batch.created_by == city_user
    assert _statuses(claims) == {ClaimStatus.BATCHED}
    assert set(batch.claims.values_list("pk", flat=True)) == {c.pk for c in claims}


def test_batch_numbers_count_up_per_program(program, pending_claims, city_user):
    first, second = pending_claims(2)
    numbers = [
        create_batch(program=program, claim_ids=[claim.pk], user=city_user).number
        for claim in (first, second)
    ]
    assert numbers == ["TX-jgd-2020-001", "TX-jgd-2020-002"]


@pytest.mark.parametrize("role", ["county_user", "bank_user", "manager_user"])
def test_only_city_staff_make_batches(request, program, claims, role):
    user = request.getfixturevalue(role)
    with pytest.raises(DomainError) as error:
        create_batch(program=program, claim_ids=[claims[0].pk], user=user)
    assert error.value.code == "permission_denied"
    assert not PaymentBatch.objects.exists()


def test_a_claim_cannot_be_in_two_batches(program, claims, batch, city_user):
    with pytest.raises(DomainError) as error:
        create_batch(program=program, claim_ids=[claims[0].pk], user=city_user)
    assert "已纳入其他批次" in error.value.field_errors["claim_ids"][0]
    assert PaymentBatch.objects.count() == 1


def test_claims_of_another_program_or_unknown_ids_are_refused(
    program, claims, make_loan, city_user
):
    other_program = ProgramFactory(code="jgd-2021", year=2021)
    other = create_claim_for_loan(loan=make_loan(program=other_program), as_of=date(2021, 8, 1))
    with pytest.raises(DomainError) as error:
        create_batch(program=program, claim_ids=[claims[0].pk, other.pk, 999999], user=city_user)
    messages = " ".join(error.value.field_errors["claim_ids"])
    assert "999999" in messages and "不属于" in messages
    assert _statuses([claims[0], other]) == {ClaimStatus.PENDING}


@pytest.mark.parametrize("claim_ids", [[], None, ["abc"], [1.5]])
def test_bad_claim_ids_are_a_field_error(program, city_user, claim_ids):
    with pytest.raises(DomainError) as error:
        create_batch(program=program, claim_ids=claim_ids, user=city_user)
    assert "claim_ids" in error.value.field_errors


# --- approval: four eyes ----------------------------------------------------------------------


def test_the_maker_cannot_approve_their_own_batch(batch, city_user, claims):
    with pytest.raises(DomainError) as error:
        approve_batch(batch=batch, user=city_user)
    assert error.value.code == "maker_cannot_approve"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT
    assert _statuses(claims) == {ClaimStatus.BATCHED}


def test_the_database_refuses_an_approver_equal_to_the_maker(batch, city_user):
    batch.status = BatchStatus.APPROVED
    batch.approved_by = city_user
    batch.approved_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        batch.save()


def test_another_city_clerk_approves(batch, other_city_user, claims):
    approved = approve_batch(batch=batch, user=other_city_user)
    assert (approved.status, approved.approved_by) == (BatchStatus.APPROVED, other_city_user)
    assert approved.approved_at is not None
    assert _statuses(claims) == {ClaimStatus.APPROVED}
    with pytest.raises(DomainError) as error:
        approve_batch(batch=batch, user=other_city_user)
    assert error.value.code == "batch_not_draft"


@pytest.mark.parametrize("role", ["county_user", "bank_user", "manager_user"])
def test_only_city_staff_approve(request, batch, role):
    with pytest.raises(DomainError) as error:
        approve_batch(batch=batch, user=request.getfixturevalue(role))
    assert error.value.code == "permission_denied"


# --- payment ----------------------------------------------------------------------------------


@pytest.fixture
def approved(batch, other_city_user):
    return approve_batch(batch=batch, user=other_city_user)


def test_an_approved_batch_is_marked_paid_with_date_and_reference(approved, city_user, claims):
    today = timezone.localdate()
    paid = mark_batch_paid(batch=approved, user=city_user, paid_on=today, reference=" FK-001 ")
    assert (paid.status, paid.paid_on, paid.payment_reference, paid.paid_by) == (
        BatchStatus.PAID,
        today,
        "FK-001",
        city_user,
    )
    assert _statuses(claims) == {ClaimStatus.PAID}
    with pytest.raises(DomainError) as error:
        mark_batch_paid(batch=paid, user=city_user, paid_on=today, reference="FK-002")
    assert error.value.code == "batch_already_paid"


def test_a_draft_batch_cannot_be_paid(batch, city_user):
    with pytest.raises(DomainError) as error:
        mark_batch_paid(batch=batch, user=city_user, paid_on=timezone.localdate(), reference="X")
    assert error.value.code == "batch_not_approved"


@pytest.mark.parametrize(
    ("field", "paid_on", "reference"),
    [
        ("paid_on", "2020-13-01", "FK-1"),
        ("paid_on", None, "FK-1"),
        ("paid_on", "tomorrow", "FK-1"),
        ("paid_on", "before-approval", "FK-1"),
        ("payment_reference", "today", "   "),
        ("payment_reference", "today", "x" * 65),
    ],
)
def test_bad_payment_input_is_a_field_error(approved, city_user, field, paid_on, reference):
    today = timezone.localdate()
    paid_on = {
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "before-approval": timezone.localdate(approved.approved_at) - timedelta(days=1),
    }.get(paid_on, paid_on)
    with pytest.raises(DomainError) as error:
        mark_batch_paid(batch=approved, user=city_user, paid_on=paid_on, reference=reference)
    assert field in error.value.field_errors
    approved.refresh_from_db()
    assert approved.status == BatchStatus.APPROVED


def test_only_city_staff_record_payment(approved, manager_user):
    with pytest.raises(DomainError) as error:
        mark_batch_paid(
            batch=approved, user=manager_user, paid_on=timezone.localdate(), reference="FK-1"
        )
    assert error.value.code == "permission_denied"


# --- a paid claim never changes ---------------------------------------------------------------


@pytest.fixture
def paid_claim(approved, city_user, claims):
    mark_batch_paid(batch=approved, user=city_user, paid_on=timezone.localdate(), reference="FK")
    return SubsidyClaim.objects.get(pk=claims[0].pk)


def test_a_paid_claim_cannot_be_saved_or_deleted(paid_claim):
    paid_claim.amount = D("1.00")
    with pytest.raises(DomainError) as error:
        paid_claim.save()
    assert error.value.code == "claim_paid_locked"
    with pytest.raises(DomainError):
        paid_claim.delete()
    assert SubsidyClaim.objects.get(pk=paid_claim.pk).amount == D("17641.67")


def test_recomputing_a_paid_claim_returns_it_unchanged(paid_claim):
    again = create_claim_for_loan(loan=paid_claim.loan, as_of=date(2030, 1, 1))
    assert (again.pk, again.status, again.amount) == (
        paid_claim.pk,
        ClaimStatus.PAID,
        D("17641.67"),
    )


def test_a_paid_claim_cannot_go_into_a_new_batch(program, paid_claim, city_user):
    with pytest.raises(DomainError):
        create_batch(program=program, claim_ids=[paid_claim.pk], user=city_user)


def test_the_database_keeps_status_and_batch_consistent(claims):
    claim = claims[0]
    claim.status = ClaimStatus.PAID  # paid without a batch
    with pytest.raises(IntegrityError), transaction.atomic():
        claim.save()
