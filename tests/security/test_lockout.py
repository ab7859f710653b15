"""Login lockout (django-axes): five wrong passwords lock the user name out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory


def _post(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def _fail(client, username, times):
    for attempt in range(1, times + 1):
        response = _post(client, username, "wrong-password-1")
        # The form again with its error, until the failure that reaches the limit.
        expected = 429 if attempt >= settings.AXES_FAILURE_LIMIT else 200
        assert response.status_code == expected


def test_right_password_signs_in(client, county_user):
    response = _post(client, "county", PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_after_the_failure_limit_even_the_right_password_is_refused(client, county_user):
    _fail(client, "county", settings.AXES_FAILURE_LIMIT - 1)
    locking = _post(client, "county", "wrong-password-1")

    assert locking.status_code == 429
    assert "登录已暂时锁定" in locking.content.decode()

    response = _post(client, "county", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_user_name(client, county_user, city_user):
    _fail(client, "county", settings.AXES_FAILURE_LIMIT)

    assert _post(client, "city", PASSWORD).status_code == 302


def test_a_success_before_the_limit_clears_the_count(client, county_user):
    _fail(client, "county", settings.AXES_FAILURE_LIMIT - 1)
    assert _post(client, "county", PASSWORD).status_code == 302
    client.logout()
    _fail(client, "county", settings.AXES_FAILURE_LIMIT - 1)

    assert _post(client, "county", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, county_user):
    _fail(client, "county", settings.AXES_FAILURE_LIMIT)
    assert _post(client, "county", PASSWORD).status_code == 429

    # Move the recorded failures back past the cool-off time.
    past = settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    for attempt in AccessAttempt.objects.filter(username="county"):
        attempt.attempt_time -= past
        attempt.save(update_fields=["attempt_time"])

    assert _post(client, "county", PASSWORD).status_code == 302


def test_an_administrator_lifts_a_lockout_with_the_management_command(client, county_user):
    _fail(client, "county", settings.AXES_FAILURE_LIMIT)
    assert _post(client, "county", PASSWORD).status_code == 429

    call_command("axes_reset_username", "county")

    assert not AccessAttempt.objects.filter(username="county").exists()
    assert _post(client, "county", PASSWORD).status_code == 302


def test_the_admin_login_is_guarded_too(client, db):
    from tests.factories import UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "nope-nope-1"})

    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})

    assert response.status_code == 429
