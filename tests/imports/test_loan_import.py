"""Loan imports refuse exactly what ``disburse_loan`` refuses, and write all rows or none."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import CheckRule, LoanStatus, ReviewChannel
from loans.models import Application, ApplicationEvent, EligibilityCheck, Loan
from loans.resources import LoanResource
from loans.services.imports import load_xlsx, row_messages, run_import
from tests.factories import LoanFactory
from tests.imports.conftest import LOAN_HEADERS, loan_row, read_xlsx, xlsx

pytestmark = pytest.mark.django_db


def import_loans(rows, user, *, dry_run=False):
    dataset = load_xlsx(xlsx(LOAN_HEADERS, rows))
    result = run_import(LoanResource(user=user), dataset, user=user, dry_run=dry_run)
    return result, row_messages(result)


def test_good_file_disburses_every_loan_with_its_timeline(make_approved, city_user):
    apps = make_approved(3)
    result, messages = import_loans([loan_row(a, n) for n, a in enumerate(apps)], city_user)
    assert messages == []
    assert result.totals["new"] == 3
    loans = Loan.objects.order_by("contract_number")
    assert [loan.contract_number for loan in loans] == [
        "JJ-IMP-00000",
        "JJ-IMP-00001",
        "JJ-IMP-00002",
    ]
    loan = loans[0]
    assert loan.bank == apps[0].bank and loan.unit == apps[0].unit
    assert loan.principal == Decimal("200000.00") and loan.annual_rate == Decimal("5.8000")
    assert loan.subsidised_principal + loan.leveraged_amount == loan.principal
    assert loan.created_by == city_user
    assert set(Application.objects.values_list("status", flat=True)) == {S.DISBURSED}
    event = ApplicationEvent.objects.get(application=apps[0])
    assert (event.action, event.from_status, event.to_status) == (
        "disburse",
        S.BANK_APPROVED,
        S.DISBURSED,
    )
    assert event.actor == city_user and "JJ-IMP-00000" in event.note


def test_principal_above_the_limit_is_split_like_the_service(make_approved, city_user, program):
    program.limit_general = Decimal("150000.00")
    program.save()
    (app,) = make_approved(1)
    import_loans([loan_row(app, 1)], city_user)
    loan = Loan.objects.get()
    assert loan.subsidised_principal == Decimal("150000.00")
    assert loan.leveraged_amount == Decimal("50000.00")


def test_dry_run_writes_nothing(make_approved, city_user):
    apps = make_approved(2)
    result, messages = import_loans(
        [loan_row(a, n) for n, a in enumerate(apps)], city_user, dry_run=True
    )
    assert messages == [] and result.totals["new"] == 2
    assert not Loan.objects.exists() and not ApplicationEvent.objects.exists()
    assert set(Application.objects.values_list("status", flat=True)) == {S.BANK_APPROVED}


def test_a_bad_last_row_writes_nothing(make_approved, city_user):
    apps = make_approved(5)
    rows = [loan_row(a, n) for n, a in enumerate(apps)]
    rows[-1] = loan_row(apps[-1], 4, **{"年利率（%）": "5.81"})
    _, messages = import_loans(rows, city_user)
    assert messages == ["第6行 年利率（%）：年利率5.81%超过本项目线下审核最高年利率5.8%，不予受理"]
    assert Loan.objects.count() == 0
    assert not ApplicationEvent.objects.exists()
    assert set(Application.objects.values_list("status", flat=True)) == {S.BANK_APPROVED}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"年利率（%）": "5.81"},
            "第2行 年利率（%）：年利率5.81%超过本项目线下审核最高年利率5.8%，不予受理",
        ),
        ({"年利率（%）": "5.12345"}, "第2行 年利率（%）：年利率须为不超过100、最多4位小数的百分数"),
        (
            {"贷款金额（元）": "300000.01"},
            "第2行 贷款金额（元）：放款金额不能超过银行审批金额300000.00元",
        ),
        ({"贷款金额（元）": "100.001"}, "第2行 贷款金额（元）：金额最多保留两位小数（分）"),
        ({"贷款金额（元）": "-5"}, "第2行 贷款金额（元）：金额必须大于0"),
        ({"放款日期": "2020/07/10"}, "第2行 放款日期：放款日期须为有效日期（YYYY-MM-DD）"),
        (
            {"放款日期": date(2020, 5, 1), "到期日期": date(2021, 5, 1)},
            "第2行 放款日期：放款日期不能早于申请日期",
        ),
        (
            {"到期日期": date(2021, 8, 1)},
            "第2行 到期日期：到期日期不得晚于2021-07-10（贷款期限12个月）",
        ),
        ({"到期日期": date(2020, 7, 1)}, "第2行 到期日期：到期日期须晚于放款日期"),
        ({"合同编号": ""}, "第2行 合同编号：请填写合同编号"),
        ({"带动就业人数": "很多"}, "第2行 带动就业人数：带动就业人数须为整数"),
        ({"申请编号": "NOPE-1"}, "第2行 申请编号：申请编号“NOPE-1”不存在"),
        ({"银行代码": "ccb"}, "第2行 银行代码：须为该申请的合作银行代码jjbank"),
    ],
)
def test_each_rule_of_the_service_refuses_the_row(make_approved, city_user, overrides, expected):
    (app,) = make_approved(1)
    _, messages = import_loans([loan_row(app, 1, **overrides)], city_user)
    assert messages == [expected]
    assert not Loan.objects.exists()


def test_a_float_cell_with_a_long_tail_is_refused_not_rounded(make_approved, city_user):
    (app,) = make_approved(1)
    _, messages = import_loans([loan_row(app, 1, **{"年利率（%）": 5.12345})], city_user)
    assert messages == ["第2行 年利率（%）：年利率须为不超过100、最多4位小数的百分数"]


def test_numeric_cells_are_read_as_the_decimals_they_show(make_approved, city_user):
    (app,) = make_approved(1)
    import_loans(
        [loan_row(app, 1, **{"年利率（%）": 5.75, "贷款金额（元）": 123456.78})], city_user
    )
    loan = Loan.objects.get()
    assert loan.annual_rate == Decimal("5.7500") and loan.principal == Decimal("123456.78")


def test_online_rate_cap_applies_to_online_loans(make_approved, city_user):
    (app,) = make_approved(
        1,
        channel=C.BANK_ONLINE,
        status=S.CONSENTED,
        review_channel=ReviewChannel.ONLINE,
        approved_rate=Decimal("4.75"),
    )
    _, messages = import_loans([loan_row(app, 1, **{"年利率（%）": "4.76"})], city_user)
    assert messages == ["第2行 年利率（%）：年利率4.76%超过本项目线上审核最高年利率4.75%，不予受理"]


def test_application_not_approved_is_refused(make_approved, city_user):
    (app,) = make_approved(1, status=S.RECOMMENDED)
    _, messages = import_loans([loan_row(app, 1)], city_user)
    assert messages == [
        "第2行 申请编号：申请当前状态为「已推荐至银行」（工会推荐），不能执行该操作"
    ]


def test_online_application_without_the_unions_consent_is_refused(make_approved, city_user):
    (app,) = make_approved(
        1,
        channel=C.BANK_ONLINE,
        status=S.BANK_APPROVED,
        review_channel=ReviewChannel.ONLINE,
        approved_rate=Decimal("4.75"),
    )
    _, messages = import_loans([loan_row(app, 1, **{"年利率（%）": "4.75"})], city_user)
    assert len(messages) == 1 and "不能执行该操作" in messages[0]


def test_same_application_twice_in_one_file_is_refused(make_approved, city_user):
    (app,) = make_approved(1)
    _, messages = import_loans([loan_row(app, 1), loan_row(app, 2)], city_user)
    assert messages == ["第3行 申请编号：该申请在文件中出现多次，每笔申请只能放款一次"]
    assert not Loan.objects.exists()


def test_contract_number_taken_at_the_bank_is_refused(make_approved, city_user, bank):
    LoanFactory(contract_number="JJ-IMP-00001", bank=bank, application__bank=bank)
    (app,) = make_approved(1)
    _, messages = import_loans([loan_row(app, 1)], city_user)
    assert messages == ["第2行 合同编号：该合同编号在本行已存在"]


def test_contract_number_twice_in_one_file_is_refused(make_approved, city_user):
    apps = make_approved(2)
    _, messages = import_loans([loan_row(apps[0], 1), loan_row(apps[1], 1)], city_user)
    assert messages == ["第3行 合同编号：该合同编号在文件中重复"]


def test_borrower_with_a_running_loan_is_refused_unless_overridden(
    make_approved, city_user, program
):
    running = LoanFactory(application__program=program, maturity_on=date(2021, 7, 1))
    applicant = running.application.applicant
    (app,) = make_approved(1, applicant=applicant)
    _, messages = import_loans([loan_row(app, 1)], city_user)
    assert len(messages) == 1 and messages[0].startswith("第2行 申请编号：申请人在")
    assert running.contract_number in messages[0]
    EligibilityCheck.objects.create(
        application=app,
        rule=CheckRule.NO_ACTIVE_LOAN,
        passed=False,
        reason="有贷款",
        override_reason="市总同意例外",
        checked_at=timezone.now(),
    )
    _, messages = import_loans([loan_row(app, 1)], city_user)
    assert messages == []
    assert Loan.objects.filter(application=app, status=LoanStatus.ACTIVE).exists()


def test_two_applications_of_one_borrower_in_one_file_are_refused(make_approved, city_user):
    first, second = make_approved(2)
    second.applicant = first.applicant
    second.save()
    _, messages = import_loans([loan_row(first, 1), loan_row(second, 2)], city_user)
    assert len(messages) == 1 and messages[0].startswith("第3行 申请编号：申请人在")
    assert not Loan.objects.exists()


@pytest.mark.parametrize("role_user", ["county_user", "bank_user", "manager_user"])
def test_only_city_staff_may_import(make_approved, role_user, request):
    user = request.getfixturevalue(role_user)
    (app,) = make_approved(1)
    _, messages = import_loans([loan_row(app, 1)], user)
    assert messages == ["文件：只有市总工会经办人可以批量导入"]
    assert not Loan.objects.exists()


def test_missing_columns_refuse_the_file(make_approved, city_user):
    dataset = load_xlsx(xlsx(["申请编号", "合同编号"], [["x", "y"]]))
    result = run_import(LoanResource(user=city_user), dataset, user=city_user, dry_run=True)
    (message,) = row_messages(result)
    assert message.startswith("文件：文件缺少列：银行代码、贷款金额（元）")


def _count_import_queries(make_approved, user, count, offset):
    apps = make_approved(count)
    rows = [loan_row(a, offset + n) for n, a in enumerate(apps)]
    dataset = load_xlsx(xlsx(LOAN_HEADERS, rows))
    with CaptureQueriesContext(connection) as queries:
        result = run_import(LoanResource(user=user), dataset, user=user, dry_run=False)
    assert row_messages(result) == []
    return len(queries)


def test_query_count_does_not_grow_with_the_rows(make_approved, city_user):
    """10 rows cost what 200 cost. SQLite caps a statement at 999 parameters, so Django
    splits its INSERTs past 47 loans there; on PostgreSQL one INSERT takes every row."""
    rows = 200 if connection.vendor == "postgresql" else 40
    small = _count_import_queries(make_approved, city_user, 10, 0)
    large = _count_import_queries(make_approved, city_user, rows, 1000)
    assert small == large
    assert Loan.objects.count() == 10 + rows


def test_export_lists_every_loan_and_reimports(make_approved, city_user):
    apps = make_approved(3)
    import_loans([loan_row(a, n) for n, a in enumerate(apps)], city_user)
    content = LoanResource().export().export("xlsx")
    rows = read_xlsx(content)
    header, body = rows[0], rows[1:]
    assert header[: len(LOAN_HEADERS)] == LOAN_HEADERS
    by_contract = {r[2]: r for r in body}
    for loan in Loan.objects.select_related("application", "bank"):
        row = by_contract[loan.contract_number]
        assert row[0] == loan.application.reference and row[1] == loan.bank.code
        assert Decimal(row[3]) == loan.principal and Decimal(row[4]) == loan.annual_rate
        assert row[5] == loan.disbursed_on.isoformat()
    # Round trip: with the loans gone and the applications approved again, the exported
    # file books the same loans.
    before = list(
        Loan.objects.order_by("contract_number").values_list(
            "application_id",
            "contract_number",
            "principal",
            "subsidised_principal",
            "annual_rate",
            "disbursed_on",
            "maturity_on",
            "jobs_created",
        )
    )
    Loan.objects.all().delete()
    ApplicationEvent.objects.all().delete()
    Application.objects.update(status=S.BANK_APPROVED)
    result = run_import(
        LoanResource(user=city_user), load_xlsx(content), user=city_user, dry_run=False
    )
    assert row_messages(result) == []
    after = list(
        Loan.objects.order_by("contract_number").values_list(
            "application_id",
            "contract_number",
            "principal",
            "subsidised_principal",
            "annual_rate",
            "disbursed_on",
            "maturity_on",
            "jobs_created",
        )
    )
    assert after == before


def test_loan_export_query_count_does_not_grow_with_the_rows():
    def count():
        with CaptureQueriesContext(connection) as queries:
            LoanResource().export()
        return len(queries)

    LoanFactory()
    small = count()
    for _ in range(8):
        LoanFactory()
    assert count() == small


def test_an_application_that_changes_during_the_import_refuses_the_whole_file(
    make_approved, city_user, monkeypatch
):
    apps = make_approved(3)
    resource = LoanResource(user=city_user)
    validate = resource.validate_row

    def validate_then_change(instance, row):
        validate(instance, row)
        if row["申请编号"] == apps[2].reference:  # another door moves it meanwhile
            Application.objects.filter(pk=apps[0].pk).update(status=S.RECOMMENDED)

    monkeypatch.setattr(resource, "validate_row", validate_then_change)
    dataset = load_xlsx(xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)]))
    result = run_import(resource, dataset, user=city_user, dry_run=False)
    assert row_messages(result) == [
        "文件：导入期间有申请的状态发生了变化，未写入任何数据，请重新上传文件"
    ]
    assert not Loan.objects.exists() and not ApplicationEvent.objects.exists()
    assert Application.objects.filter(status=S.DISBURSED).count() == 0


def test_imported_loans_and_their_timeline_are_audited(make_approved, city_user):
    apps = make_approved(2)
    before = timezone.now()
    import_loans([loan_row(a, n) for n, a in enumerate(apps)], city_user)
    loans = {loan.pk: loan for loan in Loan.objects.all()}
    records = list(Loan.history.all())
    assert {r.id for r in records} == set(loans)
    for record in records:
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            "+",
            city_user,
            "批量导入",
        )
        assert record.contract_number == loans[record.id].contract_number
        assert record.principal == loans[record.id].principal
        assert record.history_date >= before
    events = ApplicationEvent.objects.filter(application__in=apps)
    assert events.count() == 2
    assert all(before <= e.created_at <= timezone.now() for e in events)


def test_a_refused_file_leaves_no_history(make_approved, city_user):
    apps = make_approved(2)
    rows = [loan_row(apps[0], 1), loan_row(apps[1], 2, **{"年利率（%）": "99"})]
    _, messages = import_loans(rows, city_user)
    assert messages
    assert not Loan.history.exists() and not ApplicationEvent.objects.exists()
