"""The application workflow: every allowed and every forbidden transition, by role and scope."""

import itertools
from decimal import Decimal

import pytest

from accounts.choices import Role
from gonghui.errors import DomainError
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import LoanType, ReviewChannel
from loans.models import Application, ApplicationEvent
from loans.services.eligibility import store_pre_loan_checks
from loans.services.workflow import (
    ACTIONS,
    TRANSITIONS,
    apply_transition,
    available_actions,
    find_transition,
)
from tests.factories import ApplicationFactory, EnterpriseFactory, LoanFactory

pytestmark = pytest.mark.django_db

REF = (C.UNION_REFERRAL, C.BANK_REFERRAL)

# Written out independently of the service's table, from SPEC.md and the notice.
EXPECTED = {
    **{(S.DRAFT, ch, "submit"): S.SUBMITTED for ch in REF},
    **{(S.RETURNED, ch, "submit"): S.SUBMITTED for ch in REF},
    **{(S.SUBMITTED, ch, "return"): S.RETURNED for ch in REF},
    **{(S.SUBMITTED, ch, "reject"): S.REJECTED for ch in REF},
    **{(S.SUBMITTED, ch, "recommend"): S.RECOMMENDED for ch in REF},
    **{(S.RECOMMENDED, ch, "approve"): S.BANK_APPROVED for ch in REF},
    **{(S.RECOMMENDED, ch, "decline"): S.BANK_DECLINED for ch in REF},
    **{(S.BANK_APPROVED, ch, "disburse"): S.DISBURSED for ch in REF},
    (S.SUBMITTED, C.BANK_ONLINE, "approve"): S.BANK_APPROVED,
    (S.SUBMITTED, C.BANK_ONLINE, "decline"): S.BANK_DECLINED,
    (S.BANK_APPROVED, C.BANK_ONLINE, "request_consent"): S.CONSENT_REQUESTED,
    (S.CONSENT_REQUESTED, C.BANK_ONLINE, "consent"): S.CONSENTED,
    (S.CONSENT_REQUESTED, C.BANK_ONLINE, "refuse_consent"): S.CONSENT_REFUSED,
    (S.CONSENTED, C.BANK_ONLINE, "disburse"): S.DISBURSED,
}
BANK_ACTIONS = {"approve", "decline", "request_consent", "disburse"}
ALL_COMBOS = list(itertools.product(S.values, C.values, sorted(ACTIONS)))
FORBIDDEN = [combo for combo in ALL_COMBOS if combo not in EXPECTED]
NOTE = "原因说明"


@pytest.fixture
def application(program, unit, bank):
    return ApplicationFactory(program=program, unit=unit, bank=bank)


def set_state(application, status, channel):
    Application.objects.filter(pk=application.pk).update(status=status, channel=channel)
    application.refresh_from_db()
    return application


def actor_for(action, request):
    return request.getfixturevalue("bank_user" if action in BANK_ACTIONS else "city_user")


DECISION = {
    "approved_amount": Decimal("200000.00"),
    "approved_rate": Decimal("4.75"),
    "loan_type": LoanType.GUARANTEED,
    "review_channel": ReviewChannel.ONLINE,
}


def satisfy_guards(application, action) -> dict:
    """Put the application in the state the transition's guards ask for; return the field
    changes the calling service would pass along."""
    store_pre_loan_checks(application)
    if action == "disburse":
        Application.objects.filter(pk=application.pk).update(**DECISION)
        LoanFactory(application=application)
    if action == "approve":
        return DECISION
    if action == "request_consent":
        return {"consent_subsidy_amount": Decimal("9500.00")}
    return {}


def test_the_transition_table_is_exactly_the_expected_workflow():
    allowed = {
        (status, channel, action): find_transition(action=action, status=status, channel=channel)
        for status, channel, action in ALL_COMBOS
    }
    assert {k: t.target for k, t in allowed.items() if t} == EXPECTED


def test_disbursement_needs_consent_only_on_the_bank_online_channel():
    assert find_transition(action="disburse", status=S.BANK_APPROVED, channel=C.BANK_ONLINE) is None
    for channel in REF:
        assert find_transition(action="disburse", status=S.BANK_APPROVED, channel=channel)


@pytest.mark.parametrize(("status", "channel", "action"), sorted(EXPECTED))
def test_allowed_transition_moves_the_status_and_records_the_event(
    application, request, status, channel, action
):
    set_state(application, status, channel)
    changes = satisfy_guards(application, action)
    user = actor_for(action, request)
    apply_transition(application, action=action, user=user, note=NOTE, **changes)
    application.refresh_from_db()
    assert application.status == EXPECTED[(status, channel, action)]
    event = application.events.get(action=action)
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        action,
        status,
        application.status,
        user,
    )


@pytest.mark.parametrize(("status", "channel", "action"), FORBIDDEN)
def test_forbidden_transition_is_refused_and_writes_nothing(
    application, request, status, channel, action
):
    set_state(application, status, channel)
    before = application.status_changed_at
    with pytest.raises(DomainError) as error:
        apply_transition(application, action=action, user=actor_for(action, request), note=NOTE)
    assert error.value.code == "invalid_transition"
    assert "不能执行该操作" in error.value.message
    application.refresh_from_db()
    assert (application.status, application.status_changed_at) == (status, before)
    assert not ApplicationEvent.objects.exists()


ROLE_FIXTURES = {
    Role.COUNTY_STAFF: "county_user",
    Role.CITY_STAFF: "city_user",
    Role.BANK_OFFICER: "bank_user",
    Role.MANAGER: "manager_user",
}
ROLE_CASES = [
    (t.action, status, channel, role)
    for t in TRANSITIONS
    for status in sorted(t.sources)
    for channel in sorted(t.channels)
    for role in ROLE_FIXTURES
    if role not in t.roles
]


@pytest.mark.parametrize(("action", "status", "channel", "role"), ROLE_CASES)
def test_role_that_may_not_take_a_transition_is_refused(
    application, request, action, status, channel, role
):
    set_state(application, status, channel)
    user = request.getfixturevalue(ROLE_FIXTURES[role])
    with pytest.raises(DomainError) as error:
        apply_transition(application, action=action, user=user, note=NOTE)
    assert error.value.code == "permission_denied"
    application.refresh_from_db()
    assert application.status == status
    assert not ApplicationEvent.objects.exists()


def test_user_without_a_role_is_refused(application, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-pass-123")
    set_state(application, S.DRAFT, C.UNION_REFERRAL)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action="submit", user=nobody)
    assert error.value.code == "permission_denied"


def test_county_staff_of_another_unit_cannot_act(application, other_county_user):
    set_state(application, S.DRAFT, C.UNION_REFERRAL)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action="submit", user=other_county_user)
    assert error.value.code == "not_found"
    application.refresh_from_db()
    assert application.status == S.DRAFT


def test_county_staff_of_the_unit_can_act(application, county_user):
    set_state(application, S.DRAFT, C.UNION_REFERRAL)
    apply_transition(application, action="submit", user=county_user)
    assert application.status == S.SUBMITTED


def test_officer_of_another_bank_cannot_act(application, other_bank_user):
    set_state(application, S.RECOMMENDED, C.UNION_REFERRAL)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action="approve", user=other_bank_user)
    assert error.value.code == "not_found"
    application.refresh_from_db()
    assert application.status == S.RECOMMENDED


@pytest.mark.parametrize("action", ["return", "reject", "decline", "refuse_consent"])
def test_refusals_need_a_written_reason(application, request, action):
    (status, channel) = next((s, c) for (s, c, a) in EXPECTED if a == action)
    set_state(application, status, channel)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action=action, user=actor_for(action, request), note="  ")
    assert error.value.code == "reason_required"
    assert "note" in error.value.field_errors
    application.refresh_from_db()
    assert application.status == status


def test_unknown_action_is_refused(application, city_user):
    with pytest.raises(DomainError) as error:
        apply_transition(application, action="teleport", user=city_user)
    assert error.value.code == "unknown_action"


def test_available_actions_follow_status_role_and_scope(
    application, county_user, other_county_user, bank_user, manager_user
):
    set_state(application, S.SUBMITTED, C.UNION_REFERRAL)
    assert {t.action for t in available_actions(application, county_user)} == {
        "return",
        "reject",
        "recommend",
    }
    assert available_actions(application, other_county_user) == []
    assert available_actions(application, bank_user) == []
    assert available_actions(application, manager_user) == []
    set_state(application, S.RECOMMENDED, C.UNION_REFERRAL)
    assert {t.action for t in available_actions(application, bank_user)} == {"approve", "decline"}


GUARDED = [
    ("recommend", S.SUBMITTED, C.UNION_REFERRAL, "pre_loan_checks_failed"),
    ("consent", S.CONSENT_REQUESTED, C.BANK_ONLINE, "pre_loan_checks_failed"),
    ("approve", S.RECOMMENDED, C.UNION_REFERRAL, "decision_incomplete"),
    ("approve", S.SUBMITTED, C.BANK_ONLINE, "decision_incomplete"),
    ("request_consent", S.BANK_APPROVED, C.BANK_ONLINE, "subsidy_missing"),
    ("disburse", S.BANK_APPROVED, C.UNION_REFERRAL, "loan_missing"),
    ("disburse", S.CONSENTED, C.BANK_ONLINE, "loan_missing"),
]


@pytest.mark.parametrize(("action", "status", "channel", "code"), GUARDED)
def test_transition_guards_hold_whoever_calls_the_state_machine(
    program, unit, bank, request, action, status, channel, code
):
    application = ApplicationFactory(
        program=program, unit=unit, bank=bank, enterprise=EnterpriseFactory(employees=1)
    )
    store_pre_loan_checks(application)  # the jobs check fails and is not overridden
    set_state(application, status, channel)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action=action, user=actor_for(action, request))
    assert error.value.code == code
    application.refresh_from_db()
    assert application.status == status
    assert not ApplicationEvent.objects.exists()


def test_recommend_needs_a_bank_even_when_called_directly(application, city_user):
    Application.objects.filter(pk=application.pk).update(bank=None)
    set_state(application, S.SUBMITTED, C.UNION_REFERRAL)
    store_pre_loan_checks(application)
    with pytest.raises(DomainError) as error:
        apply_transition(application, action="recommend", user=city_user)
    assert error.value.code == "bank_required"
