"""Production headers: HTTPS redirect, HSTS, secure cookies and the Content Security Policy.

The production settings module (DEBUG=0) is loaded in a fresh interpreter with an explicit
environment, and Django's test client asks it for the login page there, so what is checked
is what the real settings produce, not an override.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import environ
environ.Env.read_env = classmethod(lambda cls, *a, **k: None)  # ignore a developer's .env
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
setup_test_environment()
# Only change: static files without collectstatic's manifest (no static build here).
storages = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
override_settings(STORAGES=storages).enable()
client = Client(HTTP_HOST="example.org")
https = client.get("/accounts/login/", secure=True, HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/accounts/login/")
health = client.get("/healthz")
print(json.dumps({
    "status": https.status_code,
    "headers": dict(https.headers),
    "csrf_cookie_secure": bool(https.cookies["csrftoken"]["secure"]),
    "csrf_cookie_httponly": bool(https.cookies["csrftoken"]["httponly"]),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "health_status": health.status_code,
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not key.startswith("SECURE_")
    }
    database = tmp_path_factory.mktemp("prod") / "probe.sqlite3"
    env.update(
        DJANGO_SETTINGS_MODULE="gonghui.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PII_HASH_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="example.org",
        DATABASE_URL=f"sqlite:///{database}",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_login_page_is_served_over_https(production):
    assert production["status"] == 200


def test_plain_http_is_redirected_to_https(production):
    assert production["plain_status"] == 301
    assert production["plain_location"] == "https://example.org/accounts/login/"


def test_healthz_answers_plain_http_for_probes(production):
    # Not redirected; without REDIS_URL only the database counts, and it answers.
    assert production["health_status"] == 200


def test_hsts_for_a_year_with_subdomains_and_preload(production):
    hsts = production["headers"]["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains; preload"


def test_cookies_are_https_only_and_hidden_from_scripts(production):
    assert production["csrf_cookie_secure"] is True
    assert production["csrf_cookie_httponly"] is True
    assert production["session_cookie_secure"] is True
    assert production["session_cookie_httponly"] is True


def test_the_content_security_policy_allows_only_our_own_scripts(production):
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in production["headers"]["Content-Security-Policy"].split(";")
        if directive.strip()
    }
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_other_protective_headers(production):
    headers = production["headers"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in headers["Cache-Control"]
