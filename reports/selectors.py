"""The dashboard's figures: aggregate queries over the loans a user may see.

Each figure is one ``values().annotate()`` query run by the database (the unit completion
reuses ``quotas.selectors.quota_table``), so the dashboard costs the same number of queries
whatever the number of loans, units or programs; Python only reshapes the grouped rows.
The loans are scoped with ``accounts.scoping.restrict``: county staff see their own unit's
figures, city staff and managers every unit's. Amounts are Decimal in 元; rows offer them in
万元 (``*_wan``) for the page, and :meth:`Dashboard.chart_data` turns them into the JSON the
charts draw.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractYear, TruncMonth

from accounts.scoping import profile_of, restrict
from gonghui.money import HUNDRED, ZERO, to_wan
from loans.choices import (
    PRIMARY_SECTIONS,
    SECONDARY_SECTIONS,
    FounderClass,
    IndustryGroup,
    OperatingStatus,
)
from loans.models import FollowUp, Loan, Program, Unit
from quotas.models import Quota, Reallocation
from quotas.selectors import quota_table

NOT_FOLLOWED_UP = "none"
NOT_FOLLOWED_UP_LABEL = "尚未跟踪"

# The Xuzhou report's industry groups, computed in SQL from the enterprise of each loan:
# the 新兴产业 flag wins, otherwise the section decides 第一/第二/第三产业.
INDUSTRY_GROUP = Case(
    When(application__enterprise__is_emerging=True, then=Value(IndustryGroup.EMERGING.value)),
    When(
        application__enterprise__industry_section__in=sorted(PRIMARY_SECTIONS),
        then=Value(IndustryGroup.PRIMARY.value),
    ),
    When(
        application__enterprise__industry_section__in=sorted(SECONDARY_SECTIONS),
        then=Value(IndustryGroup.SECONDARY.value),
    ),
    default=Value(IndustryGroup.TERTIARY.value),
    output_field=CharField(),
)


def _wan(value: Decimal | None) -> Decimal:
    return to_wan(value or ZERO)


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole) * HUNDRED).quantize(Decimal("0.1"))


# --- rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The stat cards: totals of the loans in view, and completion against the tasks."""

    loans: int
    amount: Decimal
    subsidised: Decimal
    leveraged: Decimal
    jobs: int
    new_members: int
    renewals: int
    renewal_amount: Decimal
    task: Decimal = ZERO  # adjusted tasks of the units in view
    completed: Decimal = ZERO  # subsidised principal counted against those tasks

    @property
    def amount_wan(self) -> Decimal:
        return _wan(self.amount)

    @property
    def subsidised_wan(self) -> Decimal:
        return _wan(self.subsidised)

    @property
    def leveraged_wan(self) -> Decimal:
        return _wan(self.leveraged)

    @property
    def renewal_amount_wan(self) -> Decimal:
        return _wan(self.renewal_amount)

    @property
    def task_wan(self) -> Decimal:
        return _wan(self.task)

    @property
    def completion_rate(self) -> Decimal | None:
        return _percent(self.completed, self.task)


@dataclass(frozen=True)
class PeriodRow:
    """Loans disbursed in one month or one year."""

    period: date | int
    label: str
    loans: int
    amount: Decimal
    jobs: int = 0
    growth: Decimal | None = None  # percent change of the amount on the year before

    @property
    def amount_wan(self) -> Decimal:
        return _wan(self.amount)


@dataclass(frozen=True)
class UnitRow:
    """A unit's completed amount (subsidised principal) against its adjusted task."""

    unit_id: int
    name: str
    task: Decimal
    completed: Decimal
    loans: int

    @property
    def task_wan(self) -> Decimal:
        return _wan(self.task)

    @property
    def completed_wan(self) -> Decimal:
        return _wan(self.completed)

    @property
    def completion_rate(self) -> Decimal | None:
        return _percent(self.completed, self.task) if self.task > ZERO else None

    @property
    def bar_width(self) -> int:
        """The progress bar's width in percent, capped at a full bar."""
        return min(int(self.completion_rate or 0), 100)


@dataclass(frozen=True)
class FounderRow:
    """Loans, amount and jobs created of one founder class (创业法人类型)."""

    founder_class: str
    label: str
    loans: int
    amount: Decimal
    jobs: int
    loan_share: Decimal | None = None
    jobs_share: Decimal | None = None

    @property
    def amount_wan(self) -> Decimal:
        return _wan(self.amount)


@dataclass(frozen=True)
class IndustryYearRow:
    """Enterprises lent to in one year, by industry group (the report's 家 per group)."""

    year: int
    counts: dict[str, int]
    amounts: dict[str, Decimal]

    @property
    def cells(self) -> list[int]:
        return [self.counts.get(group, 0) for group in IndustryGroup.values]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class StatusRow:
    """Loans whose latest quarterly follow-up found this operating status."""

    status: str
    label: str
    loans: int
    share: Decimal | None = None


@dataclass
class Dashboard:
    """Every figure of the dashboard for one user and one program (None: all programs)."""

    program: Program | None
    headline: Headline
    months: list[PeriodRow]
    years: list[PeriodRow]
    units: list[UnitRow]
    founders: list[FounderRow]
    industries: list[IndustryYearRow]
    statuses: list[StatusRow]
    industry_groups: list[tuple[str, str]] = field(
        default_factory=lambda: list(IndustryGroup.choices)
    )

    @property
    def units_chart_height(self) -> int:
        """Pixels for the horizontal unit bars: room for every unit's name."""
        return max(260, 32 * len(self.units) + 80)

    def chart_data(self) -> dict:
        """The JSON the charts draw: amounts in 万元 and rates as exact decimal strings
        (json_script's encoder writes Decimal as text; dashboard.js turns them into numbers
        only for drawing), Chinese labels."""

        return {
            "months": {
                "labels": [r.label for r in self.months],
                "amount": list(r.amount_wan for r in self.months),
                "loans": [r.loans for r in self.months],
            },
            "years": {
                "labels": [r.label for r in self.years],
                "amount": list(r.amount_wan for r in self.years),
                "loans": [r.loans for r in self.years],
            },
            "units": {
                "labels": [r.name for r in self.units],
                "task": list(r.task_wan for r in self.units),
                "completed": list(r.completed_wan for r in self.units),
                "rate": [r.completion_rate for r in self.units],
            },
            "founders": {
                "labels": [r.label for r in self.founders],
                "loans": [r.loans for r in self.founders],
                "amount": list(r.amount_wan for r in self.founders),
                "jobs": [r.jobs for r in self.founders],
            },
            "industries": {
                "labels": [f"{r.year}年" for r in self.industries],
                "groups": [
                    {
                        "key": group,
                        "label": label,
                        "data": [r.counts.get(group, 0) for r in self.industries],
                    }
                    for group, label in self.industry_groups
                ],
            },
            "statuses": {
                "keys": [r.status for r in self.statuses],
                "labels": [r.label for r in self.statuses],
                "loans": [r.loans for r in self.statuses],
            },
        }


# --- queries -----------------------------------------------------------------------------


def program_choices(user) -> list[Program]:
    """The programs the dashboard offers, latest first (the first is the default)."""
    return list(restrict(Program.objects.all(), user).order_by("-year", "-pk"))


def default_program(user, programs: list[Program]) -> Program | None:
    """The latest program; for county staff the latest of their own city's programs."""
    profile = profile_of(user)
    city = profile.unit.city if profile is not None and profile.unit_id else None
    return next((p for p in programs if p.city == city), programs[0] if programs else None)


def dashboard_loans(user, program: Program | None) -> QuerySet[Loan]:
    """The loans the figures count: the user's scope, one program or all of them."""
    loans = restrict(Loan.objects.all(), user)
    if program is not None:
        loans = loans.filter(program=program)
    return loans.order_by()


def headline_stats(user, program: Program | None) -> Headline:
    """Totals of the loans in view, in one aggregate query."""
    totals = dashboard_loans(user, program).aggregate(
        loans=Count("pk"),
        amount=Sum("principal"),
        subsidised=Sum("subsidised_principal"),
        leveraged=Sum("leveraged_amount"),
        jobs=Sum("jobs_created"),
        new_members=Sum("new_union_members"),
        renewals=Count("pk", filter=Q(renewal_of__isnull=False)),
        renewal_amount=Sum("principal", filter=Q(renewal_of__isnull=False)),
    )
    return Headline(
        loans=totals["loans"],
        amount=totals["amount"] or ZERO,
        subsidised=totals["subsidised"] or ZERO,
        leveraged=totals["leveraged"] or ZERO,
        jobs=totals["jobs"] or 0,
        new_members=totals["new_members"] or 0,
        renewals=totals["renewals"],
        renewal_amount=totals["renewal_amount"] or ZERO,
    )


def amount_by_month(user, program: Program | None) -> list[PeriodRow]:
    """Loans and amount disbursed per calendar month (TruncMonth in SQL)."""
    rows = (
        dashboard_loans(user, program)
        .annotate(month=TruncMonth("disbursed_on"))
        .values("month")
        .annotate(loans=Count("pk"), amount=Sum("principal"))
        .order_by("month")
    )
    return [
        PeriodRow(
            period=row["month"],
            label=f"{row['month'].year}年{row['month'].month}月",
            loans=row["loans"],
            amount=row["amount"] or ZERO,
        )
        for row in rows
    ]


def amount_by_year(user, program: Program | None) -> list[PeriodRow]:
    """Loans, amount and jobs per disbursement year, with the growth on the year before."""
    rows = (
        dashboard_loans(user, program)
        .annotate(year=ExtractYear("disbursed_on"))
        .values("year")
        .annotate(loans=Count("pk"), amount=Sum("principal"), jobs=Sum("jobs_created"))
        .order_by("year")
    )
    result: list[PeriodRow] = []
    previous: dict[int, Decimal] = {}
    for row in rows:
        year, amount = row["year"], row["amount"] or ZERO
        before = previous.get(year - 1)
        growth = _percent(amount - before, before) if before else None
        previous[year] = amount
        result.append(
            PeriodRow(
                period=year,
                label=f"{year}年",
                loans=row["loans"],
                amount=amount,
                jobs=row["jobs"] or 0,
                growth=growth,
            )
        )
    return result


def completion_by_unit(user, program: Program | None) -> list[UnitRow]:
    """Each visible unit's completed amount against its adjusted task.

    For one program this is ``quota_table``; for all programs the same four sums are taken
    over every program at once. Completed amount is the subsidised principal, renewals
    included, counted by the disbursing unit (SPEC). County staff get their own unit's row.
    """
    if program is not None:
        visible = set(restrict(Unit.objects.all(), user).values_list("pk", flat=True))
        return [
            UnitRow(
                unit_id=row.unit.pk,
                name=row.unit.name,
                task=row.adjusted_task,
                completed=row.completed,
                loans=row.loans,
            )
            for row in quota_table(program=program)
            if row.unit.pk in visible
        ]

    units = list(restrict(Unit.objects.all(), user).order_by("city", "sort_order", "code"))
    tasks = dict(Quota.objects.values_list("unit").annotate(total=Sum("task_amount")).order_by())
    given = dict(
        Reallocation.objects.values_list("from_unit").annotate(total=Sum("amount")).order_by()
    )
    received = dict(
        Reallocation.objects.values_list("to_unit").annotate(total=Sum("amount")).order_by()
    )
    completion = {
        row["unit"]: row
        for row in dashboard_loans(user, None)
        .values("unit")
        .annotate(completed=Sum("subsidised_principal"), loans=Count("pk"))
        .order_by()
    }
    rows = []
    for unit in units:
        done = completion.get(unit.pk, {})
        task = (
            (tasks.get(unit.pk) or ZERO)
            - (given.get(unit.pk) or ZERO)
            + (received.get(unit.pk) or ZERO)
        )
        if unit.pk not in tasks and not done:
            continue
        rows.append(
            UnitRow(
                unit_id=unit.pk,
                name=unit.name,
                task=task,
                completed=done.get("completed") or ZERO,
                loans=done.get("loans") or 0,
            )
        )
    return rows


def founder_classes(user, program: Program | None) -> list[FounderRow]:
    """Loans, amount and jobs created per founder class, in the choices' order."""
    rows = {
        row["application__applicant__founder_class"]: row
        for row in dashboard_loans(user, program)
        .values("application__applicant__founder_class")
        .annotate(loans=Count("pk"), amount=Sum("principal"), jobs=Sum("jobs_created"))
        .order_by()
    }
    total_loans = sum(row["loans"] for row in rows.values())
    total_jobs = sum(row["jobs"] or 0 for row in rows.values())
    result = []
    for value, label in FounderClass.choices:
        row = rows.get(value, {})
        loans, jobs = row.get("loans") or 0, row.get("jobs") or 0
        result.append(
            FounderRow(
                founder_class=value,
                label=label,
                loans=loans,
                amount=row.get("amount") or ZERO,
                jobs=jobs,
                loan_share=_percent(loans, total_loans),
                jobs_share=_percent(jobs, total_jobs),
            )
        )
    return result


def industry_groups_by_year(user, program: Program | None) -> list[IndustryYearRow]:
    """Enterprises lent to per disbursement year and industry group (CASE WHEN in SQL)."""
    rows = (
        dashboard_loans(user, program)
        .annotate(year=ExtractYear("disbursed_on"), group=INDUSTRY_GROUP)
        .values("year", "group")
        .annotate(
            enterprises=Count("application__enterprise", distinct=True),
            amount=Sum("principal"),
        )
        .order_by("year", "group")
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    amounts: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        counts[row["year"]][row["group"]] = row["enterprises"]
        amounts[row["year"]][row["group"]] = row["amount"] or ZERO
    return [
        IndustryYearRow(year=year, counts=counts[year], amounts=amounts[year])
        for year in sorted(counts)
    ]


def operating_status(user, program: Program | None) -> list[StatusRow]:
    """Loans by the operating status of their latest quarterly follow-up.

    The latest status is a correlated subquery and the grouping happens in SQL; loans not
    yet followed up form their own slice.
    """
    latest = (
        FollowUp.objects.filter(loan=OuterRef("pk"))
        .order_by("-year", "-quarter", "-pk")
        .values("operating_status")[:1]
    )
    rows = {
        row["latest_status"] or NOT_FOLLOWED_UP: row["loans"]
        for row in dashboard_loans(user, program)
        .annotate(latest_status=Subquery(latest))
        .values("latest_status")
        .annotate(loans=Count("pk"))
        .order_by()
    }
    total = sum(rows.values())
    choices = [*OperatingStatus.choices, (NOT_FOLLOWED_UP, NOT_FOLLOWED_UP_LABEL)]
    return [
        StatusRow(
            status=value,
            label=label,
            loans=rows.get(value, 0),
            share=_percent(rows.get(value, 0), total),
        )
        for value, label in choices
    ]


def dashboard(user, program: Program | None) -> Dashboard:
    """Every figure of the dashboard: a constant number of aggregate queries."""
    units = completion_by_unit(user, program)
    headline = replace(
        headline_stats(user, program),
        task=sum((row.task for row in units), ZERO),
        completed=sum((row.completed for row in units), ZERO),
    )
    return Dashboard(
        program=program,
        headline=headline,
        months=amount_by_month(user, program),
        years=amount_by_year(user, program),
        units=units,
        founders=founder_classes(user, program),
        industries=industry_groups_by_year(user, program),
        statuses=operating_status(user, program),
    )
