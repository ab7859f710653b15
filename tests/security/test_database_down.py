"""The database down: a plain 503 page (no database, no traceback), JSON 503 under /api/."""

import pytest
from django.db import OperationalError, connections
from django.test import Client, override_settings
from knox.models import AuthToken

pytestmark = pytest.mark.django_db

MESSAGE = "could not connect to server: Connection refused"


@pytest.fixture
def database_down(monkeypatch):
    """From now on every query on the default connection fails as if the server were gone."""

    def refuse(*args, **kwargs):
        raise OperationalError(MESSAGE)

    def down():
        monkeypatch.setattr(connections["default"], "cursor", refuse)

    return down


def _assert_plain_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "系统暂时无法使用" in body
    assert "Traceback" not in body
    assert MESSAGE not in body
    assert "OperationalError" not in body


@override_settings(DEBUG=False)
def test_a_page_of_a_signed_in_user_gets_the_plain_503(county_user, database_down):
    client = Client(raise_request_exception=False)
    client.force_login(county_user)
    database_down()  # fails already in the middleware loading the session

    _assert_plain_503(client.get("/"))


@override_settings(DEBUG=False)
def test_a_view_whose_query_fails_gets_the_plain_503(county_user, database_down, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(county_user)

    def refuse(user):
        raise OperationalError(MESSAGE)

    monkeypatch.setattr("accounts.views.reminders_for", refuse)

    _assert_plain_503(client.get("/"))


def test_in_debug_too_a_view_failure_gets_the_plain_503(county_user, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(county_user)

    def refuse(user):
        raise OperationalError(MESSAGE)

    monkeypatch.setattr("accounts.views.reminders_for", refuse)

    _assert_plain_503(client.get("/"))


@override_settings(DEBUG=False)
def test_the_login_page_post_gets_the_plain_503(database_down):
    client = Client(raise_request_exception=False)
    database_down()

    response = client.post("/accounts/login/", {"username": "county", "password": "x" * 12})

    _assert_plain_503(response)


@override_settings(DEBUG=False)
def test_an_api_client_gets_the_json_error_shape(bank_user, database_down):
    client = Client(raise_request_exception=False)
    _token, key = AuthToken.objects.create(user=bank_user)
    database_down()

    response = client.get("/api/v1/applications/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "service_unavailable",
        "message": "系统数据库暂时无法连接，请稍后再试",
        "fields": {},
    }


@override_settings(DEBUG=False)
def test_other_errors_still_get_the_ordinary_500(county_user, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(county_user)

    def broken(user):
        raise ValueError("a bug")

    monkeypatch.setattr("accounts.views.reminders_for", broken)

    response = client.get("/")

    assert response.status_code == 500
    assert "系统暂时无法使用" not in response.content.decode()
