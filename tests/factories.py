"""factory_boy factories for every model the tests build, in one place."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.services import assign_role
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    IndustrySection,
    LoanType,
    ReviewChannel,
    UnitKind,
)
from loans.models import Applicant, Application, Bank, Enterprise, Loan, Program, Unit
from loans.services.identity import make_credit_code, make_resident_id
from quotas.models import Quota


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"jgd-{2020 + n}")
    name = factory.LazyAttribute(lambda o: f"{o.year}年九工贷")
    city = "九江市"
    year = 2020


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.Sequence(lambda n: f"测试县{n}")
    city = "九江市"
    kind = UnitKind.COUNTY


class BankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bank

    code = factory.Sequence(lambda n: f"bank-{n}")
    name = factory.Sequence(lambda n: f"测试银行{n}九江分行")


class ApplicantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Applicant

    name = factory.Sequence(lambda n: f"申请人{n}")
    id_number = factory.Sequence(
        lambda n: make_resident_id(
            region="360402", birth=date(1985, 1, 1 + n % 28), sequence=n % 1000
        )
    )
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    is_union_member = True
    union_name = "修水县总工会"


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"九江测试商贸有限公司{n}")
    credit_code = factory.Sequence(lambda n: make_credit_code(body=f"91360400MA{n:07d}"))
    legal_representative = "张三"
    employees = 10
    licence_date = date(2018, 3, 1)
    industry_section = IndustrySection.F
    industry_code = "5211"


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    reference = factory.Sequence(lambda n: f"test-{n:06d}")
    program = factory.SubFactory(ProgramFactory)
    unit = factory.SubFactory(UnitFactory)
    applicant = factory.SubFactory(ApplicantFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    channel = ApplicationChannel.UNION_REFERRAL
    status = ApplicationStatus.DRAFT
    borrower_class = factory.LazyAttribute(lambda o: o.applicant.borrower_class)
    amount = Decimal("200000.00")
    applied_on = date(2020, 6, 1)


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan

    application = factory.SubFactory(
        ApplicationFactory,
        status=ApplicationStatus.DISBURSED,
        bank=factory.SubFactory(BankFactory),
        review_channel=ReviewChannel.OFFLINE,
        loan_type=LoanType.GUARANTEED,
        approved_amount=Decimal("200000.00"),
        approved_rate=Decimal("5.8000"),
    )
    program = factory.LazyAttribute(lambda o: o.application.program)
    unit = factory.LazyAttribute(lambda o: o.application.unit)
    bank = factory.LazyAttribute(lambda o: o.application.bank or BankFactory())
    contract_number = factory.Sequence(lambda n: f"HT2020-{n:05d}")
    principal = Decimal("200000.00")
    subsidised_principal = factory.LazyAttribute(lambda o: o.principal)
    leveraged_amount = Decimal("0.00")
    annual_rate = Decimal("5.8000")
    review_channel = ReviewChannel.OFFLINE
    loan_type = LoanType.GUARANTEED
    disbursed_on = date(2020, 7, 1)
    maturity_on = date(2021, 7, 1)


class QuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quota

    program = factory.SubFactory(ProgramFactory)
    unit = factory.SubFactory(UnitFactory)
    task_amount = Decimal("2000000.00")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_user(role: str, *, unit=None, bank=None, **kwargs):
    """A saved user with a portal role (and its unit or bank)."""
    user = UserFactory(**kwargs)
    assign_role(user=user, role=role, unit=unit, bank=bank)
    return user
