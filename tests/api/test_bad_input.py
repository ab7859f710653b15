"""Hostile input is a 4xx with the error shape, never a 500 (on SQLite and PostgreSQL)."""

import json

import pytest

from tests.api.conftest import API, DISBURSEMENT, application_payload, post, token_client

pytestmark = pytest.mark.django_db

HUGE = 10**30


@pytest.fixture
def client(bank_user):
    return token_client(bank_user)


@pytest.mark.parametrize(
    "change",
    [
        {"program": HUGE},
        {"unit": -1},
        {"program": "abc"},
        {"term_months": HUGE},
        {"applied_on": "2020-02-30"},
        {"applied_on": "\x00"},
        {"applicant": "not an object"},
        {"applicant": {"name": "x" * 10_000}},
        {"enterprise": {"employees": HUGE}},
        {"amount": "9" * 40},
        {"amount": "NaN"},
        {"channel": "union_referral"},
    ],
)
def test_hostile_application_fields(client, program, unit, change):
    payload = {**application_payload(program, unit), **change}
    response = post(client, f"{API}/applications/", payload)
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()) == {"code", "message", "fields"}


def test_lone_surrogate_in_text(client, program, unit):
    payload = {**application_payload(program, unit), "purpose_other": "\ud800"}
    response = client.post(
        f"{API}/applications/",
        json.dumps(payload),  # ASCII-escaped, as a client's JSON library sends it
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="surrogate",
    )
    assert response.status_code == 400, response.content
    assert "purpose_other" in response.json()["fields"]


@pytest.mark.parametrize(
    "path",
    [
        f"/applications/{HUGE}/",
        "/applications/abc/",
        "/loans/?q=%00",
        "/subsidy-claims/?q=%00",
        f"/subsidy-claims/?program={HUGE}",
        "/applications/?page_size=abc&page=abc",
        f"/quotas/?program={HUGE}",
    ],
)
def test_hostile_reads(client, path):
    response = client.get(API + path)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("application", [HUGE, -5, "x", None])
def test_hostile_disbursement_application(client, application):
    response = post(client, f"{API}/loans/", {**DISBURSEMENT, "application": application})
    assert 400 <= response.status_code < 500, response.content
