"""Every endpoint × {bank A, bank B, county staff of the unit, of another unit, anonymous}.

Bank A owns every record here (its application at the county of ``county``); bank B sees
none of them (404), county staff read their own unit's records and may not act as a bank
(403), anonymous callers are refused (401).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import LoanType, ReviewChannel
from quotas.models import Quota
from subsidies.services.claims import create_claim_for_loan
from tests.api.conftest import (
    API,
    APPROVAL,
    DISBURSEMENT,
    application_payload,
    post,
    session_client,
    token_client,
)
from tests.factories import ApplicationFactory, LoanFactory, ProgramFactory

pytestmark = pytest.mark.django_db

USERS = ("bank_a", "bank_b", "county", "other_county", "anonymous")


def _approved(program, unit, bank, **extra):
    values = {
        "program": program,
        "unit": unit,
        "bank": bank,
        "channel": C.BANK_REFERRAL,
        "status": S.BANK_APPROVED,
        "amount": Decimal("300000.00"),
        "review_channel": ReviewChannel.OFFLINE,
        "loan_type": LoanType.GUARANTEED,
        "approved_amount": Decimal("300000.00"),
        "approved_rate": Decimal("5.80"),
        "decided_at": timezone.now(),
    }
    return ApplicationFactory(**{**values, **extra})


@pytest.fixture
def world(program, unit, bank):
    recommended = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        channel=C.BANK_REFERRAL,
        status=S.RECOMMENDED,
        amount=Decimal("300000.00"),
    )
    approved = _approved(program, unit, bank)
    online = _approved(
        program,
        unit,
        bank,
        channel=C.BANK_ONLINE,
        review_channel=ReviewChannel.ONLINE,
        approved_rate=Decimal("4.75"),
    )
    consent_requested = _approved(
        program,
        unit,
        bank,
        channel=C.BANK_ONLINE,
        status=S.CONSENT_REQUESTED,
        review_channel=ReviewChannel.ONLINE,
        approved_rate=Decimal("4.75"),
        consent_subsidy_amount=Decimal("14250.00"),
    )
    loan = LoanFactory(
        application=_approved(program, unit, bank, status=S.DISBURSED),
        contract_number="JJ-2020-LOAN",
    )
    renewal_application = _approved(
        ProgramFactory(code="jgd-2021", year=2021),
        unit,
        bank,
        applicant=loan.application.applicant,
        applied_on=date(2021, 6, 15),
    )
    repaid = LoanFactory(
        application=_approved(program, unit, bank, status=S.DISBURSED),
        contract_number="JJ-2020-PAID",
        status="repaid",
        settled_on=date(2021, 1, 1),
    )
    claim = create_claim_for_loan(loan=repaid, as_of=date(2021, 1, 1))
    quota = Quota.objects.create(program=program, unit=unit, task_amount=Decimal("2000000.00"))
    return {
        "program": program,
        "unit": unit,
        "quota": quota,
        "recommended": recommended,
        "approved": approved,
        "online": online,
        "consent_requested": consent_requested,
        "loan": loan,
        "renewal_application": renewal_application,
        "claim": claim,
    }


@pytest.fixture
def clients(bank_user, other_bank_user, county_user, other_county_user):
    return {
        "bank_a": token_client(bank_user),
        "bank_b": token_client(other_bank_user),
        "county": session_client(county_user),
        "other_county": session_client(other_county_user),
        "anonymous": APIClient(),
    }


ALL_READ = (200, 200, 200, 200, 401)
OWN_READ = (200, 404, 200, 404, 401)
UNIT_READ = (200, 200, 200, 404, 401)
BANK_WRITE = (None, 404, 403, 403, 401)  # None: the success status of the endpoint

# name: (method, path, body, expected statuses in USERS order)
MATRIX = {
    "programs-list": ("get", "/programs/", None, ALL_READ),
    "programs-detail": ("get", "/programs/{program.pk}/", None, ALL_READ),
    "units-list": ("get", "/units/", None, ALL_READ),
    "units-detail": ("get", "/units/{unit.pk}/", None, UNIT_READ),
    "quotas-list": ("get", "/quotas/", None, ALL_READ),
    "quotas-detail": ("get", "/quotas/{quota.pk}/", None, UNIT_READ),
    "applications-list": ("get", "/applications/", None, ALL_READ),
    "applications-detail": ("get", "/applications/{recommended.pk}/", None, OWN_READ),
    "applications-create": ("post", "/applications/", "new_application", (201, 201, 403, 403, 401)),
    "applications-decision": (
        "post",
        "/applications/{recommended.pk}/decision/",
        APPROVAL,
        (200, 404, 403, 403, 401),
    ),
    "applications-consent-request": (
        "post",
        "/applications/{online.pk}/consent-request/",
        {},
        (200, 404, 403, 403, 401),
    ),
    "applications-consent": (
        "post",
        "/applications/{consent_requested.pk}/consent/",
        {"consent": True},
        (403, 403, 200, 404, 401),
    ),
    "loans-list": ("get", "/loans/", None, ALL_READ),
    "loans-detail": ("get", "/loans/{loan.pk}/", None, OWN_READ),
    "loans-create": ("post", "/loans/", "disbursement", (201, 404, 403, 403, 401)),
    "loans-repayment": (
        "post",
        "/loans/{loan.pk}/repayment/",
        {"repaid_on": "2020-10-01", "principal_amount": "50000.00"},
        (201, 404, 403, 403, 401),
    ),
    "loans-renewal": ("post", "/loans/{loan.pk}/renewal/", "renewal", (201, 404, 403, 403, 401)),
    "loans-follow-ups": ("get", "/loans/{loan.pk}/follow-ups/", None, OWN_READ),
    "subsidy-claims-list": ("get", "/subsidy-claims/", None, ALL_READ),
    "subsidy-claims-detail": ("get", "/subsidy-claims/{claim.pk}/", None, OWN_READ),
    "me": ("get", "/me/", None, ALL_READ),
}
CASES = [
    pytest.param(name, who, expected, id=f"{name}-{who}")
    for name, (_m, _p, _b, statuses) in MATRIX.items()
    for who, expected in zip(USERS, statuses, strict=True)
]


def _body(kind, world):
    if kind == "new_application":
        return application_payload(world["program"], world["unit"])
    if kind == "disbursement":
        return {**DISBURSEMENT, "application": world["approved"].pk}
    if kind == "renewal":
        return {
            **DISBURSEMENT,
            "application": world["renewal_application"].pk,
            "contract_number": "JJ-2021-0001",
            "disbursed_on": "2021-07-05",
            "maturity_on": "2022-07-05",
        }
    return kind


@pytest.mark.parametrize(("name", "who", "expected"), CASES)
def test_permission_matrix(name, who, expected, world, clients):
    method, path, body, _statuses = MATRIX[name]
    url = API + path.format(**world)
    client = clients[who]
    response = client.get(url) if method == "get" else post(client, url, _body(body, world))
    assert response.status_code == expected, response.json()
    if expected >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("who", USERS)
def test_schema_and_docs_are_public(who, clients):
    assert clients[who].get("/api/schema/").status_code == 200
    docs = clients[who].get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"swagger-ui-dist" in docs.content or b"drf_spectacular_sidecar" in docs.content


def test_bank_b_sees_none_of_bank_as_records(world, clients):
    for path in ("/applications/", "/loans/", "/subsidy-claims/"):
        assert clients["bank_b"].get(API + path).json()["count"] == 0
    assert clients["bank_a"].get(API + "/applications/").json()["count"] == 7
