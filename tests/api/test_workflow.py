"""The full bank workflows through the API, with the union's steps taken through services."""

from decimal import Decimal

import pytest

from loans.choices import ApplicationStatus as S
from loans.choices import LoanStatus
from loans.models import Application, Loan, Repayment
from loans.services.applications import recommend_application
from tests.api.conftest import (
    API,
    APPROVAL,
    DISBURSEMENT,
    application_payload,
    post,
    session_client,
    token_client,
)
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


def test_bank_referral_to_renewal(program, unit, bank, bank_user, county_user):
    client = token_client(bank_user)

    response = post(client, f"{API}/applications/", application_payload(program, unit))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["channel"], body["bank"]) == (
        "submitted",
        "bank_referral",
        bank.pk,
    )
    assert body["amount"] == "300000.00"
    assert body["applicant"]["id_number"].count("*") > 0

    application = Application.objects.get(pk=body["id"])
    recommend_application(application=application, user=county_user, opinion="同意推荐")

    response = post(client, f"{API}/applications/{application.pk}/decision/", APPROVAL)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == S.BANK_APPROVED
    assert response.json()["approved_rate"] == "5.80"
    assert response.json()["approved_amount"] == "300000.00"

    response = post(client, f"{API}/loans/", {"application": application.pk, **DISBURSEMENT})
    assert response.status_code == 201, response.json()
    loan = response.json()
    assert (loan["principal"], loan["annual_rate"], loan["status"]) == (
        "300000.00",
        "5.80",
        "active",
    )
    assert loan["disbursed_on"] == "2020-07-01"

    response = post(
        client,
        f"{API}/loans/{loan['id']}/repayment/",
        {"repaid_on": "2020-12-01", "principal_amount": "100000.00", "interest_amount": "7250.00"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["principal_amount"] == "100000.00"
    assert Repayment.objects.filter(loan_id=loan["id"]).count() == 1

    # Renewal: a new application of the same borrower under next year's program.
    program_2021 = ProgramFactory(code="jgd-2021", year=2021)
    first = application_payload(program, unit)
    renewal_payload = application_payload(
        program_2021,
        unit,
        applied_on="2021-06-15",
        applicant=dict(response_applicant(application)),
        enterprise=dict(first["enterprise"], credit_code=application.enterprise.credit_code),
    )
    response = post(client, f"{API}/applications/", renewal_payload)
    assert response.status_code == 201, response.json()
    renewal_application = Application.objects.get(pk=response.json()["id"])
    assert renewal_application.applicant_id == application.applicant_id
    recommend_application(application=renewal_application, user=county_user)
    response = post(client, f"{API}/applications/{renewal_application.pk}/decision/", APPROVAL)
    assert response.status_code == 200, response.json()

    response = post(
        client,
        f"{API}/loans/{loan['id']}/renewal/",
        {
            **DISBURSEMENT,
            "application": renewal_application.pk,
            "contract_number": "JJ-2021-0001",
            "principal": "200000.00",
            "disbursed_on": "2021-07-05",
            "maturity_on": "2022-07-05",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["renewal_of"] == loan["id"]
    assert Loan.objects.get(pk=loan["id"]).status == LoanStatus.RENEWED

    response = client.get(f"{API}/loans/{loan['id']}/follow-ups/")
    assert response.status_code == 200
    assert response.json() == []


def response_applicant(application):
    applicant = application.applicant
    return {
        "name": applicant.name,
        "id_number": applicant.id_number,
        "mobile": applicant.mobile,
        "founder_class": applicant.founder_class,
        "union_name": applicant.union_name,
    }


def test_bank_online_needs_the_unions_consent(program, unit, bank_user, county_user):
    client = token_client(bank_user)
    payload = application_payload(program, unit, channel="bank_online")
    response = post(client, f"{API}/applications/", payload)
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]

    online = {**APPROVAL, "review_channel": "online", "annual_rate": "4.75"}
    response = post(client, f"{API}/applications/{pk}/decision/", online)
    assert response.status_code == 200, response.json()
    assert response.json()["approved_rate"] == "4.75"

    # Not yet consented: disbursement is a conflict with the workflow.
    disbursement = {**DISBURSEMENT, "application": pk, "annual_rate": "4.75"}
    response = post(client, f"{API}/loans/", disbursement)
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"

    response = post(client, f"{API}/applications/{pk}/consent-request/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == S.CONSENT_REQUESTED
    assert Decimal(body["consent_subsidy_amount"]) > 0

    staff = session_client(county_user)
    response = staff.post(
        f"{API}/applications/{pk}/consent/", {"consent": True, "opinion": "同意贴息"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == S.CONSENTED
    assert client.get(f"{API}/applications/{pk}/").json()["status"] == S.CONSENTED

    response = post(client, f"{API}/loans/", disbursement)
    assert response.status_code == 201, response.json()
    assert Application.objects.get(pk=pk).status == S.DISBURSED


def test_declined_with_a_reason(program, unit, bank_user, county_user):
    client = token_client(bank_user)
    pk = post(client, f"{API}/applications/", application_payload(program, unit)).json()["id"]
    recommend_application(application=Application.objects.get(pk=pk), user=county_user)
    response = post(client, f"{API}/applications/{pk}/decision/", {"decision": "declined"})
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    response = post(
        client, f"{API}/applications/{pk}/decision/", {"decision": "declined", "reason": "征信不良"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == S.BANK_DECLINED
    assert response.json()["decision_reason"] == "征信不良"
