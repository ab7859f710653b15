"""Quota and applicant-with-enterprise imports: same rules as set_quota / upsert_*."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loans.models import Applicant, Enterprise
from loans.resources import ENTERPRISE_COLUMNS, ApplicantResource
from loans.services.identity import make_credit_code, make_resident_id
from loans.services.imports import load_xlsx, row_messages, run_import
from quotas.models import Quota
from quotas.resources import QuotaResource
from tests.factories import ApplicationFactory, QuotaFactory
from tests.imports.conftest import read_xlsx, xlsx

pytestmark = pytest.mark.django_db

QUOTA_HEADERS = ["项目代码", "单位代码", "任务数（元）"]


def run(resource_class, headers, rows, user, *, dry_run=False):
    dataset = load_xlsx(xlsx(headers, rows))
    result = run_import(resource_class(user=user), dataset, user=user, dry_run=dry_run)
    return result, row_messages(result)


# --- quotas --------------------------------------------------------------------------------


def test_quota_file_creates_and_updates(program, unit, other_unit, city_user):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("1.00"))
    rows = [[program.code, unit.code, "2000000"], [program.code, other_unit.code, 1500000.5]]
    result, messages = run(QuotaResource, QUOTA_HEADERS, rows, city_user)
    assert messages == []
    assert (result.totals["new"], result.totals["update"]) == (1, 1)
    amounts = dict(Quota.objects.values_list("unit__code", "task_amount"))
    assert amounts == {unit.code: Decimal("2000000.00"), other_unit.code: Decimal("1500000.50")}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["jgd-2020", "xiushui", "-1"], "第2行 任务数（元）：金额不能为负数"),
        (["jgd-2020", "xiushui", "1.001"], "第2行 任务数（元）：金额最多保留两位小数（分）"),
        (["jgd-2020", "xiushui", "很多"], "第2行 任务数（元）：数值格式不正确"),
        (["nope", "xiushui", "1"], "第2行 项目代码：项目代码“nope”不存在"),
        (["jgd-2020", "nope", "1"], "第2行 单位代码：单位代码“nope”不存在"),
    ],
)
def test_bad_quota_rows_are_refused_and_nothing_written(program, unit, city_user, row, expected):
    good = [program.code, unit.code, "5"]
    _, messages = run(QuotaResource, QUOTA_HEADERS, [good, row], city_user)
    assert messages == [expected.replace("第2行", "第3行")]
    assert not Quota.objects.exists()


def test_quota_import_is_city_staff_only(program, unit, county_user):
    _, messages = run(QuotaResource, QUOTA_HEADERS, [[program.code, unit.code, "5"]], county_user)
    assert messages == ["文件：只有市总工会经办人可以批量导入"]
    assert not Quota.objects.exists()


def test_quota_export_round_trips(program, unit, other_unit, city_user):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("2000000.00"))
    QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("1234.56"))
    content = QuotaResource().export().export("xlsx")
    rows = read_xlsx(content)
    assert rows[0] == ["项目代码", "单位代码", "单位名称", "任务数（元）"]
    assert sorted(rows[1:]) == sorted(
        [
            [program.code, unit.code, unit.name, "2000000.00"],
            [program.code, other_unit.code, other_unit.name, "1234.56"],
        ]
    )
    Quota.objects.update(task_amount=Decimal("0"))
    result = run_import(
        QuotaResource(user=city_user), load_xlsx(content), user=city_user, dry_run=False
    )
    assert row_messages(result) == []
    assert dict(Quota.objects.values_list("unit__code", "task_amount")) == {
        unit.code: Decimal("2000000.00"),
        other_unit.code: Decimal("1234.56"),
    }


# --- applicants with enterprises -----------------------------------------------------------

APPLICANT_HEADERS = [
    "姓名",
    "身份证号",
    "手机号码",
    "是否劳模",
    "抗疫一线职工直系亲属",
    "创业人员类型",
    "工会会员",
    "所属工会",
    *ENTERPRISE_COLUMNS.values(),
]


def person(n, **overrides):
    row = {
        "姓名": f"王{n}",
        "身份证号": make_resident_id(region="360402", birth=date(1988, 2, 1 + n % 27), sequence=n),
        "手机号码": f"1380000{n:04d}",
        "是否劳模": "否",
        "抗疫一线职工直系亲属": "否",
        "创业人员类型": "高校毕业生",
        "工会会员": "是",
        "所属工会": "修水县总工会",
        "企业名称": f"修水测试商贸{n}",
        "统一社会信用代码": make_credit_code(body=f"91360400MB{n:07d}"),
        "法人代表": f"王{n}",
        "企业地址": "修水县",
        "职工数": 8,
        "营业执照领取时间": date(2019, 5, 1),
        "行业门类": "F",
        "行业代码": "5211",
        "新兴产业": "否",
        "年产值（元）": "1200000.00",
        "企业基本状况": "",
    }
    row.update(overrides)
    return [row[h] for h in APPLICANT_HEADERS]


def test_applicant_file_creates_applicants_and_enterprises(city_user):
    result, messages = run(ApplicantResource, APPLICANT_HEADERS, [person(1), person(2)], city_user)
    assert messages == []
    assert result.totals["new"] == 2
    applicant = Applicant.objects.get(name="王1")
    assert applicant.founder_class == "graduate" and applicant.is_union_member
    enterprise = Enterprise.objects.get(name="修水测试商贸1")
    assert enterprise.employees == 8 and enterprise.annual_output == Decimal("1200000.00")
    assert enterprise.licence_date == date(2019, 5, 1)


def test_existing_applicant_is_updated_by_resident_id(city_user):
    run(ApplicantResource, APPLICANT_HEADERS, [person(1)], city_user)
    result, messages = run(
        ApplicantResource,
        APPLICANT_HEADERS,
        [person(1, **{"手机号码": "13999999999", "职工数": 12})],
        city_user,
    )
    assert messages == [] and result.totals["update"] == 1
    assert Applicant.objects.get().mobile == "13999999999"
    assert Enterprise.objects.get().employees == 12


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"身份证号": "36040219880203002" + "8"}, "身份证号"),
        ({"手机号码": "12345"}, "手机号码"),
        ({"姓名": ""}, "姓名：请填写申请人姓名"),
        ({"统一社会信用代码": "91360400MB0000019"}, "统一社会信用代码"),
        ({"行业门类": "中"}, "行业门类：行业门类须为"),
        ({"行业代码": "52"}, "行业代码：行业代码须为4位数字"),
        ({"营业执照领取时间": date(2999, 1, 1)}, "营业执照领取时间：营业执照领取时间不能晚于今天"),
        ({"年产值（元）": "1.005"}, "年产值（元）：金额最多保留两位小数（分）"),
        ({"是否劳模": "也许"}, "是否劳模：是否劳模须填写“是”或“否”"),
    ],
)
def test_each_rule_of_the_services_refuses_the_row(city_user, overrides, expected):
    _, messages = run(
        ApplicantResource, APPLICANT_HEADERS, [person(1), person(2, **overrides)], city_user
    )
    assert len(messages) == 1, messages
    assert messages[0].startswith("第3行 ") and expected in messages[0]
    assert not Applicant.objects.exists() and not Enterprise.objects.exists()


def test_same_resident_id_twice_in_a_file_is_refused(city_user):
    twin = person(1, **{"统一社会信用代码": make_credit_code(body="91360400MB9999999")})
    _, messages = run(ApplicantResource, APPLICANT_HEADERS, [person(1), twin], city_user)
    assert messages == ["第3行 身份证号：该身份证号在文件中重复"]


def test_applicant_query_count_does_not_grow(city_user):
    def count(numbers):
        dataset = load_xlsx(xlsx(APPLICANT_HEADERS, [person(n) for n in numbers]))
        with CaptureQueriesContext(connection) as queries:
            result = run_import(
                ApplicantResource(user=city_user), dataset, user=city_user, dry_run=False
            )
        assert row_messages(result) == []
        return len(queries)

    rows = 200 if connection.vendor == "postgresql" else 40
    assert count(range(100, 110)) == count(range(200, 200 + rows))


def test_applicant_export_lists_the_latest_enterprise_and_round_trips(city_user):
    application = ApplicationFactory()
    applicant, enterprise = application.applicant, application.enterprise
    content = ApplicantResource().export().export("xlsx")
    header, *rows = read_xlsx(content)
    row = dict(zip(header, rows[0], strict=True))
    assert (
        row["身份证号"] == applicant.id_number and row["统一社会信用代码"] == enterprise.credit_code
    )
    assert row["营业执照领取时间"] == enterprise.licence_date.isoformat()
    before = list(Applicant.objects.values_list("name", "mobile", "is_union_member"))
    result = run_import(
        ApplicantResource(user=city_user), load_xlsx(content), user=city_user, dry_run=False
    )
    assert row_messages(result) == [] and result.totals["update"] == 1
    assert list(Applicant.objects.values_list("name", "mobile", "is_union_member")) == before
    assert Enterprise.objects.get().name == enterprise.name


@pytest.mark.parametrize("resource_class", [QuotaResource, ApplicantResource])
def test_export_query_count_does_not_grow_with_the_rows(resource_class):
    def count():
        with CaptureQueriesContext(connection) as queries:
            resource_class().export()
        return len(queries)

    for _ in range(2):
        ApplicationFactory()
        QuotaFactory()
    small = count()
    for _ in range(8):
        ApplicationFactory()
        QuotaFactory()
    assert count() == small


def test_quota_and_applicant_imports_leave_history_with_the_importing_user(
    program, unit, other_unit, city_user
):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("1.00"))
    rows = [[program.code, unit.code, "2000000"], [program.code, other_unit.code, "1500000"]]
    run(QuotaResource, QUOTA_HEADERS, rows, city_user)
    run(ApplicantResource, APPLICANT_HEADERS, [person(1)], city_user)
    run(ApplicantResource, APPLICANT_HEADERS, [person(1, 姓名="王一")], city_user)

    quota_records = Quota.history.filter(history_change_reason="批量导入")
    assert sorted(quota_records.values_list("history_type", "unit_id")) == sorted(
        [("~", unit.pk), ("+", other_unit.pk)]
    )
    assert {r.history_user for r in quota_records} == {city_user}
    applicant = Applicant.objects.get()
    kinds = list(
        applicant.history.order_by("history_id").values_list("history_type", "name", "history_user")
    )
    assert kinds == [("+", "王1", city_user.pk), ("~", "王一", city_user.pk)]
    assert Enterprise.history.filter(history_type="+", history_user=city_user).count() == 1
