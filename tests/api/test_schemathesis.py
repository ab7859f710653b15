"""Schemathesis against the live schema: every operation, as a bank officer (issue 5).

No operation may answer 5xx or with a body that breaks the documented schema. The run is
bounded (a few derandomized examples per operation) so that CI stays fast and repeatable.
"""

import uuid

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from loans.models import Application
from loans.services.applications import recommend_application
from quotas.models import Quota
from tests.api.conftest import (
    API,
    APPROVAL,
    DISBURSEMENT,
    application_payload,
    post,
    token_client,
)
from tests.factories import QuotaFactory

MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, response_schema_conformance]


def _seed(program, unit, bank_user, county_user) -> None:
    """Rows for every list and detail: applications, a loan with a repayment, a quota."""
    client = token_client(bank_user)
    for _ in range(2):
        response = post(client, f"{API}/applications/", application_payload(program, unit))
        assert response.status_code == 201, response.json()
    application = Application.objects.get(pk=response.json()["id"])
    recommend_application(application=application, user=county_user, opinion="同意推荐")
    response = post(client, f"{API}/applications/{application.pk}/decision/", APPROVAL)
    assert response.status_code == 200, response.json()
    response = post(client, f"{API}/loans/", {"application": application.pk, **DISBURSEMENT})
    assert response.status_code == 201, response.json()
    loan = response.json()["id"]
    response = post(
        client,
        f"{API}/loans/{loan}/repayment/",
        {"repaid_on": "2020-12-01", "principal_amount": "1000.00", "interest_amount": "50.00"},
    )
    assert response.status_code == 201, response.json()
    if not Quota.objects.filter(program=program, unit=unit).exists():
        QuotaFactory(program=program, unit=unit)


def test_api_conforms_to_its_schema(live_server, program, unit, bank_user, county_user):
    _seed(program, unit, bank_user, county_user)
    _token, key = AuthToken.objects.create(user=bank_user)
    authorization = f"Token {key}"
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            headers = {"Authorization": authorization}
            if case.method.upper() == "POST":
                headers["Idempotency-Key"] = str(uuid.uuid4())
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, FailureGroup) as exc:  # each failing operation is reported
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")

    assert not failures, "\n\n".join(failures)
