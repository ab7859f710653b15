"""The annual analysis (年度分析): the tables of the Xuzhou report, computed in the database.

Every table is one grouped ``values().annotate()`` (or ``aggregate()``) query over the loans
the user may see, so the page and the workbook cost the same number of queries whatever the
number of loans; Python only reshapes the grouped rows (a handful per year, unit or class).
Money is Decimal in 元 (``*_wan`` properties give 万元 rounded half-up to the fen for the
page); growth rates and shares are Decimal percents with two places, ``None`` when the base
is 0. Years are disbursement years (放款年度); subsidies paid are paid claims by the year
their payment batch was paid.

Scope: managers and city staff see every unit, county staff their own unit (through
``accounts.scoping.restrict``). Bank officers are refused: the annual analysis is the
union's report on the whole program, and a bank-only slice of it would present a bank's
share as "the program" (the API gives banks their own loans).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractYear

from accounts.choices import Role
from accounts.scoping import restrict, role_of
from gonghui.errors import DomainError
from gonghui.inputs import FieldErrors
from gonghui.money import HUNDRED, ZERO, to_wan
from loans.choices import FounderClass, IndustryGroup, OperatingStatus
from loans.models import FollowUp, Loan, Program
from reports.selectors import INDUSTRY_GROUP, NOT_FOLLOWED_UP, NOT_FOLLOWED_UP_LABEL
from subsidies.choices import ClaimStatus
from subsidies.models import SubsidyClaim

ANNUAL_ROLES = frozenset({Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF})
ALL_PROGRAMS = "all"
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_SPAN = 30  # years in one analysis: wider ranges are a typo, not a report
PERCENT_PLACES = Decimal("0.01")


def percent(part, whole) -> Decimal | None:
    """part / whole as a percent with two places (half-up); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(
        PERCENT_PLACES, rounding=ROUND_HALF_UP
    )


def growth(current, previous) -> Decimal | None:
    """Growth on the year before in percent; None when the year before is 0 or absent."""
    if not previous:
        return None
    return percent(Decimal(current) - Decimal(previous), previous)


# --- params ------------------------------------------------------------------------------


def _year(value, *, field: str, label: str) -> int | None:
    text = "" if value is None else str(value).strip().removesuffix("年")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise DomainError.for_field(
            field, "year_invalid", f"{label}须为{MIN_YEAR}至{MAX_YEAR}之间的年份"
        )
    return int(text)


def annual_params(data, user) -> dict:
    """Clean the page's or a job's filters into JSON-safe params.

    ``data`` is a QueryDict or a dict with ``program`` (a program code, or empty / "all"
    for every program), ``year_from`` and ``year_to`` (optional years). Returns
    ``{"program": code | None, "year_from": int | None, "year_to": int | None}``; bad input
    raises one DomainError with a Chinese message per field. Bank officers and users
    without a role are refused.
    """
    if role_of(user) not in ANNUAL_ROLES:
        raise DomainError("forbidden", "您的角色无权查看年度分析")
    errors = FieldErrors()
    code = str(data.get("program") or "").strip()
    if code == ALL_PROGRAMS:
        code = ""
    if code and not restrict(Program.objects.filter(code=code), user).exists():
        errors.add("program", "贷款项目不存在")
    year_from = errors.attempt(
        "year_from", lambda: _year(data.get("year_from"), field="year_from", label="起始年度")
    )
    year_to = errors.attempt(
        "year_to", lambda: _year(data.get("year_to"), field="year_to", label="截止年度")
    )
    if year_from and year_to:
        if year_from > year_to:
            errors.add("year_to", "截止年度不能早于起始年度")
        elif year_to - year_from >= MAX_SPAN:
            errors.add("year_to", f"统计年度跨度不能超过{MAX_SPAN}年")
    errors.raise_if_any("年度分析的筛选条件有误")
    return {"program": code or None, "year_from": year_from, "year_to": year_to}


# --- rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearRow:
    """Loans disbursed in one year, with the amount's growth on the year before."""

    year: int
    loans: int
    amount: Decimal
    enterprises: int
    jobs: int
    growth: Decimal | None

    @property
    def label(self) -> str:
        return f"{self.year}年"

    @property
    def amount_wan(self) -> Decimal:
        return to_wan(self.amount)


@dataclass(frozen=True)
class UnitRow:
    """One disbursing unit's loans over the years in view."""

    unit_id: int
    name: str
    loans: int
    amount: Decimal
    subsidised: Decimal
    jobs: int
    share: Decimal | None  # of the amount

    @property
    def amount_wan(self) -> Decimal:
        return to_wan(self.amount)

    @property
    def subsidised_wan(self) -> Decimal:
        return to_wan(self.subsidised)


@dataclass(frozen=True)
class FounderRow:
    """One founder class (创业法人类型): loans, amount and jobs created, with shares."""

    key: str
    label: str
    loans: int
    amount: Decimal
    jobs: int
    loan_share: Decimal | None
    jobs_share: Decimal | None

    @property
    def amount_wan(self) -> Decimal:
        return to_wan(self.amount)


@dataclass(frozen=True)
class IndustryRow:
    """Enterprises lent to in one year, per industry group (the report's 家)."""

    year: int
    counts: tuple[int, ...]  # in IndustryGroup order

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class StatusRow:
    """Loans whose latest quarterly follow-up found this operating status."""

    key: str
    label: str
    loans: int
    share: Decimal | None


@dataclass(frozen=True)
class SubsidyRow:
    """Subsidy claims paid in one year (by the payment batch's date)."""

    year: int
    claims: int
    interest: Decimal
    premium: Decimal
    amount: Decimal

    @property
    def interest_wan(self) -> Decimal:
        return to_wan(self.interest)

    @property
    def premium_wan(self) -> Decimal:
        return to_wan(self.premium)

    @property
    def amount_wan(self) -> Decimal:
        return to_wan(self.amount)


@dataclass(frozen=True)
class CumulativeRow:
    """Totals from the first loan on record up to the end of one year."""

    year: int
    loans: int
    amount: Decimal
    enterprises: int  # distinct enterprises, not the sum of the yearly counts
    jobs: int
    subsidies: Decimal

    @property
    def amount_wan(self) -> Decimal:
        return to_wan(self.amount)

    @property
    def subsidies_wan(self) -> Decimal:
        return to_wan(self.subsidies)


@dataclass
class AnnualAnalysis:
    """Every table of the annual analysis for one user, program (None: all) and years."""

    program: Program | None
    year_from: int | None
    year_to: int | None
    years: list[YearRow]
    units: list[UnitRow]
    founders: list[FounderRow]
    industries: list[IndustryRow]
    statuses: list[StatusRow]
    subsidies: list[SubsidyRow]
    cumulative: list[CumulativeRow]
    industry_groups: list[tuple[str, str]] = field(
        default_factory=lambda: list(IndustryGroup.choices)
    )

    @property
    def title(self) -> str:
        scope = self.program.name if self.program else "全部贷款项目"
        if self.year_from and self.year_to:
            span = (
                f"{self.year_from}年"
                if self.year_from == self.year_to
                else f"{self.year_from}—{self.year_to}年"
            )
        else:
            span = "暂无放款"
        return f"{scope}年度分析（{span}）"

    @property
    def is_empty(self) -> bool:
        return not self.years

    # Totals rows (sums of the grouped rows: the groups partition the loans in view).
    @property
    def total_loans(self) -> int:
        return sum(r.loans for r in self.years)

    @property
    def total_amount(self) -> Decimal:
        return sum((r.amount for r in self.years), ZERO)

    @property
    def total_amount_wan(self) -> Decimal:
        return to_wan(self.total_amount)

    @property
    def total_jobs(self) -> int:
        return sum(r.jobs for r in self.years)

    @property
    def total_subsidised(self) -> Decimal:
        return sum((r.subsidised for r in self.units), ZERO)

    @property
    def total_subsidised_wan(self) -> Decimal:
        return to_wan(self.total_subsidised)

    @property
    def total_status_loans(self) -> int:
        return sum(r.loans for r in self.statuses)

    @property
    def industry_totals(self) -> tuple[int, ...]:
        width = len(self.industry_groups)
        return tuple(sum(r.counts[i] for r in self.industries) for i in range(width))

    @property
    def subsidy_totals(self) -> SubsidyRow:
        return SubsidyRow(
            year=0,
            claims=sum(r.claims for r in self.subsidies),
            interest=sum((r.interest for r in self.subsidies), ZERO),
            premium=sum((r.premium for r in self.subsidies), ZERO),
            amount=sum((r.amount for r in self.subsidies), ZERO),
        )

    def chart_data(self) -> dict:
        """The JSON the page's charts draw (amounts in 万元 as exact decimal strings)."""
        return {
            "years": {
                "labels": [r.label for r in self.years],
                "amount": [r.amount_wan for r in self.years],
                "loans": [r.loans for r in self.years],
                "growth": [r.growth for r in self.years],
            },
            "units": {
                "labels": [r.name for r in self.units],
                "amount": [r.amount_wan for r in self.units],
            },
            "founders": {
                "labels": [r.label for r in self.founders],
                "loans": [r.loans for r in self.founders],
                "jobs": [r.jobs for r in self.founders],
            },
            "industries": {
                "labels": [f"{r.year}年" for r in self.industries],
                "groups": [
                    {"label": label, "data": [r.counts[i] for r in self.industries]}
                    for i, (_, label) in enumerate(self.industry_groups)
                ],
            },
            "statuses": {
                "labels": [r.label for r in self.statuses],
                "loans": [r.loans for r in self.statuses],
            },
            "subsidies": {
                "labels": [f"{r.year}年" for r in self.subsidies],
                "amount": [r.amount_wan for r in self.subsidies],
            },
            "cumulative": {
                "labels": [f"{r.year}年" for r in self.cumulative],
                "amount": [r.amount_wan for r in self.cumulative],
                "enterprises": [r.enterprises for r in self.cumulative],
                "jobs": [r.jobs for r in self.cumulative],
            },
        }


# --- queries -----------------------------------------------------------------------------


def _loans(user, program: Program | None) -> QuerySet[Loan]:
    loans = restrict(Loan.objects.all(), user)
    if program is not None:
        loans = loans.filter(program=program)
    return loans.order_by()


def _in_years(loans: QuerySet[Loan], year_from: int, year_to: int) -> QuerySet[Loan]:
    return loans.filter(
        disbursed_on__gte=date(year_from, 1, 1), disbursed_on__lte=date(year_to, 12, 31)
    )


def _year_span(loans: QuerySet[Loan], year_from, year_to) -> tuple[int | None, int | None]:
    """The years asked for; a missing end is the first / last disbursement year on record."""
    if year_from and year_to:
        return year_from, year_to
    bounds = loans.aggregate(first=Min("disbursed_on"), last=Max("disbursed_on"))
    if bounds["first"] is None:
        return year_from or year_to, year_to or year_from
    first = year_from or min(bounds["first"].year, year_to or MAX_YEAR)
    last = year_to or max(bounds["last"].year, first)
    return first, last


def _yearly(loans: QuerySet[Loan], year_to: int) -> list[dict]:
    """Loans, amount, distinct enterprises and jobs per year, every year up to year_to."""
    return list(
        loans.filter(disbursed_on__lte=date(year_to, 12, 31))
        .annotate(year=ExtractYear("disbursed_on"))
        .values("year")
        .annotate(
            loans=Count("pk"),
            amount=Sum("principal"),
            enterprises=Count("application__enterprise", distinct=True),
            jobs=Sum("jobs_created"),
        )
        .order_by("year")
    )


def _years_table(yearly: list[dict], year_from: int, year_to: int) -> list[YearRow]:
    by_year = {row["year"]: row for row in yearly}
    rows = []
    for year in range(year_from, year_to + 1):
        row = by_year.get(year)
        if row is None:
            continue
        before = by_year.get(year - 1, {}).get("amount") or ZERO
        amount = row["amount"] or ZERO
        rows.append(
            YearRow(
                year=year,
                loans=row["loans"],
                amount=amount,
                enterprises=row["enterprises"],
                jobs=row["jobs"] or 0,
                growth=growth(amount, before),
            )
        )
    return rows


def _units_table(loans: QuerySet[Loan]) -> list[UnitRow]:
    rows = list(
        loans.values("unit", "unit__name", "unit__sort_order", "unit__code")
        .annotate(
            loans=Count("pk"),
            amount=Sum("principal"),
            subsidised=Sum("subsidised_principal"),
            jobs=Sum("jobs_created"),
        )
        .order_by("unit__sort_order", "unit__code")
    )
    total = sum((row["amount"] or ZERO for row in rows), ZERO)
    return [
        UnitRow(
            unit_id=row["unit"],
            name=row["unit__name"],
            loans=row["loans"],
            amount=row["amount"] or ZERO,
            subsidised=row["subsidised"] or ZERO,
            jobs=row["jobs"] or 0,
            share=percent(row["amount"] or ZERO, total),
        )
        for row in rows
    ]


def _founders_table(loans: QuerySet[Loan]) -> list[FounderRow]:
    grouped = {
        row["application__applicant__founder_class"]: row
        for row in loans.values("application__applicant__founder_class")
        .annotate(loans=Count("pk"), amount=Sum("principal"), jobs=Sum("jobs_created"))
        .order_by()
    }
    total_loans = sum(row["loans"] for row in grouped.values())
    total_jobs = sum(row["jobs"] or 0 for row in grouped.values())
    rows = []
    for key, label in FounderClass.choices:
        row = grouped.get(key, {})
        count, jobs = row.get("loans", 0), row.get("jobs") or 0
        rows.append(
            FounderRow(
                key=key,
                label=label,
                loans=count,
                amount=row.get("amount") or ZERO,
                jobs=jobs,
                loan_share=percent(count, total_loans),
                jobs_share=percent(jobs, total_jobs),
            )
        )
    return rows


def _industries_table(loans: QuerySet[Loan]) -> list[IndustryRow]:
    counts: dict[int, dict[str, int]] = {}
    for row in (
        loans.annotate(year=ExtractYear("disbursed_on"), group=INDUSTRY_GROUP)
        .values("year", "group")
        .annotate(enterprises=Count("application__enterprise", distinct=True))
        .order_by("year", "group")
    ):
        counts.setdefault(row["year"], {})[row["group"]] = row["enterprises"]
    return [
        IndustryRow(
            year=year,
            counts=tuple(counts[year].get(group, 0) for group in IndustryGroup.values),
        )
        for year in sorted(counts)
    ]


def _statuses_table(loans: QuerySet[Loan]) -> list[StatusRow]:
    latest = (
        FollowUp.objects.filter(loan=OuterRef("pk"))
        .order_by("-year", "-quarter", "-pk")
        .values("operating_status")[:1]
    )
    grouped = {
        row["latest"] or NOT_FOLLOWED_UP: row["loans"]
        for row in loans.annotate(latest=Subquery(latest))
        .values("latest")
        .annotate(loans=Count("pk"))
        .order_by()
    }
    total = sum(grouped.values())
    return [
        StatusRow(
            key=key,
            label=label,
            loans=grouped.get(key, 0),
            share=percent(grouped.get(key, 0), total),
        )
        for key, label in [*OperatingStatus.choices, (NOT_FOLLOWED_UP, NOT_FOLLOWED_UP_LABEL)]
    ]


def _paid_claims(user, program: Program | None, year_to: int) -> list[dict]:
    claims = restrict(
        SubsidyClaim.objects.filter(
            status=ClaimStatus.PAID, batch__paid_on__lte=date(year_to, 12, 31)
        ),
        user,
    )
    if program is not None:
        claims = claims.filter(program=program)
    return list(
        claims.annotate(year=ExtractYear("batch__paid_on"))
        .values("year")
        .annotate(
            claims=Count("pk"),
            interest=Sum("interest_subsidy"),
            premium=Sum("premium_subsidy"),
            amount=Sum("amount"),
        )
        .order_by("year")
    )


def _cumulative_table(
    loans: QuerySet[Loan], yearly: list[dict], paid: list[dict], year_from: int, year_to: int
) -> list[CumulativeRow]:
    """Running totals to the end of each year in view, counted from the first record.

    Distinct enterprises to date are one conditional COUNT(DISTINCT) per year, all in one
    query, so an enterprise that borrowed twice is counted once (as the report's 累计).
    """
    years = [row["year"] for row in yearly if year_from <= row["year"] <= year_to]
    if not years:
        return []
    distinct = loans.aggregate(
        **{
            f"y{year}": Count(
                "application__enterprise",
                distinct=True,
                filter=Q(disbursed_on__lte=date(year, 12, 31)),
            )
            for year in years
        }
    )
    rows = []
    for year in years:
        upto = [row for row in yearly if row["year"] <= year]
        rows.append(
            CumulativeRow(
                year=year,
                loans=sum(row["loans"] for row in upto),
                amount=sum((row["amount"] or ZERO for row in upto), ZERO),
                enterprises=distinct[f"y{year}"],
                jobs=sum(row["jobs"] or 0 for row in upto),
                subsidies=sum((row["amount"] or ZERO for row in paid if row["year"] <= year), ZERO),
            )
        )
    return rows


def resolve_program(user, code: str | None) -> Program | None:
    if not code:
        return None
    program = restrict(Program.objects.filter(code=code), user).first()
    if program is None:
        raise DomainError.for_field("program", "not_found", "贷款项目不存在")
    return program


def annual_analysis(user, params: dict) -> AnnualAnalysis:
    """Every table for cleaned ``params`` (see :func:`annual_params`): a fixed number of
    aggregate queries whatever the number of loans."""
    if role_of(user) not in ANNUAL_ROLES:
        raise DomainError("forbidden", "您的角色无权查看年度分析")
    program = resolve_program(user, params.get("program"))
    loans = _loans(user, program)
    year_from, year_to = _year_span(loans, params.get("year_from"), params.get("year_to"))
    if year_from is None:
        return AnnualAnalysis(program, None, None, [], [], [], [], [], [], [])
    yearly = _yearly(loans, year_to)
    paid = _paid_claims(user, program, year_to)
    in_years = _in_years(loans, year_from, year_to)
    return AnnualAnalysis(
        program=program,
        year_from=year_from,
        year_to=year_to,
        years=_years_table(yearly, year_from, year_to),
        units=_units_table(in_years),
        founders=_founders_table(in_years),
        industries=_industries_table(in_years),
        statuses=_statuses_table(in_years),
        subsidies=[
            SubsidyRow(
                year=row["year"],
                claims=row["claims"],
                interest=row["interest"] or ZERO,
                premium=row["premium"] or ZERO,
                amount=row["amount"] or ZERO,
            )
            for row in paid
            if year_from <= row["year"] <= year_to
        ],
        cumulative=_cumulative_table(loans, yearly, paid, year_from, year_to),
    )
