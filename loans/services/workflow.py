"""The application workflow as an explicit state machine.

Callers outside this package use the named services of ``loans.services.applications``
and ``loans.services.loans``; ``apply_transition`` is their common last step.

draft → submitted → recommended / returned / rejected → bank approved / declined
→ union consent where the channel needs it → disbursed.

Each transition names the statuses it leaves from, the channels it applies to and the
roles that may take it. ``apply_transition`` is the only code that changes an
application's status: it locks the row, checks workflow, role and scope, and records the
change on the timeline, all in one transaction, so a refused transition writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import in_scope, role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.models import Application
from loans.services.webhooks import notify_application_event

UNION_STAFF = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF})
BANK = frozenset({Role.BANK_OFFICER})
REFERRALS = frozenset({C.UNION_REFERRAL, C.BANK_REFERRAL})
ONLINE = frozenset({C.BANK_ONLINE})
ALL_CHANNELS = frozenset(C.values)


def _bank_chosen(application: Application) -> None:
    if application.bank_id is None:
        raise DomainError.for_field("bank", "bank_required", "请选择推荐的合作银行")


def _checks_satisfied(application: Application) -> None:
    """Every stored pre-loan check passed or carries a written override reason."""
    from loans.services.eligibility import unsatisfied_checks

    failed = unsatisfied_checks(application)
    if failed or not application.checks.exists():
        names = "、".join(c.get_rule_display() for c in failed) or "尚未审查"
        raise DomainError(
            "pre_loan_checks_failed",
            f"贷前审查未通过：{names}。请退回、拒绝，或填写例外通过理由",
            field_errors={c.rule: [c.reason] for c in failed},
        )


def _decision_recorded(application: Application) -> None:
    if (
        application.approved_amount is None
        or application.approved_rate is None
        or not application.loan_type
        or not application.review_channel
    ):
        raise DomainError("decision_incomplete", "银行审批须包含金额、利率、贷款类型和审核方式")


def _subsidy_estimated(application: Application) -> None:
    if application.consent_subsidy_amount is None:
        raise DomainError("subsidy_missing", "征求工会意见须附测算的贴息金额")


def _loan_recorded(application: Application) -> None:
    from loans.choices import LoanStatus

    if not application.loans.filter(status=LoanStatus.ACTIVE).exists():
        raise DomainError("loan_missing", "放款须登记贷款合同")


@dataclass(frozen=True)
class Transition:
    """One edge of the workflow. ``guards`` are the conditions the row must meet after the
    transition's field changes, so no caller can move an application past a rule."""

    action: str
    label: str
    sources: frozenset[str]
    target: str
    channels: frozenset[str]
    roles: frozenset[str]
    needs_note: bool = False
    guards: tuple[Callable[[Application], None], ...] = ()


_T = Transition
_REVIEWED = (_checks_satisfied,)
TRANSITIONS: tuple[Transition, ...] = (
    _T("submit", "提交审核", frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, REFERRALS, UNION_STAFF),
    _T("return", "退回修改", frozenset({S.SUBMITTED}), S.RETURNED, REFERRALS, UNION_STAFF, True),
    _T("reject", "不予推荐", frozenset({S.SUBMITTED}), S.REJECTED, REFERRALS, UNION_STAFF, True),
    _T(
        "recommend",
        "推荐至银行",
        frozenset({S.SUBMITTED}),
        S.RECOMMENDED,
        REFERRALS,
        UNION_STAFF,
        guards=(_bank_chosen, _checks_satisfied),
    ),
    _T(
        "approve",
        "银行审批通过",
        frozenset({S.RECOMMENDED}),
        S.BANK_APPROVED,
        REFERRALS,
        BANK,
        guards=(_decision_recorded,),
    ),
    _T(
        "approve",
        "银行审批通过",
        frozenset({S.SUBMITTED}),
        S.BANK_APPROVED,
        ONLINE,
        BANK,
        guards=(_decision_recorded,),
    ),
    _T(
        "decline",
        "银行审批未通过",
        frozenset({S.RECOMMENDED}),
        S.BANK_DECLINED,
        REFERRALS,
        BANK,
        True,
    ),
    _T("decline", "银行审批未通过", frozenset({S.SUBMITTED}), S.BANK_DECLINED, ONLINE, BANK, True),
    _T(
        "request_consent",
        "申请工会同意贴息",
        frozenset({S.BANK_APPROVED}),
        S.CONSENT_REQUESTED,
        ONLINE,
        BANK,
        guards=(_subsidy_estimated,),
    ),
    _T(
        "consent",
        "同意贴息",
        frozenset({S.CONSENT_REQUESTED}),
        S.CONSENTED,
        ONLINE,
        UNION_STAFF,
        guards=_REVIEWED,
    ),
    _T(
        "refuse_consent",
        "不同意贴息",
        frozenset({S.CONSENT_REQUESTED}),
        S.CONSENT_REFUSED,
        ONLINE,
        UNION_STAFF,
        True,
    ),
    _T(
        "disburse",
        "放款",
        frozenset({S.BANK_APPROVED}),
        S.DISBURSED,
        REFERRALS,
        BANK,
        guards=(_loan_recorded,),
    ),
    _T(
        "disburse",
        "放款",
        frozenset({S.CONSENTED}),
        S.DISBURSED,
        ONLINE,
        BANK,
        guards=(_loan_recorded,),
    ),
)

ACTIONS = frozenset(t.action for t in TRANSITIONS)


def find_transition(*, action: str, status: str, channel: str) -> Transition | None:
    """The transition an action takes from a status on a channel, or None if there is none."""
    for transition in TRANSITIONS:
        if (
            transition.action == action
            and status in transition.sources
            and channel in transition.channels
        ):
            return transition
    return None


def available_actions(application: Application, user) -> list[Transition]:
    """The transitions the workflow, the user's role and scope allow now (for showing buttons)."""
    role = role_of(user)
    if role is None or not in_scope(user, application):
        return []
    return [
        t
        for t in TRANSITIONS
        if application.status in t.sources and application.channel in t.channels and role in t.roles
    ]


def check_transition(application: Application, *, action: str, user, note: str = "") -> Transition:
    """Raise a DomainError unless ``user`` may take ``action`` on the application now."""
    if action not in ACTIONS:
        raise DomainError("unknown_action", f"未知的操作：{action}")
    transition = find_transition(
        action=action, status=application.status, channel=application.channel
    )
    if transition is None:
        raise DomainError(
            "invalid_transition",
            f"申请当前状态为「{application.get_status_display()}」"
            f"（{application.get_channel_display()}），不能执行该操作",
        )
    role = role_of(user)
    if role not in transition.roles:
        raise DomainError("permission_denied", f"您的角色无权执行「{transition.label}」操作")
    if not in_scope(user, application):
        raise DomainError("not_found", "申请不存在或不在您的管辖范围内")
    if transition.needs_note and not (note or "").strip():
        raise DomainError.for_field("note", "reason_required", f"「{transition.label}」须填写原因")
    return transition


@writes_as_user
@transaction.atomic
def apply_transition(
    application: Application, *, action: str, user, note: str = "", **changes
) -> Application:
    """Move the application along one transition, with any field changes that go with it.

    The row is re-read under a lock so two users acting at once cannot both move it.
    """
    locked = Application.objects.select_for_update().get(pk=application.pk)
    transition = check_transition(locked, action=action, user=user, note=note)
    from_status = locked.status
    for field, value in changes.items():
        setattr(locked, field, value)
    for guard in transition.guards:
        guard(locked)
    locked.status = transition.target
    locked.status_changed_at = timezone.now()
    locked.save()
    event = locked.events.create(
        action=action,
        from_status=from_status,
        to_status=transition.target,
        actor=user,
        note=(note or "").strip(),
    )
    notify_application_event(event)  # the bank's status callback, sent after the commit
    # Keep the caller's object in step with the stored row.
    application.refresh_from_db()
    return application
