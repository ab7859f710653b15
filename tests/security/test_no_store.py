"""Pages and API responses with personal data carry Cache-Control: no-store."""

import pytest
from django.urls import reverse
from knox.models import AuthToken

from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def _directives(response) -> set[str]:
    return {part.strip() for part in response.headers["Cache-Control"].split(",")}


def test_an_application_page_is_not_stored(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    client.force_login(county_user)

    response = client.get(reverse("loans:application-detail", args=[application.pk]))

    assert response.status_code == 200
    assert application.applicant.name in response.content.decode()
    assert {"no-store", "private"} <= _directives(response)


def test_an_api_response_with_applicants_is_not_stored(client, bank_user, program, unit, bank):
    application = ApplicationFactory(program=program, unit=unit, bank=bank, status="recommended")
    _token, key = AuthToken.objects.create(user=bank_user)

    response = client.get("/api/v1/applications/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert application.applicant.name in response.content.decode()
    assert "no-store" in _directives(response)


def test_the_login_page_is_not_stored_either(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "no-store" in _directives(response)
