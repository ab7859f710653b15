"""With the demo data (``seed_demo``): the 2020 九工贷 allocation adds up to the fen, meets
every case of the formula, and freezes to the same figures; the daily scan turns the demo's
repaid, renewed and matured loans into claims within every rule.

Seeding takes a few seconds, so the module seeds once in a module-scoped fixture that commits
to the test database and flushes it afterwards.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum

from loans.choices import LoanStatus
from loans.models import Loan, Program
from subsidies.models import SubsidyClaim
from subsidies.selectors import allocation_table
from subsidies.services.allocation import allocate_county_subsidy, freeze_allocation
from subsidies.services.claims import create_due_claims, is_due

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        yield
        SubsidyClaim.objects.all().delete()
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def jgd_2020(seeded):
    return Program.objects.get(code="jgd-2020")


def test_the_2020_allocation_adds_up_to_the_fen(jgd_2020):
    table = allocate_county_subsidy(program=jgd_2020)
    assert len(table.lines) == 15
    allocations = sum((line.allocation for line in table.lines), D("0"))
    assert allocations == table.allocated
    assert allocations + table.retained == table.distributed
    assert table.distributed == table.city_contribution + D("200000.00")
    # The demo's completion rates span 64%–137%: the floor and the cap both bite.
    assert any(line.below_floor for line in table.lines)
    assert any(line.capped for line in table.lines)
    assert all(line.allocation == 0 for line in table.lines if line.below_floor)
    assert table.retained > 0
    # Completed amount is the subsidised principal of the program's loans, renewals included.
    total = Loan.objects.filter(program=jgd_2020).aggregate(t=Sum("subsidised_principal"))["t"]
    assert table.city_completed == total
    assert sum((line.completed for line in table.lines), D("0")) == total
    # Reallocation marks: 庐山管理局 → 浔阳区, 德安县 → 永修县.
    minus = {line.unit.name for line in table.lines if line.has_minus_mark}
    plus = {line.unit.name for line in table.lines if line.has_plus_mark}
    assert len(minus) == len(plus) == 2


def test_the_frozen_2020_allocation_keeps_the_same_figures(jgd_2020):
    live = allocate_county_subsidy(program=jgd_2020)
    freeze_allocation(program=jgd_2020, user=get_user_model().objects.get(username="city"))
    frozen = allocation_table(program=jgd_2020)
    assert frozen.frozen is not None
    assert frozen == live


def test_the_demo_claims_every_due_loan_within_the_rules(seeded):
    # seed_demo runs the scan as of 2023-12-31, when every demo loan has matured.
    as_of = date(2023, 12, 31)
    due = [loan for loan in Loan.objects.all() if is_due(loan, as_of=as_of)]
    assert SubsidyClaim.objects.count() == len(due) == Loan.objects.count() > 0
    claims = SubsidyClaim.objects.select_related("loan")
    for claim in claims:
        loan = claim.loan
        assert claim.subsidised_principal == loan.subsidised_principal
        assert claim.end_on <= loan.maturity_on
        if loan.status != LoanStatus.ACTIVE:
            assert claim.end_on == min(loan.settled_on, loan.maturity_on)
        assert claim.applied_rate <= claim.rate_cap
        assert 0 <= claim.amount == claim.interest_subsidy + claim.premium_subsidy
        if claim.interest_charged is not None:
            assert claim.interest_subsidy <= claim.interest_charged
    assert create_due_claims(as_of=as_of) == []
