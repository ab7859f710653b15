"""seed_demo: the demo data is complete, valid by every domain rule, deterministic, and a
rerun creates nothing.

Seeding takes a few seconds, so the module seeds once (and reruns once) in a module-scoped
fixture that commits to the test database and flushes it afterwards; the tests only read,
except the two that reseed inside their own rolled-back transaction.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.test import RequestFactory

from accounts.choices import Role
from gonghui.money import round_fen, wan
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    BorrowerClass,
    CheckRule,
    FounderClass,
    LoanStatus,
    LoanType,
    OperatingStatus,
    OpinionKind,
    ReviewChannel,
)
from loans.demo import DEMO_USERS, JGD_2020_TASKS_WAN, PROGRAM_CODES, model_counts
from loans.models import (
    Applicant,
    Application,
    Bank,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Program,
    Repayment,
    Unit,
)
from loans.services.eligibility import is_excluded_industry
from loans.services.identity import validate_credit_code, validate_mobile, validate_resident_id
from loans.services.rules import add_months
from quotas.models import Quota, Reallocation

S = ApplicationStatus
BANK_DECIDED = {S.BANK_APPROVED, S.CONSENT_REQUESTED, S.CONSENTED, S.CONSENT_REFUSED, S.DISBURSED}


def _fingerprint():
    """Everything the random draws decide, in a stable order."""
    applications = list(
        Application.objects.order_by("reference").values_list(
            "reference",
            "applicant__name",
            "applicant__id_number",
            "enterprise__credit_code",
            "status",
            "channel",
            "amount",
            "bank__code",
            "applied_on",
            "status_changed_at",
        )
    )
    loans = list(
        Loan.objects.order_by("bank__code", "contract_number").values_list(
            "contract_number", "principal", "annual_rate", "disbursed_on", "status", "settled_on"
        )
    )
    return applications, loans


def _reference_data():
    programs = list(Program.objects.order_by("code").values())
    for row in programs:
        for key in ("id", "created_at", "updated_at"):
            row.pop(key)
    units = list(Unit.objects.order_by("code").values_list("code", "name", "kind", "sort_order"))
    quotas = list(
        Quota.objects.order_by("program__code", "unit__code").values_list(
            "program__code", "unit__code", "task_amount"
        )
    )
    return programs, units, quotas


def _delete_demo_transactions():
    from reports.models import MonthlySnapshot
    from subsidies.models import SubsidyClaim

    MonthlySnapshot.objects.all().delete()
    SubsidyClaim.objects.all().delete()
    FollowUp.objects.all().delete()
    Repayment.objects.all().delete()
    Loan.objects.filter(renewal_of__isnull=False).delete()
    Loan.objects.all().delete()
    Application.objects.all().delete()  # with its checks, opinions and events
    Applicant.objects.all().delete()
    Enterprise.objects.all().delete()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        first = StringIO()
        call_command("seed_demo", stdout=first)
        counts = model_counts()
        fingerprint = _fingerprint()
        second = StringIO()
        call_command("seed_demo", stdout=second)
        yield SimpleNamespace(
            counts=counts,
            counts_after_rerun=model_counts(),
            fingerprint=fingerprint,
            output=first.getvalue(),
            rerun_output=second.getvalue(),
        )
        call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


# --- reruns, seeds and output ---------------------------------------------------------------


def test_rerun_creates_nothing(seeded):
    assert seeded.counts_after_rerun == seeded.counts
    assert "nothing new was created" in seeded.rerun_output
    assert _fingerprint() == seeded.fingerprint


def test_output_has_counts_and_demo_users(seeded):
    assert "Demo data loaded (seed 2020)" in seeded.output
    for model in ("Application", "Loan", "FollowUp"):
        assert re.search(rf"\b{model}\s+{seeded.counts[model]}\b", seeded.output)
    for spec in DEMO_USERS:
        assert spec.username in seeded.output
        if spec.password:
            assert spec.password in seeded.output


def test_same_seed_gives_the_same_data(seeded):
    _delete_demo_transactions()
    call_command("seed_demo", stdout=StringIO())
    assert _fingerprint() == seeded.fingerprint
    assert model_counts() == seeded.counts


def test_other_seed_changes_people_not_reference_data(seeded):
    reference = _reference_data()
    names = list(Applicant.objects.order_by("id_number").values_list("name", flat=True))
    _delete_demo_transactions()
    out = StringIO()
    call_command("seed_demo", "--seed", "7", stdout=out)
    assert "seed 7" in out.getvalue()
    assert _reference_data() == reference
    other = list(Applicant.objects.order_by("id_number").values_list("name", flat=True))
    assert len(other) >= 600
    assert other != names
    assert Counter(other) != Counter(names)


# --- reference data -------------------------------------------------------------------------


def test_jgd_2020_quotas_match_annex_1(seeded):
    quotas = Quota.objects.filter(program__code="jgd-2020").select_related("unit")
    assert quotas.aggregate(total=Sum("task_amount"))["total"] == Decimal("30000000.00")
    assert [(q.unit.name, q.task_amount) for q in quotas] == [
        (name, wan(amount)) for name, amount in JGD_2020_TASKS_WAN.items()
    ]
    assert all(q.unit.city == "九江市" for q in quotas)


def test_every_program_has_a_quota_per_unit_of_its_city_adding_up_to_its_target(seeded):
    for program in Program.objects.filter(code__in=PROGRAM_CODES):
        quotas = Quota.objects.filter(program=program)
        units = Unit.objects.filter(city=program.city)
        assert sorted(q.unit_id for q in quotas) == sorted(u.pk for u in units)
        assert quotas.aggregate(total=Sum("task_amount"))["total"] == program.target_amount
    xuzhou = set(Unit.objects.filter(city="徐州市").values_list("name", flat=True))
    assert xuzhou == {"市本级", "铜山区", "贾汪区", "丰县", "沛县", "邳州市", "睢宁县", "新沂市"}


def test_programs_carry_the_notice_and_report_settings(seeded):
    jgd = Program.objects.get(code="jgd-2020")
    assert (jgd.name, jgd.city, jgd.year) == ("2020年九工贷", "九江市", 2020)
    assert jgd.target_amount == Decimal("30000000.00")
    assert (jgd.rate_cap_online, jgd.rate_cap_offline) == (Decimal("4.75"), Decimal("5.80"))
    assert (jgd.limit_general, jgd.limit_model_worker, jgd.limit_epidemic_relative) == (
        wan(30),
        wan(50),
        wan(50),
    )
    assert (jgd.allocation_pool, jgd.provincial_amount) == (wan(80), wan(20))
    assert (jgd.floor_ratio, jgd.cap_ratio, jgd.interest_share) == (80, 120, 100)
    assert sorted(jgd.interest_loan_types) == sorted(LoanType.values)
    assert jgd.premium_loan_types == [] and jgd.premium_share == 0
    assert str(jgd.disburse_deadline) == "2020-07-30"
    for code in ("ghd-2021", "ghd-2022"):
        ghd = Program.objects.get(code=code)
        assert ghd.city == "徐州市"
        assert sorted(ghd.interest_loan_types) == [LoanType.GUARANTEED, LoanType.MORTGAGE]
        assert sorted(ghd.premium_loan_types) == [LoanType.CREDIT, LoanType.GUARANTEED]
        assert ghd.premium_rate > 0 and ghd.premium_share == 100
    assert Program.objects.get(code="jgd-2019").year == 2019


def test_banks_and_their_review_channels(seeded):
    banks = {b.name: (b.offers_online_review, b.offers_offline_review) for b in Bank.objects.all()}
    assert banks == {
        "邮储银行九江市分行": (True, True),
        "建设银行九江市分行": (True, False),
        "江西银行九江分行": (False, True),
        "九江银行": (True, True),
        "江苏银行徐州分行": (True, True),
    }


def test_reallocations_after_the_deadline(seeded):
    rows = Reallocation.objects.filter(program__code="jgd-2020").select_related("created_by")
    assert 1 <= rows.count() <= 2
    for row in rows:
        assert str(row.reallocated_on) > "2020-07-30"
        assert row.reason.strip() and row.amount > 0
        assert row.created_by.profile.role == Role.CITY_STAFF
    assert rows.filter(
        from_unit__name="庐山管理局", to_unit__name="浔阳区", amount=wan(20)
    ).exists()


# --- volume and spread ---------------------------------------------------------------------


def test_volumes(seeded):
    assert Applicant.objects.count() >= 600
    assert Enterprise.objects.count() >= 600
    assert Application.objects.count() >= 600
    assert Loan.objects.count() >= 400
    per_program = Counter(Application.objects.values_list("program__code", flat=True))
    assert max(per_program, key=per_program.get) == "jgd-2020"
    assert set(per_program) == set(PROGRAM_CODES)


def test_every_status_channel_class_and_loan_type_present(seeded):
    statuses = Counter(Application.objects.values_list("status", flat=True))
    assert all(statuses[s] >= 3 for s in S.values), statuses
    assert statuses.most_common(1)[0][0] == S.DISBURSED
    channels = set(Application.objects.values_list("channel", flat=True))
    assert channels == set(ApplicationChannel.values)
    founders = Counter(Applicant.objects.values_list("founder_class", flat=True))
    assert set(founders) == set(FounderClass.values)
    assert founders[FounderClass.GRADUATE] > founders[FounderClass.FARMER]
    assert set(Loan.objects.values_list("loan_type", flat=True)) == set(LoanType.values)
    assert set(Loan.objects.values_list("review_channel", flat=True)) == set(ReviewChannel.values)
    classes = Counter(Application.objects.values_list("borrower_class", flat=True))
    assert set(classes) == set(BorrowerClass.values)
    total = sum(classes.values())
    assert 0.05 < classes[BorrowerClass.MODEL_WORKER] / total < 0.16
    assert Enterprise.objects.filter(is_emerging=True).exists()
    sections = set(Enterprise.objects.values_list("industry_section", flat=True))
    assert {"A", "C", "F", "H", "I", "L", "O"} <= sections


def test_completion_of_jgd_2020_units_spans_the_thresholds(seeded):
    program = Program.objects.get(code="jgd-2020")
    tasks = {q.unit_id: q.task_amount for q in Quota.objects.filter(program=program)}
    for row in Reallocation.objects.filter(program=program):
        tasks[row.from_unit_id] -= row.amount
        tasks[row.to_unit_id] += row.amount
    done = defaultdict(Decimal)
    for unit_id, amount in Loan.objects.filter(program=program).values_list(
        "unit_id", "subsidised_principal"
    ):
        done[unit_id] += amount
    rates = sorted(done[unit] / task for unit, task in tasks.items())
    assert Decimal("0.55") <= rates[0] < Decimal("0.8")
    assert Decimal("1.2") < rates[-1] <= Decimal("1.45")
    assert any(Decimal("0.8") <= rate <= Decimal("1.2") for rate in rates)


# --- validity -------------------------------------------------------------------------------


def test_identity_numbers_are_valid(seeded):
    for id_number, mobile in Applicant.objects.values_list("id_number", "mobile"):
        assert validate_resident_id(id_number) == id_number
        assert id_number[:4] in ("3604", "3203")
        assert validate_mobile(mobile) == mobile
    for code in Enterprise.objects.values_list("credit_code", flat=True):
        assert validate_credit_code(code) == code


def test_loans_follow_the_program_rules(seeded):
    loans = Loan.objects.select_related("program", "application", "bank")
    at_cap = leveraged = 0
    for loan in loans:
        program, application = loan.program, loan.application
        cap = program.rate_cap(loan.review_channel)
        assert 0 < loan.annual_rate <= cap
        at_cap += loan.annual_rate == cap
        limit = program.limit_for(application.borrower_class)
        assert loan.principal == loan.subsidised_principal + loan.leveraged_amount
        assert loan.subsidised_principal == min(loan.principal, limit)
        leveraged += loan.leveraged_amount > 0
        assert loan.principal % 1000 == 0 and wan(5) <= loan.principal <= wan(60)
        assert loan.maturity_on == add_months(loan.disbursed_on, 12)
        assert (loan.status == LoanStatus.ACTIVE) == (loan.settled_on is None)
        assert application.status == S.DISBURSED and application.program_id == loan.program_id
        assert (loan.unit_id, loan.bank_id) == (application.unit_id, application.bank_id)
        assert (loan.review_channel, loan.loan_type) == (
            application.review_channel,
            application.loan_type,
        )
        assert loan.principal <= application.approved_amount
        assert loan.disbursed_on >= application.applied_on
        if loan.review_channel == ReviewChannel.ONLINE:
            assert loan.bank.offers_online_review
        else:
            assert loan.bank.offers_offline_review
        if application.channel == ApplicationChannel.BANK_ONLINE:
            assert loan.review_channel == ReviewChannel.ONLINE
        if loan.renewal_of_id is None:
            assert 5 <= loan.disbursed_on.month <= 9 and loan.disbursed_on.year == program.year
            assert 4 <= application.applied_on.month <= 7
    assert at_cap >= 10 and leveraged >= 5
    assert Loan.objects.filter(bank__code="ccb-jiujiang", review_channel="offline").count() == 0
    assert Loan.objects.filter(bank__code="jxbank-jiujiang", review_channel="online").count() == 0


def test_renewals(seeded):
    renewals = Loan.objects.filter(renewal_of__isnull=False).select_related(
        "renewal_of__application", "renewal_of__program", "application", "program"
    )
    assert renewals.filter(program__code="jgd-2020").count() >= 5
    assert renewals.filter(program__code="ghd-2022").count() >= 5
    for loan in renewals:
        old = loan.renewal_of
        assert old.status == LoanStatus.RENEWED
        assert old.settled_on == loan.disbursed_on
        assert loan.application.applicant_id == old.application.applicant_id
        assert loan.application_id != old.application_id
        assert loan.program.year == old.program.year + 1
        assert loan.program.city == old.program.city
        assert (loan.disbursed_on.year, loan.disbursed_on.month) == (
            old.maturity_on.year,
            old.maturity_on.month,
        )
    renewed = Loan.objects.filter(status=LoanStatus.RENEWED)
    assert renewed.count() == renewals.count()
    assert not renewed.filter(renewed_by__isnull=True).exists()
    # Most of last year's loans are settled; few of this year's.
    for old_code in ("jgd-2019", "ghd-2021"):
        assert not Loan.objects.filter(program__code=old_code, status=LoanStatus.ACTIVE).exists()
    assert Loan.objects.filter(program__code="jgd-2020", status=LoanStatus.REPAID).exists()


def test_repayments_carry_interest_at_360_days(seeded):
    repayments = Repayment.objects.select_related("loan")
    assert repayments.count() >= 20
    for repayment in repayments:
        loan = repayment.loan
        days = (repayment.repaid_on - loan.disbursed_on).days
        expected = round_fen(loan.principal * loan.annual_rate / 100 * days / Decimal(360))
        assert repayment.interest_amount == expected
        assert repayment.principal_amount == loan.principal
        assert loan.status == LoanStatus.REPAID and loan.settled_on == repayment.repaid_on
    assert Loan.objects.filter(status=LoanStatus.REPAID).count() == repayments.count()


def test_follow_ups_are_quarterly(seeded):
    follow_ups = FollowUp.objects.select_related("loan")
    assert follow_ups.count() >= Loan.objects.count()
    for row in follow_ups:
        assert row.insured_employees <= row.jobs
        assert (row.visited_on.year, (row.visited_on.month - 1) // 3 + 1) == (row.year, row.quarter)
        assert row.visited_on >= row.loan.disbursed_on
        if row.loan.settled_on:
            assert row.visited_on <= row.loan.settled_on
    statuses = set(follow_ups.values_list("operating_status", flat=True))
    assert OperatingStatus.NORMAL in statuses and len(statuses) >= 2


def test_applications_are_consistent_with_their_status(seeded):
    applications = Application.objects.select_related("program").prefetch_related(
        "checks", "opinions", "events"
    )
    for app in applications:
        assert (
            app.reference.startswith(f"{app.program.code}-")
            and len(app.reference) == len(app.program.code) + 7
        )
        status, channel = app.status, app.channel
        events = list(app.events.all())
        transitions = [e for e in events if e.to_status]
        assert transitions[0].action == "create" and transitions[0].from_status == ""
        for before, after in pairwise(transitions):
            assert after.from_status == before.to_status
            assert after.created_at >= before.created_at
        assert transitions[-1].to_status == status
        assert app.status_changed_at == transitions[-1].created_at
        actions = {e.action for e in transitions}
        after_recommend = "recommend" in actions or channel != ApplicationChannel.UNION_REFERRAL
        assert (app.bank_id is not None) == after_recommend
        decided = status in BANK_DECIDED
        assert (app.approved_amount is not None) == decided
        assert (app.approved_rate is not None) == decided
        assert bool(app.loan_type) == decided and bool(app.review_channel) == decided
        assert (app.decided_at is not None) == (decided or status == S.BANK_DECLINED)
        if decided:
            assert app.approved_rate <= app.program.rate_cap(app.review_channel)
        consent = channel == ApplicationChannel.BANK_ONLINE and status in (
            S.CONSENT_REQUESTED,
            S.CONSENTED,
            S.CONSENT_REFUSED,
            S.DISBURSED,
        )
        assert (app.consent_subsidy_amount is not None) == consent
        if consent:
            assert app.consent_subsidy_amount >= 0
        if status in (S.CONSENT_REQUESTED, S.CONSENTED, S.CONSENT_REFUSED):
            assert channel == ApplicationChannel.BANK_ONLINE
        if status in (S.DRAFT, S.RETURNED, S.REJECTED, S.RECOMMENDED):
            assert channel != ApplicationChannel.BANK_ONLINE
        checks = list(app.checks.all())
        assert sorted(c.rule for c in checks) == sorted(CheckRule.values)
        went_on = bool(actions & {"recommend", "consent"})
        for check in checks:
            if went_on and not check.passed:
                assert check.override_reason and check.overridden_by_id
            if check.passed:
                assert not check.override_reason
        kinds = {o.kind for o in app.opinions.all()}
        if status in BANK_DECIDED or status == S.BANK_DECLINED:
            assert OpinionKind.BANK in kinds
        if went_on or status in (S.REJECTED, S.CONSENT_REFUSED):
            assert OpinionKind.COUNTY_UNION in kinds
        if channel == ApplicationChannel.UNION_REFERRAL and status != S.DRAFT:
            assert OpinionKind.RECOMMENDER in kinds


def test_failed_checks_of_rejected_applications_and_overrides(seeded):
    excluded = 0
    for app in Application.objects.select_related("enterprise", "program"):
        enterprise = app.enterprise
        if is_excluded_industry(
            excluded=app.program.excluded_industries,
            section=enterprise.industry_section,
            code=enterprise.industry_code,
        ):
            excluded += 1
            assert app.status in (S.REJECTED, S.CONSENT_REFUSED)
    assert excluded >= 4
    failed_rules = set(EligibilityCheck.objects.filter(passed=False).values_list("rule", flat=True))
    assert failed_rules == set(CheckRule.values)
    overridden = EligibilityCheck.objects.exclude(override_reason="")
    assert overridden.exists()
    assert not overridden.filter(rule=CheckRule.EXCLUDED_INDUSTRY).exists()
    assert not overridden.filter(overridden_by__isnull=True).exists()


# --- users ----------------------------------------------------------------------------------


def test_demo_users_have_their_roles_and_can_sign_in(seeded, client):
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    expected = {
        "county": (Role.COUNTY_STAFF, "修水县", None),
        "city": (Role.CITY_STAFF, None, None),
        "bank": (Role.BANK_OFFICER, None, "九江银行"),
        "manager": (Role.MANAGER, None, None),
    }
    for username, (role, unit, bank) in expected.items():
        profile = User.objects.get(username=username).profile
        assert profile.role == role
        assert (profile.unit.name if profile.unit else None) == unit
        assert (profile.bank.name if profile.bank else None) == bank
    for spec in DEMO_USERS:
        if spec.password:
            # The login lockout (django-axes) needs the request that signs in.
            request = RequestFactory().post("/accounts/login/")
            signed_in = client.login(
                request=request, username=spec.username, password=spec.password
            )
            assert signed_in, spec.username
            client.logout()
        else:
            assert not User.objects.get(username=spec.username).has_usable_password()
