"""Reads of applications and loans that the portal, the API and the reports share.

Each selector applies the user's scope and owns its joins, so a list costs the same
number of queries whatever its length. The ``*_rows`` selectors serve the lists (the list
pages and the bank API): they join only what a row shows and load only those columns of the
related rows, so a page of rows neither joins the program (and decodes its JSON policy
columns) nor reads and decrypts the applicant's mobile number, which no list shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import restrict, role_of
from loans.choices import ApplicationStatus, LoanStatus
from loans.models import (
    Applicant,
    Application,
    ApplicationEvent,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Opinion,
    Program,
)


def only_related(relation: str, model: type[Model], keep: tuple[str, ...]) -> list[str]:
    """``defer()`` arguments that leave only ``keep`` (and the key) of a joined model."""
    return [
        f"{relation}__{field.name}"
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in keep
    ]


def application_list(user) -> QuerySet[Application]:
    return restrict(
        Application.objects.select_related("applicant", "enterprise", "unit", "bank", "program"),
        user,
    ).order_by("-applied_on", "-id")


# What an application row shows of its applicant (the ID only masked) and its enterprise.
ROW_APPLICANT_FIELDS = ("name", "id_number", "founder_class", "is_model_worker", "is_union_member")
ROW_ENTERPRISE_FIELDS = ("name", "credit_code", "industry_section", "employees", "licence_date")


def application_rows(user, *, joins: tuple[str, ...] = ()) -> QuerySet[Application]:
    """The user's applications as list rows: every column of the application, the
    applicant's and enterprise's ``ROW_*_FIELDS`` and the further ``joins`` a row displays
    ("unit", "bank"; the bank API shows only their ids)."""
    return restrict(
        Application.objects.select_related("applicant", "enterprise", *joins).defer(
            *only_related("applicant", Applicant, ROW_APPLICANT_FIELDS),
            *only_related("enterprise", Enterprise, ROW_ENTERPRISE_FIELDS),
        ),
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


def loan_rows(user) -> QuerySet[Loan]:
    """The user's loans with no join: the bank API's rows, which show related rows by id."""
    return restrict(Loan.objects.all(), user).order_by("-disbursed_on", "-id")


def loan_table_rows(user) -> QuerySet[Loan]:
    """The loan list page's rows: each loan with its borrower's and enterprise's names, its
    unit and its bank (nothing else of the application, applicant or enterprise)."""
    return (
        loan_rows(user)
        .select_related("application__applicant", "application__enterprise", "unit", "bank")
        .defer(
            *only_related("application", Application, ("applicant", "enterprise")),
            *only_related("application__applicant", Applicant, ("name",)),
            *only_related("application__enterprise", Enterprise, ("name",)),
        )
    )


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
    return only_overdue(application_list(user), now=now)


def only_overdue(applications: QuerySet[Application], *, now=None) -> QuerySet[Application]:
    """Those of ``applications`` that have waited at their stage longer than allowed."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for program in Program.objects.filter(is_active=True).only("pk", "max_days_per_stage"):
        condition |= Q(
            program=program,
            status_changed_at__lt=now - timedelta(days=program.max_days_per_stage),
        )
    return applications.filter(condition, status__in=WAITING_STATUSES)


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
