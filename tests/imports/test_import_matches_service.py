"""The loan import and ``disburse_loan`` refuse the same inputs with the same messages,
and record the same audit: the timeline event and the bank's two status callbacks."""

from datetime import date

import pytest

from gonghui.errors import DomainError
from loans.models import ApplicationEvent, Loan, WebhookDelivery
from loans.resources import LoanResource
from loans.services.imports import load_xlsx, row_messages, run_import
from loans.services.loans import disburse_loan
from tests.imports.conftest import LOAN_HEADERS, loan_row, xlsx

pytestmark = pytest.mark.django_db

COLUMN_OF = {
    "contract_number": "合同编号",
    "principal": "贷款金额（元）",
    "annual_rate": "年利率（%）",
    "disbursed_on": "放款日期",
    "maturity_on": "到期日期",
    "jobs_created": "带动就业人数",
    "new_union_members": "新增入会职工人数",
}
SERVICE_DEFAULTS = {
    "contract_number": "JJ-IMP-00001",
    "principal": "200000.00",
    "annual_rate": "5.8",
    "disbursed_on": date(2020, 7, 10),
    "maturity_on": date(2021, 7, 10),
    "jobs_created": 6,
    "new_union_members": 2,
}


@pytest.mark.parametrize(
    "overrides",
    [
        {"annual_rate": "5.81"},
        {"annual_rate": "0"},
        {"annual_rate": "5.12345"},
        {"principal": "300000.01"},
        {"principal": "0"},
        {"principal": "1.234"},
        {"disbursed_on": date(2020, 5, 31), "maturity_on": date(2021, 5, 31)},
        {"maturity_on": date(2021, 7, 11)},
        {"maturity_on": date(2020, 7, 10)},
        {"disbursed_on": "2020-13-01"},
        {"jobs_created": "-1"},
        {"contract_number": "x" * 65},
    ],
)
def test_import_refuses_what_the_service_refuses_with_its_messages(
    make_approved, bank_user, city_user, overrides
):
    app_for_service, app_for_import = make_approved(2)
    with pytest.raises(DomainError) as refused:
        disburse_loan(
            application=app_for_service, user=bank_user, **{**SERVICE_DEFAULTS, **overrides}
        )
    expected = sorted(
        f"第2行 {COLUMN_OF[field]}：{message}"
        for field, messages in refused.value.field_errors.items()
        for message in messages
    )
    row = loan_row(app_for_import, 1, **{COLUMN_OF[k]: v for k, v in overrides.items()})
    result = run_import(
        LoanResource(user=city_user),
        load_xlsx(xlsx(LOAN_HEADERS, [row])),
        user=city_user,
        dry_run=False,
    )
    assert sorted(row_messages(result)) == expected
    assert not Loan.objects.exists()


def test_import_records_the_timeline_and_callbacks_like_the_service(make_approved, bank, city_user):
    bank.webhook_url = "https://bank.example/callback"
    bank.save()
    apps = make_approved(3)
    dataset = load_xlsx(xlsx(LOAN_HEADERS, [loan_row(a, n) for n, a in enumerate(apps)]))
    result = run_import(LoanResource(user=city_user), dataset, user=city_user, dry_run=False)
    assert row_messages(result) == []
    assert ApplicationEvent.objects.filter(action="disburse").count() == 3
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert (
        sorted(d.event for d in deliveries)
        == ["application.status_changed"] * 3 + ["loan.disbursed"] * 3
    )
    loan = Loan.objects.get(application=apps[0])
    disbursed = deliveries.get(event="loan.disbursed", object_id=loan.pk)
    assert disbursed.payload["data"]["contract_number"] == loan.contract_number
    changed = deliveries.get(event="application.status_changed", object_id=apps[0].pk)
    assert changed.payload["data"]["status"] == "disbursed"
