"""The streaming loan export: every cell, the totals, scope, masking and bad filters."""

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.choices import Role
from gonghui.errors import DomainError
from loans import exports
from loans.choices import LoanStatus, LoanType, ReviewChannel
from loans.exports import loan_export_params, write_loans
from reports.models import ExportJob
from tests.factories import ApplicantFactory, EnterpriseFactory, LoanFactory, make_user

pytestmark = pytest.mark.django_db
START = reverse("reports:export-start", args=["loans"])
HEADER = [
    "单位",
    "放款银行",
    "合同编号",
    "借款人",
    "企业名称",
    "贷款金额（元）",
    "贴息本金（元）",
    "拉动贷款金额（元）",
    "年利率（%）",
    "审核方式",
    "贷款类型",
    "放款日期",
    "到期日期",
    "状态",
    "续贷原合同编号",
    "带动就业人数",
    "新增入会职工人数",
]
CHANNEL = {ReviewChannel.ONLINE: "线上审核", ReviewChannel.OFFLINE: "线下审核"}
TYPE = {LoanType.CREDIT: "信用贷款", LoanType.GUARANTEED: "担保贷款", LoanType.MORTGAGE: "抵押贷款"}
STATUS = {LoanStatus.ACTIVE: "未结清", LoanStatus.REPAID: "已结清", LoanStatus.RENEWED: "已续贷"}


def _loan(program, unit, bank, *, name, on, principal, subsidised, **extra):
    return LoanFactory(
        application__program=program,
        application__unit=unit,
        application__bank=bank,
        application__applicant=ApplicantFactory(name=name),
        application__enterprise=EnterpriseFactory(name=f"{name}的小店"),
        principal=Decimal(principal),
        subsidised_principal=Decimal(subsidised),
        leveraged_amount=Decimal(principal) - Decimal(subsidised),
        disbursed_on=on,
        maturity_on=on.replace(year=on.year + 1),
        **extra,
    )


@pytest.fixture
def loans(program, unit, other_unit, bank, other_bank):
    first = _loan(
        program,
        unit,
        bank,
        name="王小明",
        on=date(2020, 6, 10),
        principal="350000.50",
        subsidised="300000.00",
        annual_rate=Decimal("4.3500"),
        review_channel=ReviewChannel.ONLINE,
        loan_type=LoanType.CREDIT,
        jobs_created=8,
        new_union_members=3,
        status=LoanStatus.RENEWED,
        settled_on=date(2021, 6, 10),
    )
    renewal = _loan(
        program,
        unit,
        bank,
        name="王小明",
        on=date(2021, 6, 10),
        principal="200000.00",
        subsidised="200000.00",
        renewal_of=first,
        jobs_created=9,
        new_union_members=1,
    )
    other = _loan(
        program,
        other_unit,
        other_bank,
        name="欧阳娜娜",
        on=date(2020, 9, 1),
        principal="80000.25",
        subsidised="80000.25",
        loan_type=LoanType.MORTGAGE,
        jobs_created=5,
        new_union_members=0,
    )
    return [first, renewal, other]


def _sheet_rows(path):
    sheet = load_workbook(path).active
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def _expected_row(loan, *, name=None):
    applicant = loan.application.applicant
    return [
        loan.unit.name,
        str(loan.bank),
        loan.contract_number,
        name if name is not None else applicant.name,
        loan.application.enterprise.name,
        loan.principal,
        loan.subsidised_principal,
        loan.leveraged_amount,
        loan.annual_rate,
        CHANNEL[loan.review_channel],
        TYPE[loan.loan_type],
        loan.disbursed_on,
        loan.maturity_on,
        STATUS[loan.status],
        loan.renewal_of.contract_number if loan.renewal_of_id else None,
        loan.jobs_created,
        loan.new_union_members,
    ]


def _normalised(row):
    """Cells read back by openpyxl → the types the test compares with (Decimal, date)."""
    out = []
    for column, value in enumerate(row):
        if column in (5, 6, 7, 8) and value is not None:
            value = Decimal(str(value))
        elif isinstance(value, datetime):
            value = value.date()
        out.append(value)
    return out


def test_every_loan_is_written_with_labels_numbers_and_a_totals_row(tmp_path, city_user, loans):
    path = tmp_path / "loans.xlsx"

    written = write_loans(path, user=city_user, params=loan_export_params({}, city_user))

    assert written == 3
    sheet, rows = _sheet_rows(path)
    assert rows[0] == HEADER
    first, renewal, other = loans
    # The list's default order: newest disbursal first.
    assert [_normalised(row) for row in rows[1:4]] == [
        _expected_row(renewal),
        _expected_row(other),
        _expected_row(first),
    ]
    assert rows[2][3] == "欧阳娜娜"  # city staff see names in full
    assert rows[1][14] == first.contract_number  # the renewal points at its original
    totals = rows[4]
    assert totals[0] == "合计"
    assert totals[2] == "共3笔"
    assert Decimal(str(totals[5])) == Decimal("630000.75")
    assert Decimal(str(totals[6])) == Decimal("580000.25")
    assert Decimal(str(totals[7])) == Decimal("50000.50")
    assert totals[15:] == [22, 4]
    assert sheet["F2"].number_format == "#,##0.00"
    assert sheet["F5"].number_format == "#,##0.00"
    assert sheet["L2"].number_format == "yyyy-mm-dd"
    assert len(rows) == 5


def test_totals_match_an_independent_sum_of_the_rows(tmp_path, city_user, loans):
    path = tmp_path / "loans.xlsx"
    write_loans(path, user=city_user, params={"sort": "principal"})
    _, rows = _sheet_rows(path)
    body, totals = rows[1:-1], rows[-1]
    assert [Decimal(str(row[5])) for row in body] == sorted(loan.principal for loan in loans)
    for column in (5, 6, 7):
        assert Decimal(str(totals[column])) == sum(Decimal(str(row[column])) for row in body)
    assert totals[15] == sum(loan.jobs_created for loan in loans)


def test_county_staff_export_only_their_own_unit(tmp_path, county_user, loans, unit):
    path = tmp_path / "loans.xlsx"
    written = write_loans(path, user=county_user, params=loan_export_params({}, county_user))
    _, rows = _sheet_rows(path)
    assert written == 2
    assert {row[0] for row in rows[1:-1]} == {unit.name}
    assert "欧阳娜娜" not in {row[3] for row in rows}
    assert rows[1][3] == "王小明"  # county reviewers see names, as on the detail page
    assert Decimal(str(rows[-1][5])) == Decimal("550000.50")


def test_managers_and_banks_get_masked_names(tmp_path, manager_user, bank_user, loans):
    path = tmp_path / "manager.xlsx"
    write_loans(path, user=manager_user, params={})
    _, rows = _sheet_rows(path)
    assert [row[3] for row in rows[1:-1]] == ["王*明", "欧**娜", "王*明"]

    path = tmp_path / "bank.xlsx"
    assert write_loans(path, user=bank_user, params={}) == 2  # own bank only
    _, rows = _sheet_rows(path)
    assert [row[3] for row in rows[1:-1]] == ["王*明", "王*明"]


def test_the_list_filters_select_the_rows(tmp_path, city_user, loans, other_unit):
    params = loan_export_params(
        {"unit": str(other_unit.pk), "disbursed_from": "2020-08-01", "disbursed_to": "2020-12-31"},
        city_user,
    )
    assert params == {
        "sort": "-disbursed_on",
        "unit": other_unit.pk,
        "disbursed_from": "2020-08-01",
        "disbursed_to": "2020-12-31",
    }
    path = tmp_path / "loans.xlsx"
    assert write_loans(path, user=city_user, params=params) == 1
    _, rows = _sheet_rows(path)
    assert rows[1][2] == loans[2].contract_number

    params = loan_export_params({"status": "renewed", "q": "王小明"}, city_user)
    assert write_loans(path, user=city_user, params=params) == 1
    _, rows = _sheet_rows(path)
    assert rows[1][2] == loans[0].contract_number


def test_progress_is_reported_while_streaming(tmp_path, city_user, loans, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    calls = []
    write_loans(tmp_path / "x.xlsx", user=city_user, params={}, progress=lambda *a: calls.append(a))
    assert calls == [(2, 3), (3, 3)]


def test_an_empty_selection_still_gives_a_header_and_zero_totals(tmp_path, city_user, loans):
    path = tmp_path / "none.xlsx"
    params = loan_export_params({"disbursed_from": "2030-01-01"}, city_user)
    assert write_loans(path, user=city_user, params=params) == 0
    _, rows = _sheet_rows(path)
    assert rows[0] == HEADER
    assert rows[1][:3] == ["合计", None, "共0笔"]
    assert rows[1][5] == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"program": "999999"}, "program", "选择一个有效的选项"),
        ({"program": "abc"}, "program", "选择一个有效的选项"),
        ({"disbursed_from": "2020-13-45"}, "disbursed_from", "有效的日期"),
        ({"status": "lost"}, "status", "选择一个有效的选项"),
        ({"sort": "password"}, "sort", "排序方式无效"),
        (
            {"disbursed_from": "2021-01-02", "disbursed_to": "2021-01-01"},
            "disbursed_to",
            "结束日期",
        ),
        ({"q": "王" * 101}, "q", "不能超过100个字符"),
    ],
)
def test_bad_filters_are_refused_with_chinese_field_messages(city_user, data, field, message):
    with pytest.raises(DomainError) as caught:
        loan_export_params(data, city_user)
    assert any(message in text for text in caught.value.field_errors[field])


def test_county_staff_cannot_pick_another_unit(county_user, other_unit):
    with pytest.raises(DomainError) as caught:
        loan_export_params({"unit": str(other_unit.pk)}, county_user)
    assert "unit" in caught.value.field_errors


@pytest.fixture
def export_job(client, settings, tmp_path, django_capture_on_commit_callbacks, eager):
    """Start the loan export as a job (run in-process on commit); return (response, job)."""
    settings.MEDIA_ROOT = tmp_path / "media"

    def start(user, data):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(START, data)
        return response, ExportJob.objects.filter(requested_by=user).first()

    return start


def downloaded_rows(client, job) -> list[list]:
    response = client.get(reverse("reports:export-download", args=[job.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_the_list_starts_an_export_job_with_its_filters(client, county_user, loans, export_job):
    client.force_login(county_user)
    page = client.get(reverse("loans:loan-list"), {"status": "active", "page": "2"}).content
    form = page.decode().split('id="loan-export-form"')[1].split("</form>")[0]
    assert START in page.decode()
    assert '<input type="hidden" name="status" value="active">' in form
    assert 'name="page"' not in form

    response, job = export_job(county_user, {"status": "active"})
    assert response["Location"] == reverse("reports:export-job", args=[job.pk])
    assert (job.kind, job.status, job.rows_done) == ("loans", ExportJob.Status.DONE, 1)
    assert job.filename.startswith("loans-") and job.filename.endswith(".xlsx")
    rows = downloaded_rows(client, job)
    assert [row[2] for row in rows[1:-1]] == [loans[1].contract_number]


def test_an_export_with_bad_filters_answers_400_with_the_messages(client, city_user):
    client.force_login(city_user)
    response = client.post(START, {"disbursed_from": "yesterday", "sort": "x"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "导出条件有误" in text
    assert "排序方式无效" in text
    assert not ExportJob.objects.exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.post(START)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_user_without_a_role_is_refused(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.post(START).status_code == 403
    assert not ExportJob.objects.exists()


def test_a_bank_officer_exports_only_their_bank_with_masked_names(
    client, other_bank, loans, export_job
):
    officer = make_user(Role.BANK_OFFICER, bank=other_bank, username="officer")
    _, job = export_job(officer, {})
    rows = downloaded_rows(client, job)
    assert [(row[2], row[3]) for row in rows[1:-1]] == [(loans[2].contract_number, "欧**娜")]
