"""Reads of applications and loans that the portal, the API and the reports share.

Each selector applies the user's scope and owns its joins, so a list costs the same
number of queries whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import restrict, role_of
from loans.choices import ApplicationStatus, LoanStatus
from loans.models import (
    Application,
    ApplicationEvent,
    EligibilityCheck,
    FollowUp,
    Loan,
    Opinion,
    Program,
)


def application_list(user) -> QuerySet[Application]:
    return restrict(
        Application.objects.select_related("applicant", "enterprise", "unit", "bank", "program"),
        user,
    ).order_by("-applied_on", "-id")


def application_detail(user) -> QuerySet[Application]:
    return restrict(
        Application.objects.select_related(
            "applicant", "enterprise", "unit", "bank", "program", "created_by"
        ).prefetch_related(
            Prefetch("checks", queryset=EligibilityCheck.objects.select_related("overridden_by")),
            Prefetch("opinions", queryset=Opinion.objects.select_related("author")),
            Prefetch(
                "events",
                queryset=ApplicationEvent.objects.select_related("actor").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("loans", queryset=Loan.objects.order_by("disbursed_on")),
        ),
        user,
    )


def loan_list(user) -> QuerySet[Loan]:
    return restrict(
        Loan.objects.select_related(
            "application__applicant", "application__enterprise", "unit", "bank", "program"
        ),
        user,
    ).order_by("-disbursed_on", "-id")


# Statuses waiting on someone: the union (draft/submitted/returned/consent) or the bank.
WAITING_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.RETURNED,
    ApplicationStatus.RECOMMENDED,
    ApplicationStatus.BANK_APPROVED,
    ApplicationStatus.CONSENT_REQUESTED,
    ApplicationStatus.CONSENTED,
)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def overdue_applications(user, *, now=None) -> QuerySet[Application]:
    """Applications that have waited at their stage longer than their program allows."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for program in Program.objects.filter(is_active=True).only("pk", "max_days_per_stage"):
        condition |= Q(
            program=program,
            status_changed_at__lt=now - timedelta(days=program.max_days_per_stage),
        )
    return application_list(user).filter(condition, status__in=WAITING_STATUSES)


def follow_ups_due(user, *, today: date) -> QuerySet[Loan]:
    """Active loans with no follow-up recorded for the current quarter."""
    year, quarter = quarter_of(today)
    done = FollowUp.objects.filter(loan=OuterRef("pk"), year=year, quarter=quarter)
    return (
        loan_list(user)
        .filter(status=LoanStatus.ACTIVE, disbursed_on__lte=today)
        .annotate(followed=Exists(done))
        .filter(followed=False)
    )


@dataclass(frozen=True)
class Reminder:
    kind: str
    text: str
    count: int
    url: str


def reminders_for(user, *, today: date | None = None) -> list[Reminder]:
    """What the user's home page highlights and the daily digest e-mails."""
    from django.urls import reverse

    today = today or timezone.localdate()
    reminders = []
    role = role_of(user)
    if role in (Role.COUNTY_STAFF, Role.CITY_STAFF, Role.BANK_OFFICER):
        overdue = overdue_applications(user).count()
        if overdue:
            reminders.append(
                Reminder(
                    "overdue",
                    f"{overdue}件申请在当前环节停留超过项目规定天数",
                    overdue,
                    reverse("loans:application-list") + "?overdue=1",
                )
            )
    if role in (Role.COUNTY_STAFF, Role.CITY_STAFF):
        due = follow_ups_due(user, today=today).count()
        if due:
            year, quarter = quarter_of(today)
            reminders.append(
                Reminder(
                    "follow_up",
                    f"本季度（{year}年第{quarter}季度）有{due}笔贷款待贷后跟踪",
                    due,
                    reverse("loans:follow-ups-due"),
                )
            )
        if today.day <= 2:
            reminders.append(
                Reminder(
                    "monthly_report",
                    f"请于{today.month}月2日前报送上月“业务完成情况统计表”（附件3）",
                    1,
                    reverse("loans:application-list"),
                )
            )
    return reminders
