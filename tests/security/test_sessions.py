"""Sessions end after SESSION_IDLE_TIMEOUT without a request and after the absolute limit."""

from datetime import timedelta

import pytest
from django.conf import settings

from gonghui import middleware

HOME = "/"


@pytest.fixture
def clock(monkeypatch):
    """The time the session middleware sees, moved by the test."""
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(middleware, "_now", lambda: now["t"])

    def advance(delta: timedelta):
        now["t"] += delta.total_seconds()

    return advance


@pytest.fixture
def signed_in(client, county_user, clock):
    client.force_login(county_user)
    assert client.get(HOME).status_code == 200
    return client


def _signed_out(response):
    return response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_request_within_the_idle_time_keeps_the_session(signed_in, clock):
    clock(settings.SESSION_IDLE_TIMEOUT - timedelta(minutes=1))

    assert signed_in.get(HOME).status_code == 200


def test_the_session_ends_after_the_idle_time(signed_in, clock):
    clock(settings.SESSION_IDLE_TIMEOUT + timedelta(minutes=1))

    assert _signed_out(signed_in.get(HOME))
    assert "_auth_user_id" not in signed_in.session
    # Signed out for good: the next request, at once, is still anonymous.
    assert _signed_out(signed_in.get(HOME))


def test_activity_moves_the_idle_limit(signed_in, clock):
    for _ in range(3):
        clock(settings.SESSION_IDLE_TIMEOUT - timedelta(minutes=5))
        assert signed_in.get(HOME).status_code == 200


def test_the_session_ends_at_the_absolute_limit_even_when_active(signed_in, clock):
    step = settings.SESSION_IDLE_TIMEOUT - timedelta(minutes=5)
    elapsed = timedelta(0)
    while elapsed + step < settings.SESSION_ABSOLUTE_TIMEOUT:
        clock(step)
        elapsed += step
        assert signed_in.get(HOME).status_code == 200

    # Past the absolute limit, though less than the idle time after the last request.
    last_gap = settings.SESSION_ABSOLUTE_TIMEOUT - elapsed + timedelta(minutes=1)
    assert last_gap < settings.SESSION_IDLE_TIMEOUT
    clock(last_gap)

    response = signed_in.get(HOME)
    assert _signed_out(response)
    assert "_auth_user_id" not in signed_in.session


def test_a_new_login_starts_a_new_absolute_period(client, county_user, clock):
    client.force_login(county_user)
    clock(settings.SESSION_ABSOLUTE_TIMEOUT + timedelta(minutes=1))
    assert _signed_out(client.get(HOME))

    client.force_login(county_user)

    assert client.get(HOME).status_code == 200


def test_the_session_cookie_lasts_no_longer_than_the_absolute_limit():
    assert settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds() == settings.SESSION_COOKIE_AGE
