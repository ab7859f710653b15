"""Intake, review, bank decision, consent and opinions through the services."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from gonghui.errors import DomainError
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import (
    CheckRule,
    FounderClass,
    IndustrySection,
    LoanType,
    OpinionKind,
    ReviewChannel,
)
from loans.models import Applicant, Application, EligibilityCheck, Enterprise
from loans.services.applications import (
    ApplicantData,
    EnterpriseData,
    approve_application,
    create_application,
    decline_application,
    give_consent,
    recommend_application,
    record_opinion,
    request_consent,
    upsert_applicant,
    upsert_enterprise,
)
from loans.services.eligibility import override_check
from loans.services.identity import make_credit_code, make_resident_id
from loans.services.rules import add_months
from tests.factories import ApplicantFactory, EnterpriseFactory

pytestmark = pytest.mark.django_db

ID_NUMBER = make_resident_id(region="360424", birth=date(1988, 8, 8), sequence=123)
CREDIT_CODE = make_credit_code(body="91360424MA35XXXXX".replace("X", "1"))


def applicant_data(**overrides):
    values = {
        "name": "李四",
        "id_number": ID_NUMBER,
        "mobile": "13907920001",
        "founder_class": FounderClass.GRADUATE,
        "union_name": "修水县总工会",
    }
    return ApplicantData(**{**values, **overrides})


def enterprise_data(**overrides):
    values = {
        "name": "修水县绿源农业有限公司",
        "credit_code": CREDIT_CODE,
        "legal_representative": "李四",
        "licence_date": date(2018, 5, 1),
        "industry_section": IndustrySection.A,
        "employees": 12,
    }
    return EnterpriseData(**{**values, **overrides})


def intake(user, program, unit, *, channel=C.UNION_REFERRAL, bank=None, amount="200000", **kw):
    return create_application(
        user=user,
        program=program,
        unit=unit,
        applicant=kw.pop("applicant", None) or ApplicantFactory(),
        enterprise=kw.pop("enterprise", None) or EnterpriseFactory(),
        channel=channel,
        amount=amount,
        applied_on=date(2020, 6, 1),
        bank=bank,
        **kw,
    )


def test_upsert_applicant_normalises_and_reuses_by_resident_id(county_user):
    full_width = ID_NUMBER.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    first = upsert_applicant(
        user=county_user, data=applicant_data(id_number=full_width, mobile="+86 139-0792-0001")
    )
    assert first.id_number == ID_NUMBER
    assert first.mobile == "13907920001"
    again = upsert_applicant(user=county_user, data=applicant_data(name="李四", address="新地址"))
    assert again.pk == first.pk
    assert Applicant.objects.count() == 1
    assert again.address == "新地址"


def test_upsert_applicant_reports_every_bad_field_and_saves_nothing(county_user):
    with pytest.raises(DomainError) as error:
        upsert_applicant(
            user=county_user,
            data=applicant_data(id_number="360424198808081230", mobile="123", name=""),
        )
    assert set(error.value.field_errors) == {"id_number", "mobile", "name"}
    assert not Applicant.objects.exists()


def test_upsert_enterprise_validates_credit_code_and_industry(county_user):
    with pytest.raises(DomainError) as error:
        upsert_enterprise(
            user=county_user,
            data=enterprise_data(credit_code=CREDIT_CODE[:-1] + "0", industry_code="80a1"),
        )
    assert {"credit_code", "industry_code"} <= set(error.value.field_errors)
    assert not Enterprise.objects.exists()
    enterprise = upsert_enterprise(
        user=county_user, data=enterprise_data(credit_code=CREDIT_CODE.lower())
    )
    assert enterprise.credit_code == CREDIT_CODE


def test_union_referral_intake_creates_a_draft_with_checks(program, unit, county_user):
    application = intake(county_user, program, unit)
    assert application.status == S.DRAFT
    assert application.reference == f"{program.code}-000001"
    assert application.checks.count() == len(CheckRule.values)
    assert application.events.get().action == "create"
    second = intake(county_user, program, unit)
    assert second.reference == f"{program.code}-000002"


def test_county_staff_cannot_take_in_for_another_unit(program, other_unit, county_user):
    with pytest.raises(DomainError) as error:
        intake(county_user, program, other_unit)
    assert error.value.code == "unit_out_of_scope"
    assert not Application.objects.exists()


def test_bank_cannot_take_in_a_union_referral(program, unit, bank_user):
    with pytest.raises(DomainError) as error:
        intake(bank_user, program, unit)
    assert error.value.code == "permission_denied"


def test_bank_referral_arrives_submitted_for_its_own_bank_only(
    program, unit, bank, other_bank, bank_user
):
    application = intake(bank_user, program, unit, channel=C.BANK_REFERRAL, bank=bank)
    assert (application.status, application.bank) == (S.SUBMITTED, bank)
    with pytest.raises(DomainError) as error:
        intake(bank_user, program, unit, channel=C.BANK_REFERRAL, bank=other_bank)
    assert error.value.code == "bank_out_of_scope"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "-5"}),
        ("amount", {"amount": "1000.001"}),
        ("amount", {"amount": "abc"}),
        ("term_months", {"term_months": 13}),
        ("purpose_other", {"purpose": "other"}),
    ],
)
def test_bad_intake_input_is_refused_with_a_field_message(
    program, unit, county_user, field, kwargs
):
    with pytest.raises(DomainError) as error:
        intake(county_user, program, unit, **kwargs)
    assert field in error.value.field_errors
    assert not Application.objects.exists()


def test_closed_program_takes_no_applications(program, unit, county_user):
    program.is_active = False
    program.save()
    with pytest.raises(DomainError) as error:
        intake(county_user, program, unit)
    assert error.value.code == "program_closed"


def submitted(user, program, unit, **kw):
    application = intake(user, program, unit, submit=True, **kw)
    assert application.status == S.SUBMITTED
    return application


def test_recommend_needs_a_bank_and_passing_checks(program, unit, bank, county_user):
    application = submitted(county_user, program, unit)
    with pytest.raises(DomainError) as error:
        recommend_application(application=application, user=county_user)
    assert error.value.code == "bank_required"
    recommend_application(application=application, user=county_user, bank=bank, opinion="同意推荐")
    assert (application.status, application.bank) == (S.RECOMMENDED, bank)
    assert application.opinions.get(kind=OpinionKind.COUNTY_UNION).text == "同意推荐"


def test_failed_check_blocks_recommendation_until_overridden(program, unit, bank, county_user):
    application = submitted(county_user, program, unit, enterprise=EnterpriseFactory(employees=2))
    with pytest.raises(DomainError) as error:
        recommend_application(application=application, user=county_user, bank=bank)
    assert error.value.code == "pre_loan_checks_failed"
    assert CheckRule.JOBS in error.value.field_errors
    application.refresh_from_db()
    assert (application.status, application.bank) == (S.SUBMITTED, None)
    override_check(
        application=application, rule=CheckRule.JOBS, reason="已核实用工", user=county_user
    )
    recommend_application(application=application, user=county_user, bank=bank)
    assert application.status == S.RECOMMENDED


def recommended(county_user, program, unit, bank):
    application = submitted(county_user, program, unit)
    return recommend_application(application=application, user=county_user, bank=bank)


def test_bank_approval_stores_the_decision(program, unit, bank, county_user, bank_user):
    application = recommended(county_user, program, unit, bank)
    approve_application(
        application=application,
        user=bank_user,
        amount="200000",
        annual_rate="5.80",
        loan_type=LoanType.GUARANTEED,
        review_channel=ReviewChannel.OFFLINE,
        opinion="同意放款",
    )
    assert application.status == S.BANK_APPROVED
    assert application.approved_rate == Decimal("5.80")
    assert application.opinions.get(kind=OpinionKind.BANK).author == bank_user


def test_bank_approval_above_the_rate_cap_is_refused(program, unit, bank, county_user, bank_user):
    application = recommended(county_user, program, unit, bank)
    with pytest.raises(DomainError) as error:
        approve_application(
            application=application,
            user=bank_user,
            amount="200000",
            annual_rate="4.76",
            loan_type=LoanType.CREDIT,
            review_channel=ReviewChannel.ONLINE,
        )
    assert error.value.field_errors["annual_rate"]
    application.refresh_from_db()
    assert (application.status, application.approved_rate) == (S.RECOMMENDED, None)


def test_decline_records_the_reason_as_the_bank_opinion(
    program, unit, bank, county_user, bank_user
):
    application = recommended(county_user, program, unit, bank)
    decline_application(application=application, user=bank_user, reason="经营流水不足")
    assert application.status == S.BANK_DECLINED
    assert application.decision_reason == "经营流水不足"
    assert application.opinions.get(kind=OpinionKind.BANK).text == "经营流水不足"


def test_bank_online_needs_consent_with_the_subsidy_amount(
    program, unit, bank, bank_user, county_user
):
    application = intake(bank_user, program, unit, channel=C.BANK_ONLINE, bank=bank)
    assert application.status == S.SUBMITTED
    with pytest.raises(DomainError):
        approve_application(
            application=application,
            user=bank_user,
            amount="200000",
            annual_rate="4.75",
            loan_type=LoanType.CREDIT,
            review_channel=ReviewChannel.OFFLINE,
        )
    approve_application(
        application=application,
        user=bank_user,
        amount="200000",
        annual_rate="4.75",
        loan_type=LoanType.CREDIT,
        review_channel=ReviewChannel.ONLINE,
    )
    request_consent(application=application, user=bank_user)
    assert application.status == S.CONSENT_REQUESTED
    # 200,000 × 4.75% × days of a 12-month term / 360 × 100 %
    start = timezone.localdate(application.decided_at)  # the Beijing date of the decision
    days = (add_months(start, 12) - start).days
    expected = (Decimal("200000") * Decimal("0.0475") * days / 360).quantize(Decimal("0.01"))
    assert application.consent_subsidy_amount == expected
    give_consent(application=application, user=county_user, opinion="同意贴息")
    assert application.status == S.CONSENTED
    assert application.consented_at is not None


def test_opinion_boxes_belong_to_their_roles(program, unit, bank, county_user, bank_user):
    application = recommended(county_user, program, unit, bank)
    with pytest.raises(DomainError):
        record_opinion(
            application=application, user=bank_user, kind=OpinionKind.COUNTY_UNION, text="x"
        )
    with pytest.raises(DomainError):
        record_opinion(application=application, user=county_user, kind=OpinionKind.BANK, text="x")
    record_opinion(
        application=application, user=county_user, kind=OpinionKind.RECOMMENDER, text="好"
    )
    record_opinion(
        application=application, user=county_user, kind=OpinionKind.RECOMMENDER, text="很好"
    )
    assert application.opinions.get(kind=OpinionKind.RECOMMENDER).text == "很好"


def test_a_failure_inside_a_service_leaves_no_partial_write(program, unit, bank, county_user):
    application = submitted(county_user, program, unit, enterprise=EnterpriseFactory(employees=1))
    events_before = application.events.count()
    with pytest.raises(DomainError):
        recommend_application(application=application, user=county_user, bank=bank, opinion="同意")
    assert application.opinions.count() == 0
    assert application.events.count() == events_before
    assert EligibilityCheck.objects.filter(application=application, passed=False).count() == 1


def test_applicant_of_another_unit_cannot_be_rewritten(
    program, unit, other_county_user, county_user
):
    applicant = upsert_applicant(user=county_user, data=applicant_data())
    intake(county_user, program, unit, applicant=applicant)
    with pytest.raises(DomainError) as error:
        upsert_applicant(user=other_county_user, data=applicant_data(is_model_worker=True))
    assert error.value.code == "record_out_of_scope"
    applicant.refresh_from_db()
    assert applicant.is_model_worker is False


def test_bank_cannot_rewrite_an_applicant_of_another_bank(
    program, unit, bank, other_bank_user, county_user
):
    applicant = upsert_applicant(user=county_user, data=applicant_data())
    application = submitted(county_user, program, unit, applicant=applicant)
    recommend_application(application=application, user=county_user, bank=bank)
    with pytest.raises(DomainError):
        upsert_applicant(user=other_bank_user, data=applicant_data(is_model_worker=True))


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("employees", {"employees": "abc"}),
        ("employees", {"employees": -3}),
        ("annual_output", {"annual_output": "lots"}),
        ("licence_date", {"licence_date": "2020-13-01"}),
        ("licence_date", {"licence_date": None}),
        ("name", {"name": None}),
        ("industry_section", {"industry_section": "Z"}),
    ],
)
def test_garbage_enterprise_input_is_a_field_error(county_user, field, overrides):
    with pytest.raises(DomainError) as error:
        upsert_enterprise(user=county_user, data=enterprise_data(**overrides))
    assert field in error.value.field_errors
    assert not Enterprise.objects.exists()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("term_months", {"term_months": "abc"}),
        ("term_months", {"term_months": 0}),
        ("amount", {"amount": "1e20"}),
        ("applied_on", {"applied_on": "not a date"}),
    ],
)
def test_garbage_intake_input_is_a_field_error(program, unit, county_user, field, kwargs):
    values = {"applied_on": date(2020, 6, 1), **kwargs}
    with pytest.raises(DomainError) as error:
        create_application(
            user=county_user,
            program=program,
            unit=unit,
            applicant=ApplicantFactory(),
            enterprise=EnterpriseFactory(),
            channel=C.UNION_REFERRAL,
            amount=kwargs.get("amount", "100000"),
            applied_on=values["applied_on"],
            term_months=kwargs.get("term_months"),
            purpose_other=None,
        )
    assert field in error.value.field_errors
    assert not Application.objects.exists()


def test_unit_of_another_city_cannot_take_in_for_the_program(program, city_user):
    from tests.factories import UnitFactory

    xuzhou = UnitFactory(city="徐州市")
    with pytest.raises(DomainError) as error:
        intake(city_user, program, xuzhou)
    assert "unit" in error.value.field_errors


def test_recommend_by_staff_of_another_unit_is_refused(
    program, unit, bank, county_user, other_county_user
):
    application = submitted(county_user, program, unit)
    with pytest.raises(DomainError) as error:
        recommend_application(application=application, user=other_county_user, bank=bank)
    assert error.value.code == "not_found"
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_bank_cannot_approve_more_than_requested_or_on_a_channel_it_lacks(
    program, unit, county_user, bank_user, bank
):
    application = recommended(county_user, program, unit, bank)
    with pytest.raises(DomainError) as error:
        approve_application(
            application=application,
            user=bank_user,
            amount="200000.01",
            annual_rate="5.80",
            loan_type=LoanType.GUARANTEED,
            review_channel=ReviewChannel.OFFLINE,
        )
    assert "amount" in error.value.field_errors
    bank.offers_offline_review = False
    bank.save()
    with pytest.raises(DomainError) as error:
        approve_application(
            application=application,
            user=bank_user,
            amount="200000",
            annual_rate="5.80",
            loan_type=LoanType.GUARANTEED,
            review_channel=ReviewChannel.OFFLINE,
        )
    assert "review_channel" in error.value.field_errors
    application.refresh_from_db()
    assert application.status == S.RECOMMENDED


@pytest.mark.parametrize("rate", ["0.00001", "1.123456", 4.1])
def test_bank_approval_with_a_malformed_rate_is_a_field_error(
    program, unit, bank, county_user, bank_user, rate
):
    application = recommended(county_user, program, unit, bank)
    with pytest.raises(DomainError) as error:
        approve_application(
            application=application,
            user=bank_user,
            amount="200000",
            annual_rate=rate,
            loan_type=LoanType.GUARANTEED,
            review_channel=ReviewChannel.OFFLINE,
        )
    assert "annual_rate" in error.value.field_errors


def online_consent_requested(
    program, unit, bank, bank_user, *, applicant=None, enterprise=None, amount="200000"
):
    application = intake(
        bank_user,
        program,
        unit,
        channel=C.BANK_ONLINE,
        bank=bank,
        amount=amount,
        applicant=applicant,
        enterprise=enterprise,
    )
    approve_application(
        application=application,
        user=bank_user,
        amount=amount,
        annual_rate="4.75",
        loan_type=LoanType.CREDIT,
        review_channel=ReviewChannel.ONLINE,
    )
    return request_consent(application=application, user=bank_user)


def test_consent_is_refused_while_a_check_fails(program, unit, bank, bank_user, county_user):
    application = online_consent_requested(
        program, unit, bank, bank_user, enterprise=EnterpriseFactory(employees=2)
    )
    with pytest.raises(DomainError) as error:
        give_consent(application=application, user=county_user)
    assert error.value.code == "pre_loan_checks_failed"
    application.refresh_from_db()
    assert application.status == S.CONSENT_REQUESTED


def test_consent_by_another_unit_and_request_by_another_bank_are_refused(
    program, unit, bank, bank_user, other_bank_user, other_county_user
):
    application = online_consent_requested(program, unit, bank, bank_user)
    with pytest.raises(DomainError) as error:
        give_consent(application=application, user=other_county_user)
    assert error.value.code == "not_found"
    other = intake(bank_user, program, unit, channel=C.BANK_ONLINE, bank=bank)
    with pytest.raises(DomainError) as error:
        request_consent(application=other, user=other_bank_user)
    assert error.value.code in ("not_found", "invalid_transition")


def test_consent_subsidy_of_a_model_worker_above_the_general_limit(program, unit, bank, bank_user):
    applicant = ApplicantFactory(is_model_worker=True)
    application = online_consent_requested(
        program, unit, bank, bank_user, applicant=applicant, amount="600000"
    )
    start = timezone.localdate(application.decided_at)
    days = (add_months(start, 12) - start).days
    # Only the model worker's 500,000 limit is subsidised; 100,000 is leveraged.
    expected = (Decimal("500000") * Decimal("4.75") / 100 * days / 360).quantize(Decimal("0.01"))
    assert application.consent_subsidy_amount == expected


def test_opinions_and_overrides_are_closed_once_the_application_is_done(
    program, unit, county_user, bank, bank_user
):
    application = recommended(county_user, program, unit, bank)
    decline_application(application=application, user=bank_user, reason="资料不全")
    with pytest.raises(DomainError) as error:
        record_opinion(
            application=application, user=county_user, kind=OpinionKind.RECOMMENDER, text="x"
        )
    assert error.value.code == "application_closed"
    with pytest.raises(DomainError) as error:
        override_check(application=application, rule=CheckRule.JOBS, reason="x", user=county_user)
    assert error.value.code == "application_not_in_review"
