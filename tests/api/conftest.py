"""Clients and payloads of the bank API tests."""

import uuid
from datetime import date

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient

from loans.services.identity import make_credit_code, make_resident_id

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    """A client authenticated with a knox token, as a bank's system is."""
    _token, key = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(user) -> APIClient:
    """A client signed in with the session, as staff in the browser are."""
    client = APIClient()
    client.force_login(user)
    return client


def post(client, url, data=None, *, key: str | None = "new", **extra):
    """POST JSON with an Idempotency-Key (a fresh one unless given; None for none)."""
    if key == "new":
        key = str(uuid.uuid4())
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, data if data is not None else {}, format="json", **extra)


_serial = iter(range(100, 10_000))


def application_payload(program, unit, *, channel="bank_referral", n=None, **overrides) -> dict:
    """A bank referral (or bank-online application) with a fresh applicant and enterprise."""
    n = next(_serial) if n is None else n
    payload = {
        "program": program.pk,
        "unit": unit.pk,
        "channel": channel,
        "amount": "300000.00",
        "applied_on": "2020-06-01",
        "term_months": 12,
        "purpose": "production",
        "applicant": {
            "name": f"王{n}",
            "id_number": make_resident_id(
                region="360402", birth=date(1988, 3, 1 + n % 28), sequence=n % 1000
            ),
            "mobile": f"138{n:08d}",
            "founder_class": "graduate",
            "union_name": "九江市总工会",
        },
        "enterprise": {
            "name": f"九江新创科技有限公司{n}",
            "credit_code": make_credit_code(body=f"91360400MB{n:07d}"),
            "legal_representative": f"王{n}",
            "licence_date": "2019-05-01",
            "industry_section": "C",
            "industry_code": "3311",
            "employees": 12,
            "annual_output": "1200000.00",
        },
    }
    payload.update(overrides)
    return payload


APPROVAL = {
    "decision": "approved",
    "amount": "300000.00",
    "annual_rate": "5.80",
    "loan_type": "guaranteed",
    "review_channel": "offline",
    "opinion": "同意贷款",
}

DISBURSEMENT = {
    "contract_number": "JJ-2020-0001",
    "principal": "300000.00",
    "annual_rate": "5.80",
    "disbursed_on": "2020-07-01",
    "maturity_on": "2021-07-01",
    "jobs_created": 6,
    "new_union_members": 2,
}
