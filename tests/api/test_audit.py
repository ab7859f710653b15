"""The audit trail of API writes: who, which bank, what, the outcome and the request id."""

import uuid

import pytest

from loans.models import ApiAuditEntry, Application
from loans.services.applications import recommend_application
from tests.api.conftest import (
    API,
    APPROVAL,
    application_payload,
    post,
    session_client,
    token_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(program, unit, bank_user, county_user):
    """A recommended application on which the bank posted its decision with a request id."""
    client = token_client(bank_user)
    response = post(client, f"{API}/applications/", application_payload(program, unit))
    application = Application.objects.get(pk=response.json()["id"])
    recommend_application(application=application, user=county_user, opinion="同意推荐")
    response = post(
        client,
        f"{API}/applications/{application.pk}/decision/",
        APPROVAL,
        HTTP_X_REQUEST_ID="req-decision-1",
    )
    assert response.status_code == 200, response.json()
    assert response.headers["X-Request-ID"] == "req-decision-1"
    return application


def test_a_decision_is_recorded_with_its_request_id(decided, bank, bank_user, unit):
    entry = ApiAuditEntry.objects.get(request_id="req-decision-1")
    assert (entry.user, entry.bank, entry.unit) == (bank_user, bank, unit)
    assert (entry.method, entry.path) == ("POST", f"{API}/applications/{decided.pk}/decision/")
    assert (entry.object_type, entry.object_id) == ("application", decided.pk)
    assert entry.changes == APPROVAL
    assert entry.response_status == 200
    # The creation before it: the new object's id is read off the response.
    created = ApiAuditEntry.objects.filter(path=f"{API}/applications/").get()
    assert (created.object_id, created.response_status) == (decided.pk, 201)
    uuid.UUID(created.request_id)  # generated when the client sent none


def test_refused_writes_and_secrets(bank_user):
    client = token_client(bank_user)
    response = client.put(
        f"{API}/webhook/", {"url": "ftp://x", "rotate_secret": True}, format="json"
    )
    assert response.status_code == 400
    uuid.UUID(response.headers["X-Request-ID"])
    entry = ApiAuditEntry.objects.get()
    assert (entry.object_type, entry.response_status) == ("webhook", 400)
    assert entry.changes == {"url": "ftp://x", "rotate_secret": "***"}
    # Reads are not recorded.
    client.get(f"{API}/applications/")
    assert ApiAuditEntry.objects.count() == 1


def test_staff_read_the_trail_within_their_scope(
    decided, county_user, other_county_user, city_user, bank_user
):
    url = f"{API}/audit/?object_type=application&object_id={decided.pk}"
    for user, expected in ((county_user, 2), (city_user, 2), (other_county_user, 0)):
        response = session_client(user).get(url)
        assert response.status_code == 200, response.json()
        assert response.json()["count"] == expected
    body = session_client(county_user).get(url).json()
    assert body["results"][0]["request_id"] == "req-decision-1"
    assert body["results"][0]["username"] == bank_user.username

    response = token_client(bank_user).get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_read_the_trail_on_the_application_timeline(decided, county_user, bank_user, client):
    from django.urls import reverse

    url = reverse("loans:application-detail", args=[decided.pk])
    client.force_login(county_user)
    body = client.get(url).content.decode()
    assert "银行接口操作记录" in body
    assert "req-decision-1" in body
    assert f"{API}/applications/{decided.pk}/decision/" in body
    client.force_login(bank_user)
    assert "req-decision-1" not in client.get(url).content.decode()
