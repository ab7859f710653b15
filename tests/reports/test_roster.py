"""The application roster (附件2 columns): params, scope, masking, progress, streaming cost,
and the download, each workbook reopened with openpyxl and checked cell by cell."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from gonghui.errors import DomainError
from loans.choices import ApplicationChannel, ApplicationStatus, FounderClass, OpinionKind
from loans.models import Opinion
from loans.services.identity import make_resident_id
from reports import roster as roster_module
from reports.models import ExportJob
from reports.roster import HEADERS, roster_params, write_roster
from tests.factories import ApplicantFactory, ApplicationFactory, ProgramFactory

pytestmark = pytest.mark.django_db

ID_MALE = make_resident_id(region="360402", birth=date(1986, 4, 12), sequence=123)  # 3: odd
ID_FEMALE = make_resident_id(region="360402", birth=date(1990, 11, 3), sequence=124)


def col(header: str) -> int:
    return HEADERS.index(header)


@pytest.fixture
def applications(program, unit, other_unit, bank, other_bank, city_user):
    """Two own-unit applications (bank 九江银行) and one of the other unit (another bank)."""
    first = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        applicant=ApplicantFactory(
            name="王小明",
            id_number=ID_MALE,
            mobile="13912345678",
            founder_class=FounderClass.GRADUATE,
            is_model_worker=True,
            union_name="修水县总工会",
        ),
        enterprise__name="修水县明光电子有限公司",
        enterprise__employees=12,
        enterprise__industry_section="C",
        amount=Decimal("123456.78"),
        term_months=12,
        applied_on=date(2020, 5, 20),
        channel=ApplicationChannel.UNION_REFERRAL,
        status=ApplicationStatus.RECOMMENDED,
    )
    second = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        applicant=ApplicantFactory(name="李芳", id_number=ID_FEMALE),
        amount=Decimal("300000.00"),
        applied_on=date(2020, 6, 10),
        status=ApplicationStatus.SUBMITTED,
    )
    third = ApplicationFactory(
        program=program,
        unit=other_unit,
        bank=other_bank,
        amount=Decimal("50000.00"),
        applied_on=date(2020, 6, 1),
        channel=ApplicationChannel.BANK_REFERRAL,
        status=ApplicationStatus.SUBMITTED,
    )
    for kind, text in (
        (OpinionKind.RECOMMENDER, "同意推荐"),
        (OpinionKind.COUNTY_UNION, "符合条件，同意上报"),
        (OpinionKind.BANK, "同意放款"),
    ):
        Opinion.objects.create(application=first, kind=kind, text=text, author=city_user)
    return first, second, third


def export(user, data=None, **kwargs):
    buffer = BytesIO()
    count = write_roster(buffer, user=user, params=roster_params(data or {}, user), **kwargs)
    sheet = load_workbook(BytesIO(buffer.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    return count, rows


def by_reference(rows) -> dict:
    return {row[col("申请编号")]: row for row in rows[2:]}


def test_header_row_follows_the_form(city_user, applications):
    count, rows = export(city_user)
    assert "申请表汇总（附件2）" in rows[0][0]
    assert list(rows[1]) == list(HEADERS)
    form_fields = [
        "申请人",
        "性别",
        "出生日期",
        "身份证号",
        "创业人员类型",
        "工会会员",
        "手机号码",
        "企业名称",
        "统一社会信用代码",
        "行业",
        "职工数",
        "贷款金额（万元）",
        "贷款期限（月）",
        "贷款用途",
        "所属单位",
        "申请时间",
        "申报方式",
        "状态",
        "推荐单位审核意见",
        "县区总工会审核意见",
        "银行审核意见",
    ]
    for field in form_fields:
        assert field in HEADERS
    assert count == 3 == len(rows) - 2


def test_union_staff_see_identity_in_full_with_every_field(city_user, applications):
    first = applications[0]
    _, rows = export(city_user)
    row = by_reference(rows)[first.reference]
    assert row[col("申请人")] == "王小明"
    assert row[col("性别")] == "男"
    assert row[col("出生日期")].date() == date(1986, 4, 12)
    assert row[col("身份证号")] == ID_MALE
    assert row[col("手机号码")] == "13912345678"
    assert row[col("是否劳模")] == "是" and row[col("借款人类别")] == "劳模"
    assert row[col("创业人员类型")] == "高校毕业生"
    assert row[col("企业名称")] == "修水县明光电子有限公司"
    assert row[col("统一社会信用代码")] == first.enterprise.credit_code
    assert row[col("行业")].startswith("C ")
    assert row[col("职工数")] == 12
    assert row[col("贷款金额（万元）")] == pytest.approx(12.345678)
    assert row[col("贷款期限（月）")] == 12
    assert row[col("申请时间")].date() == date(2020, 5, 20)
    assert row[col("申报方式")] == "工会推荐" and row[col("状态")] == "已推荐至银行"
    assert row[col("推荐单位审核意见")] == "同意推荐"
    assert row[col("县区总工会审核意见")] == "符合条件，同意上报"
    assert row[col("银行审核意见")] == "同意放款"
    assert by_reference(rows)[applications[1].reference][col("性别")] == "女"


@pytest.mark.parametrize("who", ["manager_user", "bank_user"])
def test_managers_and_banks_see_identity_masked(request, who, applications):
    _, rows = export(request.getfixturevalue(who))
    row = by_reference(rows)[applications[0].reference]
    assert row[col("身份证号")] == ID_MALE[:4] + "*" * 10 + ID_MALE[-4:]
    assert row[col("手机号码")] == "139****5678"
    assert row[col("出生日期")] == "1986年"
    assert ID_MALE not in {str(v) for r in rows for v in r}


def test_county_staff_get_only_their_unit(county_user, applications):
    count, rows = export(county_user)
    assert count == 2
    assert set(by_reference(rows)) == {applications[0].reference, applications[1].reference}


def test_bank_officers_get_only_their_bank(other_bank_user, applications):
    count, rows = export(other_bank_user)
    assert count == 1 and set(by_reference(rows)) == {applications[2].reference}


def test_filters_by_program_unit_status_and_dates(city_user, program, other_unit, applications):
    ProgramFactory(code="other-prog", year=2021)
    assert export(city_user, {"program": str(program.pk)})[0] == 3
    assert export(city_user, {"program": "other-prog"})[0] == 0
    assert export(city_user, {"unit": str(other_unit.pk)})[0] == 1
    assert export(city_user, {"status": ApplicationStatus.SUBMITTED})[0] == 2
    assert export(city_user, {"channel": ApplicationChannel.UNION_REFERRAL})[0] == 2
    assert export(city_user, {"founder_class": FounderClass.GRADUATE})[0] == 1
    assert export(city_user, {"bank": str(applications[2].bank_id)})[0] == 1
    assert export(city_user, {"q": "王小明"})[0] == 1
    assert export(city_user, {"q": ID_FEMALE[-6:]})[0] == 1
    count, rows = export(city_user, {"applied_from": "2020-06-01", "applied_to": "2020-06-30"})
    assert count == 2
    assert applications[0].reference not in by_reference(rows)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"program": "nope"}, "program"),
        ({"program": "999999"}, "program"),
        ({"unit": "abc"}, "unit"),
        ({"status": "paid"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"founder_class": "x"}, "founder_class"),
        ({"bank": "12a"}, "bank"),
        ({"q": "长" * 51}, "q"),
        ({"applied_from": "2020-13-01"}, "applied_from"),
        ({"applied_from": "2020-07-01", "applied_to": "2020-06-01"}, "applied_to"),
    ],
)
def test_bad_params_are_chinese_field_errors(city_user, data, field):
    with pytest.raises(DomainError) as caught:
        roster_params(data, city_user)
    assert field in caught.value.field_errors
    assert all("\u4e00" <= ch <= "\u9fff" for ch in caught.value.field_errors[field][0][:1])


def test_county_staff_may_not_ask_for_another_unit(county_user, other_unit):
    with pytest.raises(DomainError) as caught:
        roster_params({"unit": str(other_unit.pk)}, county_user)
    assert "unit" in caught.value.field_errors


def test_progress_is_reported_every_chunk_and_at_the_end(city_user, applications, monkeypatch):
    monkeypatch.setattr(roster_module, "PROGRESS_EVERY", 2)
    calls = []
    count, _ = export(city_user, progress=lambda done, total: calls.append((done, total)))
    assert count == 3
    assert calls == [(2, 3), (3, 3)]


def test_query_count_does_not_grow_with_rows(city_user, program, unit, applications):
    with CaptureQueriesContext(connection) as few:
        export(city_user)
    for n in range(12):
        ApplicationFactory(program=program, unit=unit, applied_on=date(2020, 7, 1 + n))
    with CaptureQueriesContext(connection) as many:
        count, _ = export(city_user)
    assert count == 15
    assert len(many.captured_queries) == len(few.captured_queries)


def test_workbook_is_written_in_streaming_mode(city_user, applications, monkeypatch):
    modes = []
    real = roster_module.Workbook

    def spy(*args, **kwargs):
        modes.append(kwargs.get("write_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(roster_module, "Workbook", spy)
    export(city_user)
    assert modes == [True]


def test_the_list_starts_a_roster_export_job_with_its_filters(
    client, county_user, applications, settings, tmp_path, django_capture_on_commit_callbacks, eager
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(county_user)
    page = client.get(reverse("loans:application-list"), {"status": "submitted", "page": "1"})
    html = page.content.decode()
    assert 'id="roster-download"' in html and 'form="roster-export"' in html
    assert reverse("reports:export-start", args=["roster"]) in html
    assert '<input type="hidden" name="status" value="submitted">' in html
    assert 'name="page"' not in html.split('id="roster-export"')[1].split("</form>")[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:export-start", args=["roster"]),
            {"status": ApplicationStatus.SUBMITTED},
        )
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("reports:export-job", args=[job.pk])
    assert (job.status, job.rows_done) == (ExportJob.Status.DONE, 1)
    download = client.get(reverse("reports:export-download", args=[job.pk]))
    sheet = load_workbook(BytesIO(b"".join(download.streaming_content))).active
    references = [row[col("申请编号")] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert references == [applications[1].reference]


def test_a_roster_job_with_bad_params_is_refused_with_the_message(client, city_user):
    client.force_login(city_user)
    response = client.post(
        reverse("reports:export-start", args=["roster"]), {"applied_from": "garbage"}
    )
    assert response.status_code == 400
    assert "申请日期起" in response.content.decode()
    assert not ExportJob.objects.exists()
