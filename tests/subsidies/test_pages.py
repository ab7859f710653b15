"""The subsidy pages: ledger (贴息台账) by role and scope, filters, totals and pages in a
constant number of queries; payment batches made, approved by another clerk and paid
through the pages; the county allocation page and its confirmation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from subsidies.choices import BatchStatus, ClaimStatus
from subsidies.models import AllocationResult, PaymentBatch, SubsidyClaim
from subsidies.services.batches import approve_batch, create_batch
from tests.factories import ProgramFactory, QuotaFactory, make_user

pytestmark = pytest.mark.django_db

D = Decimal
LEDGER = reverse("subsidies:claim-ledger")
BATCHES = reverse("subsidies:batch-list")
ALLOCATION = reverse("subsidies:allocation")


def user_of(role, unit, bank, username=None):
    return make_user(
        role,
        unit=unit if role == Role.COUNTY_STAFF else None,
        bank=bank if role == Role.BANK_OFFICER else None,
        **({"username": username} if username else {}),
    )


def contracts(response) -> set[str]:
    return {claim.loan.contract_number for claim in response.context["page"]}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- access by role -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "ledger", "batches", "allocation"),
    [
        (Role.COUNTY_STAFF, 200, 403, 403),
        (Role.BANK_OFFICER, 200, 403, 403),
        (Role.CITY_STAFF, 200, 200, 200),
        (Role.MANAGER, 200, 200, 200),
    ],
)
def test_pages_answer_by_role(client, program, unit, bank, role, ledger, batches, allocation):
    QuotaFactory(program=program, unit=unit)
    client.force_login(user_of(role, unit, bank))
    assert client.get(LEDGER).status_code == ledger
    assert client.get(BATCHES).status_code == batches
    assert client.get(ALLOCATION, {"program": program.pk}).status_code == allocation


def test_anonymous_is_sent_to_login(client):
    for url in (LEDGER, BATCHES, ALLOCATION):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]


@pytest.mark.parametrize("role", [Role.COUNTY_STAFF, Role.BANK_OFFICER, Role.MANAGER])
def test_only_city_staff_may_post(client, program, unit, bank, role, pending_claims):
    claims = pending_claims(1)
    maker = make_user(Role.CITY_STAFF, username="maker")
    batch = create_batch(program=program, claim_ids=[claims[0].pk], user=maker)
    client.force_login(user_of(role, unit, bank))
    posts = [
        (reverse("subsidies:batch-create"), {"claim_ids": [claims[0].pk]}),
        (reverse("subsidies:batch-approve", args=[batch.pk]), {}),
        (
            reverse("subsidies:batch-pay", args=[batch.pk]),
            {"paid_on": "2021-09-01", "payment_reference": "X"},
        ),
        (reverse("subsidies:allocation-freeze"), {"program": program.pk}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT
    assert not AllocationResult.objects.exists()


def test_nav_lists_the_subsidy_pages_by_role(client, unit, bank):
    client.force_login(user_of(Role.CITY_STAFF, unit, bank))
    labels = [item["label"] for item in client.get(LEDGER).context["portal_nav"]]
    assert {"贴息台账", "支付批次", "补助分配"} <= set(labels)
    client.force_login(user_of(Role.COUNTY_STAFF, unit, bank))
    labels = [item["label"] for item in client.get(LEDGER).context["portal_nav"]]
    assert "贴息台账" in labels
    assert "支付批次" not in labels and "补助分配" not in labels


# --- ledger -------------------------------------------------------------------------------


def test_ledger_shows_each_claim_with_its_figures(client, city_user, pending_claims):
    (claim,) = pending_claims(1)
    client.force_login(city_user)
    response = client.get(LEDGER)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("loans:loan-detail", args=[claim.loan_id]) in html
    assert claim.loan.contract_number in html
    assert claim.loan.application.applicant.name in html
    assert "修水县" in html and "九江银行" in html
    # 300,000 × 5.80% × 365 / 360 = 17,641.67
    assert claim.amount == D("17641.67")
    assert "17,641.67" in html
    assert "待纳入批次" in html
    totals = response.context["totals"]
    assert (totals.count, totals.amount) == (1, D("17641.67"))


def test_county_staff_see_only_their_units_claims(client, county_user, other_unit, pending_claims):
    own = pending_claims(2)
    other = pending_claims(3, unit=other_unit)
    client.force_login(county_user)
    response = client.get(LEDGER)
    assert contracts(response) == {claim.loan.contract_number for claim in own}
    assert response.context["totals"].count == 2
    html = response.content.decode()
    for claim in other:
        assert claim.loan.contract_number not in html
    # Filtering on the other unit does not reach its claims either.
    response = client.get(LEDGER, {"unit": other_unit.pk})
    assert contracts(response) == set()
    assert "claim_ids" not in html  # no batch checkboxes for county staff


def test_bank_officers_see_only_their_banks_claims(client, bank_user, other_bank, pending_claims):
    own = pending_claims(1)
    pending_claims(2, bank=other_bank)
    client.force_login(bank_user)
    response = client.get(LEDGER)
    assert contracts(response) == {own[0].loan.contract_number}


def test_ledger_filters(client, city_user, program, other_unit, pending_claims):
    mine = pending_claims(2)
    theirs = pending_claims(1, unit=other_unit)
    create_batch(program=program, claim_ids=[mine[0].pk], user=city_user)
    client.force_login(city_user)
    by_unit = client.get(LEDGER, {"unit": other_unit.pk})
    assert contracts(by_unit) == {theirs[0].loan.contract_number}
    by_status = client.get(LEDGER, {"status": ClaimStatus.BATCHED})
    assert contracts(by_status) == {mine[0].loan.contract_number}
    assert by_status.context["totals"].amount == mine[0].amount
    by_program = client.get(LEDGER, {"program": program.pk, "loan_type": "guaranteed"})
    assert len(contracts(by_program)) == 3
    by_date = client.get(LEDGER, {"end_from": "2021-07-11"})
    assert contracts(by_date) == set()
    by_date = client.get(LEDGER, {"end_from": "2021-07-10", "end_to": "2021-07-10"})
    assert len(contracts(by_date)) == 3


def test_bad_filters_are_form_errors(client, city_user, pending_claims):
    pending_claims(1)
    client.force_login(city_user)
    response = client.get(LEDGER, {"end_from": "2021-13-45", "status": "nope", "unit": "x"})
    assert response.status_code == 200
    form = response.context["form"]
    assert {"end_from", "status", "unit"} <= set(form.errors)
    assert form.errors["status"] == ["贴息申请状态无效"]
    assert contracts(response) == set()
    assert "筛选条件有误" in response.content.decode()
    # The download refuses the same way: the page with its errors, no workbook.
    response = client.get(LEDGER, {"status": "nope", "format": "xlsx"})
    assert response["Content-Type"].startswith("text/html")


def test_ledger_pages_cost_the_same_queries_at_any_page_size(
    client, city_user, other_unit, pending_claims
):
    pending_claims(14)
    pending_claims(12, unit=other_unit)
    client.force_login(city_user)

    def queries(params):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LEDGER, params)
        assert response.status_code == 200
        return len(captured), len(response.context["page"])

    small, shown_small = queries({"page_size": 20})
    large, shown_large = queries({"page_size": 50})
    assert (shown_small, shown_large) == (20, 26)
    assert small == large
    second, shown_second = queries({"page_size": 20, "page": 2})
    assert (second, shown_second) == (small, 6)


# --- payment batches ----------------------------------------------------------------------


def test_batch_made_approved_by_another_clerk_and_paid(
    client, city_user, other_city_user, program, pending_claims
):
    claims = pending_claims(3)
    client.force_login(city_user)
    ledger = client.get(LEDGER)
    assert ledger.context["has_pending"]
    assert 'name="claim_ids"' in ledger.content.decode()
    response = client.post(
        reverse("subsidies:batch-create"),
        {"claim_ids": [claims[0].pk, claims[1].pk], "note": "第一批", "next": LEDGER},
    )
    batch = PaymentBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("subsidies:batch-detail", args=[batch.pk])
    assert (batch.claim_count, batch.total, batch.created_by) == (2, D("35283.34"), city_user)

    # The batch page lists its claims and totals; the maker's approve button is disabled.
    detail_url = reverse("subsidies:batch-detail", args=[batch.pk])
    page = client.get(detail_url)
    assert page.status_code == 200
    assert {c.pk for c in page.context["claims"]} == {claims[0].pk, claims[1].pk}
    assert page.context["totals"].amount == D("35283.34")
    html = page.content.decode()
    assert "35,283.34" in html
    assert 'id="approve-button" disabled' in html
    # Posting anyway is refused with the Chinese message.
    response = client.post(reverse("subsidies:batch-approve", args=[batch.pk]), follow=True)
    assert "制单人不能审批自己制作的批次" in messages_of(response)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT

    # Another city clerk approves.
    client.force_login(other_city_user)
    page = client.get(detail_url)
    assert 'id="approve-button" disabled' not in page.content.decode()
    response = client.post(reverse("subsidies:batch-approve", args=[batch.pk]), follow=True)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    assert batch.approved_by == other_city_user
    assert response.context["payment_form"] is not None

    # Payment with a bad date is refused on the form, then recorded.
    pay_url = reverse("subsidies:batch-pay", args=[batch.pk])
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(pay_url, {"paid_on": tomorrow, "payment_reference": "ZF-001"})
    assert response.status_code == 400
    assert response.context["payment_form"].errors["paid_on"] == ["支付日期不能晚于今天"]
    response = client.post(pay_url, {"paid_on": timezone.localdate().isoformat()})
    assert response.status_code == 400
    assert "请填写支付凭证号" in response.context["payment_form"].errors["payment_reference"]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED

    today = timezone.localdate()
    response = client.post(pay_url, {"paid_on": today.isoformat(), "payment_reference": "ZF-001"})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.paid_on, batch.payment_reference) == (
        BatchStatus.PAID,
        today,
        "ZF-001",
    )
    statuses = dict(SubsidyClaim.objects.values_list("pk", "status"))
    assert statuses == {
        claims[0].pk: ClaimStatus.PAID,
        claims[1].pk: ClaimStatus.PAID,
        claims[2].pk: ClaimStatus.PENDING,
    }
    page = client.get(detail_url)
    assert "该批次已支付" in page.content.decode()
    ledger = client.get(LEDGER)
    assert ledger.context["totals"].paid_amount == D("35283.34")
    assert batch.number in ledger.content.decode()
    # Managers read the batch list and the batch.
    manager = make_user(Role.MANAGER, username="boss")
    client.force_login(manager)
    listing = client.get(BATCHES)
    assert [b.number for b in listing.context["page"]] == [batch.number]
    assert client.get(detail_url).status_code == 200


def test_a_batch_takes_claims_of_one_program_only(client, city_user, pending_claims):
    first = pending_claims(1)
    other_program = ProgramFactory(code="jgd-2021", year=2021)
    second = pending_claims(1, program=other_program)
    client.force_login(city_user)
    response = client.post(
        reverse("subsidies:batch-create"),
        {"claim_ids": [first[0].pk, second[0].pk]},
        follow=True,
    )
    assert any("同一贷款项目" in text for text in messages_of(response))
    assert not PaymentBatch.objects.exists()
    response = client.post(reverse("subsidies:batch-create"), {}, follow=True)
    assert "请选择要纳入批次的贴息申请" in messages_of(response)
    response = client.post(reverse("subsidies:batch-create"), {"claim_ids": ["x"]}, follow=True)
    assert response.status_code == 200
    assert "请选择要纳入批次的贴息申请" in messages_of(response)  # garbage ids are no ids


def test_a_claim_already_batched_is_refused(
    client, city_user, other_city_user, program, pending_claims
):
    claims = pending_claims(1)
    create_batch(program=program, claim_ids=[claims[0].pk], user=other_city_user)
    client.force_login(city_user)
    response = client.post(
        reverse("subsidies:batch-create"), {"claim_ids": [claims[0].pk]}, follow=True
    )
    assert any("已纳入其他批次" in text for text in messages_of(response))
    assert PaymentBatch.objects.count() == 1


def test_unknown_batch_is_404(client, city_user):
    client.force_login(city_user)
    assert client.get(reverse("subsidies:batch-detail", args=[999])).status_code == 404


def test_approved_batch_shows_the_payment_form(
    client, city_user, other_city_user, program, pending_claims
):
    claims = pending_claims(1)
    batch = create_batch(program=program, claim_ids=[claims[0].pk], user=city_user)
    approve_batch(batch=batch, user=other_city_user)
    client.force_login(city_user)  # the maker may record the payment
    page = client.get(reverse("subsidies:batch-detail", args=[batch.pk]))
    assert page.context["may_pay"]
    assert 'id="payment-form"' in page.content.decode()


# --- county allocation --------------------------------------------------------------------


@pytest.fixture
def allocation_program(program, unit, other_unit, make_loan):
    """Two units with 1,000,000 tasks: 修水县 lent 900,000 (90%), 武宁县 600,000 (60%)."""
    QuotaFactory(program=program, unit=unit, task_amount=D("1000000.00"))
    QuotaFactory(program=program, unit=other_unit, task_amount=D("1000000.00"))
    for _ in range(3):
        make_loan(principal="300000.00")
    for _ in range(2):
        make_loan(principal="300000.00", unit=other_unit)
    return program


def test_allocation_page_shows_every_column(client, city_user, allocation_program):
    client.force_login(city_user)
    response = client.get(ALLOCATION, {"program": allocation_program.pk})
    assert response.status_code == 200
    lines = {line.unit.name: line for line in response.context["lines"]}
    assert {name: line.completed for name, line in lines.items()} == {
        "修水县": D("900000.00"),
        "武宁县": D("600000.00"),
    }
    assert lines["武宁县"].below_floor and lines["武宁县"].allocation == 0
    assert lines["修水县"].allocation > 0
    html = response.content.decode()
    for text in (
        "调整后任务数",
        "完成率",
        "计入补助的完成额",
        "分配比例",
        "市总留存",
        "确认并冻结",
    ):
        assert text in html
    assert "未达补助下限" in html
    table = response.context["table"]
    assert table.allocated + table.retained == table.distributed
    assert f"{table.allocated:,.2f}" in html


def test_city_staff_freeze_the_allocation(client, city_user, allocation_program):
    client.force_login(city_user)
    response = client.post(
        reverse("subsidies:allocation-freeze"), {"program": allocation_program.pk}, follow=True
    )
    assert "已确认并冻结" in " ".join(messages_of(response))
    result = AllocationResult.objects.get()
    assert result.confirmed_by == city_user
    assert response.context["table"].frozen == result
    html = response.content.decode()
    assert "已确认并冻结" in html and 'id="freeze-form"' not in html
    # A second confirmation is refused with the reason.
    response = client.post(
        reverse("subsidies:allocation-freeze"), {"program": allocation_program.pk}, follow=True
    )
    assert "该项目的贴息补助分配已确认，不能重复确认" in messages_of(response)
    assert AllocationResult.objects.count() == 1


def test_managers_see_the_allocation_without_the_freeze_button(
    client, manager_user, allocation_program
):
    client.force_login(manager_user)
    response = client.get(ALLOCATION, {"program": allocation_program.pk})
    assert response.status_code == 200
    assert 'id="freeze-form"' not in response.content.decode()


def test_allocation_page_without_program_data(client, city_user, program):
    client.force_login(city_user)
    response = client.get(ALLOCATION, {"program": program.pk})
    assert response.status_code == 200
    assert list(response.context["lines"]) == []


def test_end_date_of_claims(pending_claims):
    (claim,) = pending_claims(1)
    assert claim.end_on == date(2021, 7, 10)
