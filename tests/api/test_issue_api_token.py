"""``manage.py issue_api_token`` prints a working token once and stores only its hash."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_issues_a_token_that_authenticates(bank_user):
    out, err = StringIO(), StringIO()
    call_command("issue_api_token", "banker", "--days", "7", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = AuthToken.objects.get(user=bank_user)
    assert key not in token.digest
    assert round((token.expiry - token.created).total_seconds() / 86400) == 7
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/v1/me/").json()
    assert (me["username"], me["role"], me["bank"]) == (
        "banker",
        "bank_officer",
        bank_user.profile.bank_id,
    )


def test_refuses_staff_and_unknown_users(county_user):
    with pytest.raises(CommandError):
        call_command("issue_api_token", "county")
    with pytest.raises(CommandError):
        call_command("issue_api_token", "nobody")
    assert not AuthToken.objects.exists()
