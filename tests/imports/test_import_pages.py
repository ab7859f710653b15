"""The 批量导入 portal pages and the admin import: city staff only, preview, confirm."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loans.choices import ApplicationStatus as S
from loans.models import Application, Loan
from tests.factories import LoanFactory, QuotaFactory
from tests.gonghui.test_spreadsheets import rezip
from tests.imports.conftest import LOAN_HEADERS, loan_row, read_xlsx, xlsx

pytestmark = pytest.mark.django_db


def upload(content: bytes, name="loans.xlsx"):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def post_file(client, content, resource="loans", name="loans.xlsx"):
    return client.post(
        reverse("loans:import"), {"resource": resource, "file": upload(content, name)}
    )


@pytest.mark.parametrize(
    ("role_user", "status"),
    [("city_user", 200), ("county_user", 403), ("bank_user", 403), ("manager_user", 403)],
)
def test_only_city_staff_open_the_import_pages(client, request, role_user, status):
    client.force_login(request.getfixturevalue(role_user))
    assert client.get(reverse("loans:import")).status_code == status
    assert client.get(reverse("loans:export", args=["loans"])).status_code == status
    assert client.get(reverse("loans:import-template", args=["quotas"])).status_code == status
    assert client.post(reverse("loans:import-confirm"), {"token": "x"}).status_code in (status, 302)


def test_county_staff_cannot_post_an_import(client, county_user, make_approved):
    (app,) = make_approved(1)
    client.force_login(county_user)
    response = post_file(client, xlsx(LOAN_HEADERS, [loan_row(app, 1)]))
    assert response.status_code == 403
    assert not Loan.objects.exists()


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("loans:import"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_preview_then_confirm_imports_the_stored_file(client, city_user, make_approved):
    apps = make_approved(3)
    client.force_login(city_user)
    response = post_file(client, xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)]))
    assert response.status_code == 200
    assert response.context["errors"] == []
    assert response.context["preview"]["total"] == 3
    assert "确认导入" in response.content.decode()
    assert not Loan.objects.exists()  # the preview is a dry run
    response = client.post(reverse("loans:import-confirm"), {"token": response.context["token"]})
    assert response.status_code == 302
    assert Loan.objects.count() == 3
    assert set(Application.objects.values_list("status", flat=True)) == {S.DISBURSED}
    # A token is good for one import only.
    response = client.post(reverse("loans:import-confirm"), {"token": "used"}, follow=True)
    assert "导入已过期或已完成" in response.content.decode()
    assert Loan.objects.count() == 3


def test_preview_lists_every_row_error_in_chinese_and_offers_no_confirm(
    client, city_user, make_approved
):
    apps = make_approved(3)
    rows = [loan_row(a, n) for n, a in enumerate(apps)]
    rows[2] = loan_row(apps[2], 2, **{"年利率（%）": "6"})
    client.force_login(city_user)
    response = post_file(client, xlsx(LOAN_HEADERS, rows))
    page = response.content.decode()
    assert "第4行 年利率（%）：年利率6%超过本项目线下审核最高年利率5.8%，不予受理" in page
    assert "确认导入" not in page and "token" not in response.context
    assert not Loan.objects.exists()


def test_confirm_validates_again_and_writes_nothing_if_a_row_went_stale(
    client, city_user, make_approved
):
    apps = make_approved(2)
    client.force_login(city_user)
    response = post_file(client, xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)]))
    Application.objects.filter(pk=apps[1].pk).update(status=S.RECOMMENDED)
    response = client.post(
        reverse("loans:import-confirm"), {"token": response.context["token"]}, follow=True
    )
    assert "未写入任何数据" in response.content.decode()
    assert not Loan.objects.exists()


def test_non_xlsx_upload_is_a_form_error(client, city_user):
    client.force_login(city_user)
    response = post_file(client, b"contract,amount\n1,2\n", name="loans.csv")
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传"
    ]


def test_damaged_xlsx_is_a_form_error(client, city_user):
    client.force_login(city_user)
    response = post_file(client, b"PK\x03\x04 not really a zip")
    assert response.context["form"].errors["file"] == [
        "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传"
    ]


def test_oversized_upload_is_a_form_error(client, city_user, make_approved, monkeypatch):
    monkeypatch.setattr("loans.views.imports.MAX_UPLOAD_BYTES", 1024)
    (app,) = make_approved(1)
    client.force_login(city_user)
    content = xlsx(LOAN_HEADERS, [loan_row(app, 1)])
    assert len(content) > 1024
    response = post_file(client, content)
    assert response.context["form"].errors["file"] == ["文件不能超过0MB"]
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("resource", "first"), [("loans", "申请编号"), ("applicants", "姓名"), ("quotas", "项目代码")]
)
def test_template_has_the_header_row(client, city_user, resource, first):
    client.force_login(city_user)
    response = client.get(reverse("loans:import-template", args=[resource]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = read_xlsx(b"".join(response))
    assert rows[0][0] == first and len(rows) == 1


def test_export_page_lists_the_loans(client, city_user, make_approved):
    apps = make_approved(2)
    client.force_login(city_user)
    post = post_file(client, xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)]))
    client.post(reverse("loans:import-confirm"), {"token": post.context["token"]})
    rows = read_xlsx(b"".join(client.get(reverse("loans:export", args=["loans"]))))
    assert sorted(r[2] for r in rows[1:]) == sorted(
        Loan.objects.values_list("contract_number", flat=True)
    )


def test_unknown_resource_is_404(client, city_user):
    client.force_login(city_user)
    assert client.get(reverse("loans:export", args=["users"])).status_code == 404


# --- the admin -----------------------------------------------------------------------------


def test_admin_import_previews_then_imports_through_the_same_resource(admin_client, make_approved):
    apps = make_approved(2)
    content = xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)])
    url = reverse("admin:loans_loan_import")
    response = admin_client.post(url, {"format": "0", "import_file": upload(content)})
    assert response.status_code == 200
    assert not response.context["result"].has_validation_errors()
    assert not Loan.objects.exists()
    confirm = response.context["confirm_form"]
    response = admin_client.post(reverse("admin:loans_loan_process_import"), confirm.initial)
    assert response.status_code == 302
    assert Loan.objects.count() == 2


def test_admin_import_refuses_a_rule_breaking_row(admin_client, make_approved):
    (app,) = make_approved(1)
    content = xlsx(LOAN_HEADERS, [loan_row(app, 1, **{"年利率（%）": "9"})])
    response = admin_client.post(
        reverse("admin:loans_loan_import"), {"format": "0", "import_file": upload(content)}
    )
    result = response.context["result"]
    assert result.has_validation_errors()
    assert "超过本项目线下审核最高年利率" in response.content.decode()
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert not Loan.objects.exists()


def test_admin_import_is_city_staff_only(client, county_user):
    county_user.is_staff = True
    county_user.save()
    client.force_login(county_user)
    assert client.get(reverse("admin:quotas_quota_import")).status_code == 403
    assert client.get(reverse("admin:loans_loan_export")).status_code == 403


def test_admin_import_refuses_a_non_xlsx_file(admin_client):
    response = admin_client.post(
        reverse("admin:loans_loan_import"), {"format": "0", "import_file": upload(b"a,b\n1,2\n")}
    )
    assert response.status_code == 200
    assert "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传" in response.content.decode()
    assert not Loan.objects.exists()


@pytest.mark.parametrize("admin_name", ["loans_loan", "loans_applicant", "quotas_quota"])
def test_admin_export_gives_an_xlsx(admin_client, admin_name):
    quota = QuotaFactory()
    loan = LoanFactory()
    url = reverse(f"admin:{admin_name}_export")
    form = admin_client.get(url).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({k: "on" for k in form.fields if k not in ("format", "resource", "export_items")})
    response = admin_client.post(url, data)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = read_xlsx(b"".join(response))
    expected = {
        "loans_loan": loan.contract_number,
        "loans_applicant": loan.application.applicant.id_number,
        "quotas_quota": quota.unit.code,
    }[admin_name]
    assert any(expected in row for row in rows[1:])


def test_a_new_upload_discards_the_unconfirmed_preview(client, city_user, make_approved):
    apps = make_approved(2)
    client.force_login(city_user)
    first = post_file(client, xlsx(LOAN_HEADERS, [loan_row(apps[0], 1)]))
    second = post_file(client, xlsx(LOAN_HEADERS, [loan_row(apps[1], 2)]))
    response = client.post(
        reverse("loans:import-confirm"), {"token": first.context["token"]}, follow=True
    )
    assert "导入已过期或已完成" in response.content.decode()
    client.post(reverse("loans:import-confirm"), {"token": second.context["token"]})
    assert list(Loan.objects.values_list("application", flat=True)) == [apps[1].pk]


def _hostile(content: bytes, kind: str) -> bytes:
    doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    if kind == "macros":
        return rezip(content, extra={"xl/vbaProject.bin": b"\0" * 64})
    if kind == "zip bomb":
        return rezip(content, extra={"xl/media/padding.bin": b"\0" * (30 * 1024 * 1024)})
    return rezip(  # an XML entity bomb in the sheet
        content,
        replace={
            "xl/worksheets/sheet1.xml": lambda xml: xml[: xml.index(b"<worksheet")]
            + doctype
            + xml[xml.index(b"<worksheet") :]
        },
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("macros", "不接受含宏的工作簿（.xlsm），请另存为.xlsx后上传"),
        ("zip bomb", "文件解压后过大或压缩比异常，已拒绝"),
        ("entity bomb", "无法读取该Excel文件"),
    ],
)
def test_hostile_workbooks_are_refused_before_anything_is_written(
    client, city_user, make_approved, kind, message
):
    (app,) = make_approved(1)
    client.force_login(city_user)
    response = post_file(client, _hostile(xlsx(LOAN_HEADERS, [loan_row(app, 1)]), kind))
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [message]
    assert not Loan.objects.exists()


def test_a_file_with_too_many_rows_is_refused(client, city_user, make_approved, monkeypatch):
    monkeypatch.setattr("loans.services.imports.MAX_ROWS", 2)
    apps = make_approved(3)
    client.force_login(city_user)
    rows = [loan_row(app, n) for n, app in enumerate(apps, start=1)]
    response = post_file(client, xlsx(LOAN_HEADERS, rows))
    assert response.context["form"].errors["file"] == ["一次最多导入2行，请拆分文件"]
    assert not Loan.objects.exists()


def test_the_admin_import_refuses_a_macro_workbook(admin_client, make_approved):
    (app,) = make_approved(1)
    content = _hostile(xlsx(LOAN_HEADERS, [loan_row(app, 1)]), "macros")
    response = admin_client.post(
        reverse("admin:loans_loan_import"), {"format": "0", "import_file": upload(content)}
    )
    assert "不接受含宏的工作簿" in response.content.decode()
    assert not Loan.objects.exists()


def test_portal_and_admin_exports_write_formula_like_names_as_text(client, city_user, admin_client):
    from tests.factories import ApplicantFactory

    hostile = '=HYPERLINK("http://evil.example","x")'
    LoanFactory(application__applicant=ApplicantFactory(name=hostile))
    client.force_login(city_user)
    portal = read_xlsx(client.get(reverse("loans:export", args=["applicants"])).content)
    url = reverse("admin:loans_applicant_export")
    form = admin_client.get(url).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({k: "on" for k in form.fields if k not in ("format", "resource", "export_items")})
    admin = read_xlsx(b"".join(admin_client.post(url, data)))
    for rows in (portal, admin):
        values = [value for row in rows[1:] for value in row]
        assert "'" + hostile in values
        assert not any(isinstance(v, str) and v.startswith("=") for v in values)
