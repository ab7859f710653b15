"""Disbursement, repayment, renewal and quarterly follow-up through the services."""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import LoanStatus, LoanType, OperatingStatus, ReviewChannel
from loans.models import Loan, Repayment
from loans.services.loans import disburse_loan, record_follow_up, record_repayment, renew_loan
from tests.factories import ApplicantFactory, ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(program, unit, bank):
    return ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        status=S.BANK_APPROVED,
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.GUARANTEED,
        approved_amount=Decimal("400000.00"),
        approved_rate=Decimal("5.80"),
    )


def disburse(application, user, **overrides):
    values = {
        "contract_number": "JJ-2020-001",
        "principal": "400000.00",
        "annual_rate": "5.80",
        "disbursed_on": date(2020, 7, 10),
        "maturity_on": date(2021, 7, 10),
        "jobs_created": 8,
        "new_union_members": 3,
    }
    return disburse_loan(application=application, user=user, **{**values, **overrides})


def test_disbursement_creates_the_loan_with_its_split(approved, bank_user):
    loan = disburse(approved, bank_user)
    approved.refresh_from_db()
    assert approved.status == S.DISBURSED
    assert (loan.principal, loan.subsidised_principal, loan.leveraged_amount) == (
        Decimal("400000.00"),
        Decimal("300000.00"),
        Decimal("100000.00"),
    )
    assert (loan.program, loan.unit, loan.bank) == (approved.program, approved.unit, approved.bank)
    assert (loan.review_channel, loan.loan_type) == (ReviewChannel.OFFLINE, LoanType.GUARANTEED)


def test_disbursement_rate_above_the_channel_cap_is_rejected(approved, bank_user):
    with pytest.raises(DomainError) as error:
        disburse(approved, bank_user, annual_rate="5.81")
    assert error.value.field_errors["annual_rate"]
    assert not Loan.objects.exists()
    approved.refresh_from_db()
    assert approved.status == S.BANK_APPROVED


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("principal", {"principal": "400000.01"}),  # above the approved amount
        ("principal", {"principal": "0"}),
        ("maturity_on", {"maturity_on": date(2021, 7, 11)}),  # beyond the 12-month term
        ("maturity_on", {"maturity_on": date(2020, 7, 10)}),
        ("disbursed_on", {"disbursed_on": date(2020, 5, 1)}),  # before the application
        ("contract_number", {"contract_number": "  "}),
        ("jobs_created", {"jobs_created": -1}),
    ],
)
def test_bad_disbursement_input_is_refused_and_writes_nothing(
    approved, bank_user, field, overrides
):
    with pytest.raises(DomainError) as error:
        disburse(approved, bank_user, **overrides)
    assert field in error.value.field_errors
    assert not Loan.objects.exists()


def test_contract_number_is_unique_per_bank(approved, bank_user, program, unit, bank):
    disburse(approved, bank_user)
    other = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        status=S.BANK_APPROVED,
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.CREDIT,
        approved_amount=Decimal("100000"),
        approved_rate=Decimal("5.80"),
    )
    with pytest.raises(DomainError) as error:
        disburse(other, bank_user, principal="100000")
    assert error.value.code == "contract_number_taken"
    other.refresh_from_db()
    assert other.status == S.BANK_APPROVED


def test_second_disbursement_of_one_application_is_refused(approved, bank_user):
    disburse(approved, bank_user)
    with pytest.raises(DomainError) as error:
        disburse(approved, bank_user, contract_number="JJ-2020-002")
    assert error.value.code == "invalid_transition"
    assert Loan.objects.count() == 1


def online_approved(program, unit, bank, *, status):
    """A bank-online application approved at 4.75 % for 100,000 元."""
    return ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        channel=C.BANK_ONLINE,
        status=status,
        review_channel=ReviewChannel.ONLINE,
        loan_type=LoanType.CREDIT,
        approved_amount=Decimal("100000"),
        approved_rate=Decimal("4.75"),
    )


def test_bank_online_loan_needs_the_unions_consent_first(program, unit, bank, bank_user):
    application = online_approved(program, unit, bank, status=S.BANK_APPROVED)
    with pytest.raises(DomainError) as error:
        disburse(application, bank_user, principal="100000", annual_rate="4.75")
    assert error.value.code == "invalid_transition"
    application.status = S.CONSENTED
    application.save()
    loan = disburse(application, bank_user, principal="100000", annual_rate="4.75")
    assert loan.review_channel == ReviewChannel.ONLINE


def test_other_bank_cannot_disburse(approved, other_bank_user):
    with pytest.raises(DomainError) as error:
        disburse(approved, other_bank_user)
    assert error.value.code == "not_found"


@pytest.fixture
def loan(approved, bank_user):
    return disburse(approved, bank_user)


def test_partial_then_full_repayment_settles_the_loan(loan, bank_user):
    record_repayment(
        loan=loan, user=bank_user, repaid_on=date(2021, 1, 10), principal_amount="100000"
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    record_repayment(
        loan=loan,
        user=bank_user,
        repaid_on=date(2021, 7, 10),
        principal_amount="300000.00",
        interest_amount="17400.00",
    )
    loan.refresh_from_db()
    assert (loan.status, loan.settled_on) == (LoanStatus.REPAID, date(2021, 7, 10))
    with pytest.raises(DomainError) as error:
        record_repayment(
            loan=loan, user=bank_user, repaid_on=date(2021, 8, 1), principal_amount="1"
        )
    assert error.value.code == "loan_closed"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("principal_amount", {"principal_amount": "400000.01"}),
        ("principal_amount", {"principal_amount": "-1"}),
        ("principal_amount", {"principal_amount": "0", "interest_amount": "0"}),
        ("interest_amount", {"principal_amount": "1", "interest_amount": "1.001"}),
        ("repaid_on", {"principal_amount": "1", "repaid_on": date(2020, 7, 9)}),
    ],
)
def test_bad_repayment_is_refused(loan, bank_user, field, kwargs):
    kwargs = {"repaid_on": date(2021, 1, 1), **kwargs}
    with pytest.raises(DomainError) as error:
        record_repayment(loan=loan, user=bank_user, **kwargs)
    assert field in error.value.field_errors
    assert not Repayment.objects.exists()


def test_other_bank_cannot_record_a_repayment(loan, other_bank_user):
    with pytest.raises(DomainError) as error:
        record_repayment(
            loan=loan, user=other_bank_user, repaid_on=date(2021, 1, 1), principal_amount="1"
        )
    assert error.value.code == "not_found"


def renewal_application(loan, program_2021):
    return ApplicationFactory(
        program=program_2021,
        unit=loan.unit,
        bank=loan.bank,
        applicant=loan.application.applicant,
        status=S.BANK_APPROVED,
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.GUARANTEED,
        approved_amount=Decimal("300000"),
        approved_rate=Decimal("5.50"),
        applied_on=date(2021, 6, 1),
    )


@pytest.fixture
def program_2021(db):
    from tests.factories import ProgramFactory

    return ProgramFactory(code="jgd-2021", year=2021)


def test_renewal_links_a_new_loan_and_closes_the_old(loan, bank_user, program_2021):
    application = renewal_application(loan, program_2021)
    renewal = renew_loan(
        loan=loan,
        application=application,
        user=bank_user,
        contract_number="JJ-2021-001",
        principal="300000",
        annual_rate="5.50",
        disbursed_on=date(2021, 7, 10),
        maturity_on=date(2022, 7, 10),
    )
    loan.refresh_from_db()
    assert (loan.status, loan.settled_on) == (LoanStatus.RENEWED, date(2021, 7, 10))
    assert renewal.renewal_of == loan
    assert renewal.is_renewal
    assert renewal.program == program_2021


def test_renewal_before_the_maturity_month_is_refused(loan, bank_user, program_2021):
    application = renewal_application(loan, program_2021)
    with pytest.raises(DomainError) as error:
        renew_loan(
            loan=loan,
            application=application,
            user=bank_user,
            contract_number="JJ-2021-001",
            principal="300000",
            annual_rate="5.50",
            disbursed_on=date(2021, 6, 30),
            maturity_on=date(2022, 6, 30),
        )
    assert error.value.code == "renewal_too_early"
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


def test_renewal_for_another_applicant_is_refused(loan, bank_user, program_2021):
    application = renewal_application(loan, program_2021)
    application.applicant = ApplicantFactory()
    application.save()
    with pytest.raises(DomainError) as error:
        renew_loan(
            loan=loan,
            application=application,
            user=bank_user,
            contract_number="JJ-2021-001",
            principal="300000",
            annual_rate="5.50",
            disbursed_on=date(2021, 7, 10),
            maturity_on=date(2022, 7, 10),
        )
    assert error.value.code == "renewal_other_applicant"


def test_failed_renewal_leaves_the_old_loan_active(loan, bank_user, program_2021):
    application = renewal_application(loan, program_2021)
    with pytest.raises(DomainError):
        renew_loan(
            loan=loan,
            application=application,
            user=bank_user,
            contract_number="JJ-2021-001",
            principal="300000",
            annual_rate="9.99",
            disbursed_on=date(2021, 7, 10),
            maturity_on=date(2022, 7, 10),
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert Loan.objects.count() == 1


def follow_up(loan, user, **overrides):
    values = {
        "year": 2020,
        "quarter": 3,
        "visited_on": date(2020, 9, 20),
        "operating_status": OperatingStatus.NORMAL,
        "jobs": 10,
        "insured_employees": 4,
    }
    return record_follow_up(loan=loan, user=user, **{**values, **overrides})


def test_follow_up_is_one_per_quarter_and_can_be_corrected(loan, county_user):
    follow_up(loan, county_user)
    follow_up(loan, county_user, jobs=11, note="新增一人")
    assert loan.follow_ups.count() == 1
    assert loan.follow_ups.get().jobs == 11


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("visited_on", {"visited_on": date(2020, 10, 1)}),  # not in Q3
        ("insured_employees", {"insured_employees": 11}),
        ("operating_status", {"operating_status": "great"}),
        ("quarter", {"quarter": 5}),
    ],
)
def test_bad_follow_up_is_refused(loan, county_user, field, overrides):
    with pytest.raises(DomainError) as error:
        follow_up(loan, county_user, **overrides)
    assert field in error.value.field_errors
    assert not loan.follow_ups.exists()


def test_follow_up_by_bank_or_other_unit_is_refused(loan, bank_user, other_county_user):
    with pytest.raises(DomainError):
        follow_up(loan, bank_user)
    with pytest.raises(DomainError) as error:
        follow_up(loan, other_county_user)
    assert error.value.code == "not_found"


def test_loan_factory_builds_a_consistent_loan():
    loan = LoanFactory()
    assert loan.principal == loan.subsidised_principal + loan.leveraged_amount


def test_rate_above_the_online_cap_is_rejected_at_disbursement(program, unit, bank, bank_user):
    application = online_approved(program, unit, bank, status=S.CONSENTED)
    with pytest.raises(DomainError) as error:
        disburse(application, bank_user, principal="100000", annual_rate="4.76")
    assert error.value.field_errors["annual_rate"]
    assert not Loan.objects.exists()


def test_disbursement_rate_above_the_approved_rate_is_refused(approved, bank_user):
    approved.approved_rate = Decimal("5.00")
    approved.save()
    with pytest.raises(DomainError) as error:
        disburse(approved, bank_user, annual_rate="5.10")
    assert "annual_rate" in error.value.field_errors


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("disbursed_on", {"disbursed_on": "yesterday"}),
        ("maturity_on", {"maturity_on": None}),
        ("jobs_created", {"jobs_created": "many"}),
        ("annual_rate", {"annual_rate": "0.00001"}),
        ("principal", {"principal": "1e20"}),
    ],
)
def test_garbage_disbursement_input_is_a_field_error(approved, bank_user, field, overrides):
    with pytest.raises(DomainError) as error:
        disburse(approved, bank_user, **overrides)
    assert field in error.value.field_errors
    assert not Loan.objects.exists()


def test_second_application_of_a_borrower_with_a_running_loan_is_not_disbursed(
    loan, program, unit, bank, bank_user
):
    second = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        applicant=loan.application.applicant,
        status=S.BANK_APPROVED,
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.CREDIT,
        approved_amount=Decimal("100000"),
        approved_rate=Decimal("5.80"),
    )
    with pytest.raises(DomainError) as error:
        disburse(second, bank_user, contract_number="JJ-2020-009", principal="100000")
    assert error.value.code == "active_loan_exists"
    assert Loan.objects.count() == 1


def test_a_loan_cannot_be_renewed_twice(loan, bank_user, program_2021):
    renew = {
        "user": bank_user,
        "principal": "300000",
        "annual_rate": "5.50",
        "disbursed_on": date(2021, 7, 10),
        "maturity_on": date(2022, 7, 10),
    }
    renew_loan(
        loan=loan,
        application=renewal_application(loan, program_2021),
        contract_number="R-1",
        **renew,
    )
    with pytest.raises(DomainError) as error:
        renew_loan(
            loan=loan,
            application=renewal_application(loan, program_2021),
            contract_number="R-2",
            **renew,
        )
    assert error.value.code == "loan_closed"


def test_renewal_with_missing_dates_is_a_field_error_and_writes_nothing(
    loan, bank_user, program_2021
):
    with pytest.raises(DomainError) as error:
        renew_loan(
            loan=loan,
            application=renewal_application(loan, program_2021),
            user=bank_user,
            contract_number="R-1",
            principal="300000",
            annual_rate="5.50",
            disbursed_on=None,
            maturity_on=None,
        )
    assert "disbursed_on" in error.value.field_errors
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


def test_renewal_by_another_bank_is_refused(loan, other_bank_user, program_2021):
    with pytest.raises(DomainError) as error:
        renew_loan(
            loan=loan,
            application=renewal_application(loan, program_2021),
            user=other_bank_user,
            contract_number="R-1",
            principal="300000",
            annual_rate="5.50",
            disbursed_on=date(2021, 7, 10),
            maturity_on=date(2022, 7, 10),
        )
    assert error.value.code == "not_found"


def test_settling_repayment_creates_the_subsidy_claim_at_once(loan, bank_user):
    record_repayment(
        loan=loan, user=bank_user, repaid_on=date(2021, 1, 10), principal_amount="100000"
    )
    assert not loan.subsidy_claims.exists()
    record_repayment(
        loan=loan,
        user=bank_user,
        repaid_on=date(2021, 7, 10),
        principal_amount="300000.00",
        interest_amount="23200.00",
    )
    claim = loan.subsidy_claims.get()
    # 300,000 subsidised × 5.80% × 365 days / 360 = 17,641.67 (below the interest charged)
    assert claim.amount == Decimal("17641.67")


def test_renewal_creates_the_old_loans_claim(loan, bank_user, program_2021):
    renew_loan(
        loan=loan,
        application=renewal_application(loan, program_2021),
        user=bank_user,
        contract_number="R-1",
        principal="300000",
        annual_rate="5.50",
        disbursed_on=date(2021, 7, 10),
        maturity_on=date(2022, 7, 10),
    )
    assert loan.subsidy_claims.count() == 1
