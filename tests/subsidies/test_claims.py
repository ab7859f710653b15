"""Claims (贴息申请): one per loan, created when it is repaid, renewed or past maturity, with
the formula's inputs stored; the daily scan finds them in a constant number of queries.

Loans run 2020-07-10 → 2021-07-10 (365 days) offline at 5.80% unless a test says otherwise:
300,000 × 5.80% = 17,400 a year, so a full term is 17,400 × 365 / 360 = 17,641.67.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from gonghui.errors import DomainError
from loans.choices import ApplicationStatus, BorrowerClass, LoanStatus, LoanType, ReviewChannel
from loans.models import Repayment
from loans.services.loans import record_repayment, renew_loan
from subsidies.apps import SCAN_SCHEDULE_NAME
from subsidies.choices import ClaimStatus
from subsidies.models import SubsidyClaim
from subsidies.services.batches import create_batch
from subsidies.services.claims import create_claim_for_loan, create_due_claims
from subsidies.tasks import scan_due_claims
from tests.factories import ApplicationFactory, ProgramFactory

pytestmark = pytest.mark.django_db

D = Decimal
AFTER_MATURITY = date(2021, 8, 1)


# --- borrower classes and the limit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("borrower_class", "principal", "subsidised", "amount"),
    [
        # general worker, 400,000 lent: 300,000 within the limit → 17,641.67
        (BorrowerClass.GENERAL, "400000.00", D("300000.00"), D("17641.67")),
        # model worker, 600,000 lent: 500,000 within the limit;
        # 500,000 × 5.80% × 365 / 360 = 29,402.777… → 29,402.78
        (BorrowerClass.MODEL_WORKER, "600000.00", D("500000.00"), D("29402.78")),
        # relative of a frontline epidemic worker, 450,000 all within the 500,000 limit;
        # 450,000 × 5.80% × 365 / 360 = 26,462.50
        (BorrowerClass.EPIDEMIC_RELATIVE, "450000.00", D("450000.00"), D("26462.50")),
        # general worker within the limit: 200,000 × 5.80% × 365 / 360 = 11,761.111… → 11,761.11
        (BorrowerClass.GENERAL, "200000.00", D("200000.00"), D("11761.11")),
    ],
    ids=["general-above-limit", "model-worker-above-limit", "epidemic-relative", "general"],
)
def test_claim_is_on_the_principal_within_the_borrowers_limit(
    make_loan, borrower_class, principal, subsidised, amount
):
    loan = make_loan(principal=principal, borrower_class=borrower_class)
    claim = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    assert loan.application.borrower_class == borrower_class
    assert claim.subsidised_principal == subsidised
    assert loan.leveraged_amount == D(principal) - subsidised
    assert (claim.interest_subsidy, claim.premium_subsidy, claim.amount) == (amount, D("0"), amount)


def test_claim_stores_the_formulas_inputs(make_loan, program, unit, bank):
    loan = make_loan(annual_rate="4.90", review_channel=ReviewChannel.ONLINE)
    claim = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    # 300,000 × 4.75% (online cap; contract 4.90) × 365 / 360 = 14,447.916… → 14,447.92
    assert (claim.program, claim.unit, claim.bank, claim.loan) == (program, unit, bank, loan)
    assert (claim.loan_type, claim.review_channel) == (LoanType.GUARANTEED, ReviewChannel.ONLINE)
    assert (claim.contract_rate, claim.rate_cap, claim.applied_rate) == (
        D("4.90"),
        D("4.75"),
        D("4.75"),
    )
    assert (claim.start_on, claim.end_on, claim.days) == (
        date(2020, 7, 10),
        date(2021, 7, 10),
        365,
    )
    assert (claim.interest_share, claim.premium_rate, claim.premium_share) == (
        D("100.00"),
        D("0"),
        D("0"),
    )
    assert claim.interest_charged is None
    assert claim.amount == D("14447.92")
    assert claim.status == ClaimStatus.PENDING and claim.batch is None


@pytest.mark.parametrize("loan_type", LoanType.values)
def test_xuzhou_claims_per_loan_type(make_loan, loan_type):
    xuzhou = ProgramFactory(
        code="ghd-2022",
        city="徐州市",
        year=2022,
        rate_cap_online=D("4.35"),
        rate_cap_offline=D("5.50"),
        interest_loan_types=[LoanType.GUARANTEED, LoanType.MORTGAGE],
        premium_loan_types=[LoanType.CREDIT, LoanType.GUARANTEED],
        premium_rate=D("1.00"),
        premium_share=D("100.00"),
    )
    loan = make_loan(program=xuzhou, loan_type=loan_type, annual_rate="5.50")
    claim = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    # interest 300,000 × 5.50% × 365 / 360 = 16,729.1666… → 16,729.17; premium 3,000.00
    expected = {
        LoanType.CREDIT: (D("0"), D("3000.00")),
        LoanType.GUARANTEED: (D("16729.17"), D("3000.00")),
        LoanType.MORTGAGE: (D("16729.17"), D("0")),
    }[loan_type]
    assert (claim.interest_subsidy, claim.premium_subsidy) == expected
    assert claim.amount == sum(expected)


# --- repayment, lateness and renewal ----------------------------------------------------------


def test_early_repayment_ends_the_period_and_the_interest_charged_caps_it(make_loan, bank_user):
    loan = make_loan()
    record_repayment(
        loan=loan,
        user=bank_user,
        repaid_on="2021-01-10",
        principal_amount="300000.00",
        interest_amount="8000.00",
    )
    loan.refresh_from_db()
    claim = create_claim_for_loan(loan=loan, as_of=date(2021, 1, 10))
    # 17,400 × 184 / 360 = 8,893.33, but the bank charged only 8,000.00
    assert (claim.end_on, claim.days) == (date(2021, 1, 10), 184)
    assert claim.interest_charged == D("8000.00")
    assert claim.amount == D("8000.00")


def test_interest_charged_is_the_sum_of_the_repayments(repaid_loan):
    loan = repaid_loan()
    claim = create_claim_for_loan(loan=loan, as_of=date(2021, 2, 1))
    assert claim.interest_charged == D("8893.33")
    assert claim.amount == D("8893.33")


def test_late_repayment_is_subsidised_to_maturity_only(make_loan, bank_user):
    loan = make_loan()
    record_repayment(
        loan=loan,
        user=bank_user,
        repaid_on="2021-08-20",
        principal_amount="300000.00",
        interest_amount="18500.00",
    )
    loan.refresh_from_db()
    claim = create_claim_for_loan(loan=loan, as_of=date(2021, 8, 20))
    assert (claim.end_on, claim.days, claim.amount) == (date(2021, 7, 10), 365, D("17641.67"))


def test_renewal_ends_the_old_loans_period_and_the_new_loan_has_its_own_claim(make_loan, bank_user):
    loan = make_loan()
    program_2021 = ProgramFactory(code="jgd-2021", year=2021)
    application = ApplicationFactory(
        program=program_2021,
        unit=loan.unit,
        bank=loan.bank,
        applicant=loan.application.applicant,
        status=ApplicationStatus.BANK_APPROVED,
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.GUARANTEED,
        approved_amount=D("300000"),
        approved_rate=D("5.50"),
        applied_on=date(2021, 6, 1),
    )
    renewal = renew_loan(
        loan=loan,
        application=application,
        user=bank_user,
        contract_number="JJ-2021-001",
        principal="300000",
        annual_rate="5.50",
        disbursed_on=date(2021, 7, 5),
        maturity_on=date(2022, 7, 5),
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.RENEWED
    old = create_claim_for_loan(loan=loan, as_of=date(2021, 7, 5))
    # renewed five days before maturity: 360 days; 17,400 × 360 / 360 = 17,400.00
    assert (old.end_on, old.days, old.amount) == (date(2021, 7, 5), 360, D("17400.00"))
    with pytest.raises(DomainError):
        create_claim_for_loan(loan=renewal, as_of=date(2022, 7, 5))
    new = create_claim_for_loan(loan=renewal, as_of=date(2022, 7, 6))
    # its own term under its own program: 300,000 × 5.50% × 365 / 360 = 16,729.17
    assert new.program == program_2021
    assert (new.start_on, new.end_on, new.amount) == (
        date(2021, 7, 5),
        date(2022, 7, 5),
        D("16729.17"),
    )


# --- when a claim may be created; idempotence ------------------------------------------------


def test_a_running_loan_has_no_claim_until_the_day_after_maturity(make_loan):
    loan = make_loan()
    for as_of in (date(2021, 1, 1), date(2021, 7, 10)):
        with pytest.raises(DomainError) as error:
            create_claim_for_loan(loan=loan, as_of=as_of)
        assert error.value.code == "loan_not_due"
    assert create_claim_for_loan(loan=loan, as_of=date(2021, 7, 11)).days == 365


def test_creating_a_claim_twice_returns_the_first(make_loan):
    loan = make_loan()
    first = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    second = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    assert second.pk == first.pk
    assert SubsidyClaim.objects.filter(loan=loan).count() == 1


def test_a_pending_claim_follows_interest_reported_later(make_loan):
    loan = make_loan()
    Repayment.objects.create(
        loan=loan, repaid_on=date(2021, 1, 10), principal_amount=D("0"), interest_amount=D("9000")
    )
    claim = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    assert claim.amount == D("9000.00")
    Repayment.objects.create(
        loan=loan, repaid_on=date(2021, 8, 2), principal_amount=D("0"), interest_amount=D("9000")
    )
    again = create_claim_for_loan(loan=loan, as_of=date(2021, 8, 2))
    assert again.pk == claim.pk
    assert (again.interest_charged, again.amount) == (D("18000.00"), D("17641.67"))


def test_a_batched_claim_no_longer_changes(make_loan, city_user):
    loan = make_loan()
    Repayment.objects.create(
        loan=loan, repaid_on=date(2021, 1, 10), principal_amount=D("0"), interest_amount=D("9000")
    )
    claim = create_claim_for_loan(loan=loan, as_of=AFTER_MATURITY)
    create_batch(program=loan.program, claim_ids=[claim.pk], user=city_user)
    Repayment.objects.create(
        loan=loan, repaid_on=date(2021, 8, 2), principal_amount=D("0"), interest_amount=D("9000")
    )
    again = create_claim_for_loan(loan=loan, as_of=date(2021, 8, 2))
    assert (again.status, again.amount) == (ClaimStatus.BATCHED, D("9000.00"))


# --- the daily scan ---------------------------------------------------------------------------


def _loans_of_every_state(make_loan, repaid_loan):
    """Due on 2021-08-01: repaid, renewed, past maturity. Not due: running, repaid later."""
    due = [
        repaid_loan(),
        make_loan(status=LoanStatus.RENEWED, settled_on=date(2021, 7, 5)),
        make_loan(),
    ]
    not_due = [
        make_loan(disbursed_on=date(2021, 3, 1), maturity_on=date(2022, 3, 1)),
        make_loan(
            disbursed_on=date(2021, 3, 1),
            maturity_on=date(2022, 3, 1),
            status=LoanStatus.REPAID,
            settled_on=date(2021, 9, 1),
        ),
    ]
    return due, not_due


def test_the_scan_creates_the_claims_of_due_loans_only_and_is_safe_to_rerun(make_loan, repaid_loan):
    due, _ = _loans_of_every_state(make_loan, repaid_loan)
    created = create_due_claims(as_of=AFTER_MATURITY)
    assert sorted(claim.loan_id for claim in created) == sorted(loan.pk for loan in due)
    by_loan = {claim.loan_id: claim for claim in SubsidyClaim.objects.all()}
    assert by_loan[due[0].pk].amount == D("8893.33")
    assert by_loan[due[1].pk].amount == D("17400.00")
    assert by_loan[due[2].pk].amount == D("17641.67")
    assert create_due_claims(as_of=AFTER_MATURITY) == []
    assert SubsidyClaim.objects.count() == 3


def test_the_scan_costs_the_same_queries_for_more_loans(make_loan, repaid_loan):
    _loans_of_every_state(make_loan, repaid_loan)
    with CaptureQueriesContext(connection) as few:
        assert len(create_due_claims(as_of=AFTER_MATURITY)) == 3
    for _ in range(3):
        _loans_of_every_state(make_loan, repaid_loan)
    with CaptureQueriesContext(connection) as many:
        assert len(create_due_claims(as_of=AFTER_MATURITY)) == 9
    assert len(many) == len(few)


def test_a_loan_the_formula_refuses_is_skipped_and_the_rest_are_created(make_loan, caplog):
    good = make_loan()
    bad = make_loan(status=LoanStatus.REPAID, settled_on=date(2020, 7, 1))  # before disbursal
    created = create_due_claims(as_of=AFTER_MATURITY)
    assert [claim.loan_id for claim in created] == [good.pk]
    assert f"loan {bad.pk}" in caplog.text


def test_the_task_scans_as_of_an_iso_date_and_twice_is_harmless(make_loan, repaid_loan):
    _loans_of_every_state(make_loan, repaid_loan)
    assert scan_due_claims.apply(args=["2021-08-01"]).get() == 3
    assert scan_due_claims.apply(args=["2021-08-01"]).get() == 0
    assert SubsidyClaim.objects.count() == 3


def test_the_task_defaults_to_today(make_loan):
    make_loan()  # matured in 2021, long before today
    assert scan_due_claims.apply().get() == 1


def test_the_daily_scan_is_scheduled_once_after_migrate():
    task = PeriodicTask.objects.get(name=SCAN_SCHEDULE_NAME)
    assert task.task == scan_due_claims.name == "subsidies.scan_due_claims"
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == (
        "1",
        "30",
        "Asia/Shanghai",
    )
