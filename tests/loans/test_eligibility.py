"""Each pre-loan check of SPEC.md, both ways, and the stored results with overrides."""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from loans.choices import BorrowerClass, CheckRule, IndustrySection, LoanStatus
from loans.services.eligibility import (
    is_excluded_industry,
    override_check,
    run_pre_loan_checks,
    store_pre_loan_checks,
    unsatisfied_checks,
)
from tests.factories import ApplicantFactory, ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


def result_of(application, rule):
    (result,) = [r for r in run_pre_loan_checks(application) if r.rule == rule]
    return result


@pytest.fixture
def application(program, unit):
    return ApplicationFactory(program=program, unit=unit, applied_on=date(2020, 6, 1))


def test_a_sound_application_passes_every_check(application):
    results = run_pre_loan_checks(application)
    assert [r.rule for r in results] == list(CheckRule.values)
    assert all(r.passed for r in results), [r.reason for r in results if not r.passed]


def test_union_member_passes_and_non_member_fails(application):
    assert result_of(application, CheckRule.UNION_MEMBERSHIP).passed
    application.applicant.is_union_member = False
    result = result_of(application, CheckRule.UNION_MEMBERSHIP)
    assert not result.passed
    assert "不是工会会员" in result.reason


def test_member_without_union_affiliation_fails(application):
    application.applicant.union_name = "  "
    assert not result_of(application, CheckRule.UNION_MEMBERSHIP).passed


def test_membership_check_passes_when_program_does_not_require_it(application):
    application.applicant.is_union_member = False
    application.program.require_union_membership = False
    assert result_of(application, CheckRule.UNION_MEMBERSHIP).passed


@pytest.mark.parametrize(
    ("licence_date", "passed"),
    [
        (date(2015, 6, 1), True),  # exactly five years before the application date
        (date(2015, 5, 31), False),  # one day older than five years
        (date(2020, 6, 1), True),
        (date(2020, 6, 2), False),  # licence after the application date
    ],
)
def test_enterprise_age_limit(application, licence_date, passed):
    application.enterprise.licence_date = licence_date
    assert result_of(application, CheckRule.ENTERPRISE_AGE).passed is passed


def test_enterprise_age_limit_follows_the_program_setting(application):
    application.enterprise.licence_date = date(2013, 6, 1)
    assert not result_of(application, CheckRule.ENTERPRISE_AGE).passed
    application.program.max_enterprise_age_years = 7
    assert result_of(application, CheckRule.ENTERPRISE_AGE).passed


@pytest.mark.parametrize(("employees", "passed"), [(5, True), (4, False), (0, False), (300, True)])
def test_jobs_minimum(application, employees, passed):
    application.enterprise.employees = employees
    assert result_of(application, CheckRule.JOBS).passed is passed


@pytest.mark.parametrize(
    ("section", "code", "passed"),
    [
        (IndustrySection.F, "5211", True),
        (IndustrySection.E, "4710", False),  # construction
        (IndustrySection.K, "7010", False),  # real estate
        (IndustrySection.P, "8391", False),  # education and training
        (IndustrySection.O, "8051", False),  # bathhouse
        (IndustrySection.O, "8010", True),  # other resident services are fine
        (IndustrySection.R, "9013", False),  # internet café
        (IndustrySection.R, "9011", False),  # entertainment (division 90)
        (IndustrySection.R, "8810", True),  # culture and arts are fine
        (IndustrySection.C, "", True),
    ],
)
def test_excluded_industries(application, section, code, passed):
    application.enterprise.industry_section = section
    application.enterprise.industry_code = code
    result = result_of(application, CheckRule.EXCLUDED_INDUSTRY)
    assert result.passed is passed
    if not passed:
        assert "不予贴息行业" in result.reason


def test_excluded_industry_list_is_a_program_setting(application):
    application.program.excluded_industries = ["F"]
    assert not result_of(application, CheckRule.EXCLUDED_INDUSTRY).passed
    application.program.excluded_industries = []
    application.enterprise.industry_section = IndustrySection.E
    assert result_of(application, CheckRule.EXCLUDED_INDUSTRY).passed


def test_excluded_industry_matches_section_letters_and_code_prefixes():
    assert is_excluded_industry(excluded=["E"], section="E", code="") == "E"
    assert is_excluded_industry(excluded=["90"], section="R", code="9019") == "90"
    assert is_excluded_industry(excluded=["90"], section="R", code="8900") is None
    assert is_excluded_industry(excluded=["E"], section="F", code="") is None


@pytest.mark.parametrize(
    ("model_worker", "epidemic", "amount", "passed"),
    [
        (False, False, "300000.00", True),
        (False, False, "300000.01", False),
        (True, False, "500000.00", True),
        (True, False, "500000.01", False),
        (False, True, "500000.00", True),
        (False, True, "500000.01", False),
    ],
)
def test_amount_within_the_borrower_class_limit(
    program, unit, model_worker, epidemic, amount, passed
):
    applicant = ApplicantFactory(is_model_worker=model_worker, is_epidemic_relative=epidemic)
    application = ApplicationFactory(
        program=program, unit=unit, applicant=applicant, amount=Decimal(amount)
    )
    result = result_of(application, CheckRule.AMOUNT_LIMIT)
    assert result.passed is passed
    if not passed:
        assert "不予贴息" in result.reason


def test_epidemic_relative_class_wins_over_model_worker(program):
    applicant = ApplicantFactory(is_model_worker=True, is_epidemic_relative=True)
    assert applicant.borrower_class == BorrowerClass.EPIDEMIC_RELATIVE


def test_other_active_program_loan_fails_the_check(application):
    earlier = ApplicationFactory(
        program=application.program, unit=application.unit, applicant=application.applicant
    )
    LoanFactory(
        application=earlier,
        disbursed_on=date(2020, 1, 10),
        maturity_on=date(2021, 1, 10),
    )
    result = result_of(application, CheckRule.NO_ACTIVE_LOAN)
    assert not result.passed
    assert "未结清" in result.reason


def test_repaid_or_maturing_loan_does_not_block(application):
    earlier = ApplicationFactory(program=application.program, applicant=application.applicant)
    loan = LoanFactory(
        application=earlier, disbursed_on=date(2019, 6, 15), maturity_on=date(2020, 6, 15)
    )
    # Matures within a month of the application: the renewal window.
    assert result_of(application, CheckRule.NO_ACTIVE_LOAN).passed
    loan.maturity_on = date(2020, 7, 15)
    loan.save()
    assert not result_of(application, CheckRule.NO_ACTIVE_LOAN).passed
    loan.status, loan.settled_on = LoanStatus.REPAID, date(2020, 5, 1)
    loan.save()
    assert result_of(application, CheckRule.NO_ACTIVE_LOAN).passed


def test_another_applicants_loan_does_not_block(application):
    LoanFactory(disbursed_on=date(2020, 1, 10), maturity_on=date(2021, 1, 10))
    assert result_of(application, CheckRule.NO_ACTIVE_LOAN).passed


def test_stored_checks_are_one_row_per_rule_and_are_refreshed(application):
    store_pre_loan_checks(application)
    store_pre_loan_checks(application)
    assert application.checks.count() == len(CheckRule.values)
    assert unsatisfied_checks(application) == []
    application.enterprise.employees = 1
    application.enterprise.save()
    store_pre_loan_checks(application)
    assert [c.rule for c in unsatisfied_checks(application)] == [CheckRule.JOBS]


def test_override_needs_a_reason_and_makes_the_check_satisfied(application, county_user):
    enterprise = application.enterprise
    enterprise.employees = 3
    enterprise.save()
    store_pre_loan_checks(application)
    with pytest.raises(DomainError) as error:
        override_check(application=application, rule=CheckRule.JOBS, reason="  ", user=county_user)
    assert error.value.code == "override_reason_required"
    assert unsatisfied_checks(application)
    override_check(
        application=application,
        rule=CheckRule.JOBS,
        reason="季节性用工，旺季12人",
        user=county_user,
    )
    assert unsatisfied_checks(application) == []
    check = application.checks.get(rule=CheckRule.JOBS)
    assert check.overridden_by == county_user
    assert application.events.filter(action="override_check").exists()


def test_override_survives_recheck_while_failing_and_clears_once_passed(application, county_user):
    application.enterprise.employees = 3
    application.enterprise.save()
    store_pre_loan_checks(application)
    override_check(application=application, rule=CheckRule.JOBS, reason="理由", user=county_user)
    store_pre_loan_checks(application)
    assert application.checks.get(rule=CheckRule.JOBS).override_reason == "理由"
    application.enterprise.employees = 8
    application.enterprise.save()
    store_pre_loan_checks(application)
    assert application.checks.get(rule=CheckRule.JOBS).override_reason == ""


def test_passed_check_cannot_be_overridden(application, county_user):
    store_pre_loan_checks(application)
    with pytest.raises(DomainError) as error:
        override_check(application=application, rule=CheckRule.JOBS, reason="x", user=county_user)
    assert error.value.code == "check_already_passed"


@pytest.mark.parametrize("who", ["bank_user", "manager_user", "other_county_user"])
def test_only_union_staff_in_scope_may_override(application, request, who):
    application.enterprise.employees = 3
    application.enterprise.save()
    store_pre_loan_checks(application)
    user = request.getfixturevalue(who)
    with pytest.raises(DomainError) as error:
        override_check(application=application, rule=CheckRule.JOBS, reason="理由", user=user)
    assert error.value.code == "permission_denied"
    assert application.checks.get(rule=CheckRule.JOBS).override_reason == ""
