"""The application workflow as an explicit state machine.

draft → submitted → recommended / returned / rejected → bank approved / declined
→ union consent where the channel needs it → disbursed.

Each transition names the statuses it leaves from, the channels it applies to and the
roles that may take it. ``apply_transition`` is the only code that changes an
application's status: it locks the row, checks workflow, role and scope, and records the
change on the timeline, all in one transaction, so a refused transition writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import in_scope, role_of
from gonghui.errors import DomainError
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.models import Application

UNION_STAFF = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF})
BANK = frozenset({Role.BANK_OFFICER})
REFERRALS = frozenset({C.UNION_REFERRAL, C.BANK_REFERRAL})
ONLINE = frozenset({C.BANK_ONLINE})
ALL_CHANNELS = frozenset(C.values)


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str
    channels: frozenset[str]
    roles: frozenset[str]
    needs_note: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "submit", "提交审核", frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, REFERRALS, UNION_STAFF
    ),
    Transition(
        "return", "退回修改", frozenset({S.SUBMITTED}), S.RETURNED, REFERRALS, UNION_STAFF, True
    ),
    Transition(
        "reject", "不予推荐", frozenset({S.SUBMITTED}), S.REJECTED, REFERRALS, UNION_STAFF, True
    ),
    Transition(
        "recommend", "推荐至银行", frozenset({S.SUBMITTED}), S.RECOMMENDED, REFERRALS, UNION_STAFF
    ),
    Transition(
        "approve", "银行审批通过", frozenset({S.RECOMMENDED}), S.BANK_APPROVED, REFERRALS, BANK
    ),
    Transition("approve", "银行审批通过", frozenset({S.SUBMITTED}), S.BANK_APPROVED, ONLINE, BANK),
    Transition(
        "decline",
        "银行审批未通过",
        frozenset({S.RECOMMENDED}),
        S.BANK_DECLINED,
        REFERRALS,
        BANK,
        True,
    ),
    Transition(
        "decline", "银行审批未通过", frozenset({S.SUBMITTED}), S.BANK_DECLINED, ONLINE, BANK, True
    ),
    Transition(
        "request_consent",
        "申请工会同意贴息",
        frozenset({S.BANK_APPROVED}),
        S.CONSENT_REQUESTED,
        ONLINE,
        BANK,
    ),
    Transition(
        "consent", "同意贴息", frozenset({S.CONSENT_REQUESTED}), S.CONSENTED, ONLINE, UNION_STAFF
    ),
    Transition(
        "refuse_consent",
        "不同意贴息",
        frozenset({S.CONSENT_REQUESTED}),
        S.CONSENT_REFUSED,
        ONLINE,
        UNION_STAFF,
        True,
    ),
    Transition("disburse", "放款", frozenset({S.BANK_APPROVED}), S.DISBURSED, REFERRALS, BANK),
    Transition("disburse", "放款", frozenset({S.CONSENTED}), S.DISBURSED, ONLINE, BANK),
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
    locked.status = transition.target
    locked.status_changed_at = timezone.now()
    locked.save()
    locked.events.create(
        action=action,
        from_status=from_status,
        to_status=transition.target,
        actor=user,
        note=(note or "").strip(),
    )
    # Keep the caller's object in step with the stored row.
    application.refresh_from_db()
    return application
