"""/healthz: the database, Redis and the worker heartbeat, 200 when all are fine, else 503."""

import time

import pytest
from django.db import OperationalError
from django.test import override_settings

from gonghui import health

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/7"
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/7"


class FakeRedis:
    """The two commands /healthz and the heartbeat task use, kept in a dict."""

    def __init__(self):
        self.data = {}

    def ping(self):
        return True

    def set(self, key, value, ex=None):
        self.data[key] = str(value).encode()

    def get(self, key):
        return self.data.get(key)


@pytest.fixture
def fake_redis(monkeypatch):
    fake = FakeRedis()
    monkeypatch.setattr(health, "_redis_client", lambda: fake)
    return fake


def _get(client):
    response = client.get("/healthz")
    return response, response.json()


@override_settings(REDIS_URL=REDIS_URL)
def test_all_up_after_a_heartbeat(client, fake_redis):
    health.record_heartbeat()

    response, body = _get(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
    }
    assert 0 <= body["checks"]["worker"]["heartbeat_age_seconds"] < 5
    assert "no-store" in response.headers["Cache-Control"]


@override_settings(REDIS_URL=UNREACHABLE_REDIS_URL)
def test_redis_unreachable_is_a_503_naming_redis(client):
    response, body = _get(client)

    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["worker"]["status"] == "unknown"
    assert body["checks"]["database"]["status"] == "ok"


@override_settings(REDIS_URL=REDIS_URL, HEALTHZ_HEARTBEAT_MAX_AGE=180)
def test_a_stale_heartbeat_is_a_503_naming_the_worker(client, fake_redis):
    fake_redis.set(health.HEARTBEAT_KEY, time.time() - 600)

    response, body = _get(client)

    assert response.status_code == 503
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["status"] == "error"
    assert body["checks"]["worker"]["heartbeat_age_seconds"] >= 600


@override_settings(REDIS_URL=REDIS_URL)
def test_no_heartbeat_yet_is_a_503_naming_the_worker(client, fake_redis):
    response, body = _get(client)

    assert response.status_code == 503
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["detail"] == "no heartbeat recorded"


@override_settings(REDIS_URL="")
def test_without_redis_url_redis_and_worker_are_not_configured(client):
    response, body = _get(client)

    assert response.status_code == 200
    assert body["checks"]["redis"]["status"] == "not configured"
    assert body["checks"]["worker"]["status"] == "not configured"
    assert body["failed"] == []


@override_settings(REDIS_URL=REDIS_URL)
def test_database_down_is_a_503_naming_the_database(client, fake_redis, monkeypatch):
    health.record_heartbeat()

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(health.connection, "cursor", refuse)

    response, body = _get(client)

    assert response.status_code == 503
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"status": "error", "detail": "OperationalError"}
    assert "Connection refused" not in response.content.decode()


def test_the_heartbeat_is_scheduled_every_minute():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["record-worker-heartbeat"]
    assert entry["task"] == health.record_heartbeat.name
    assert str(entry["schedule"]._orig_minute) == "*"  # every minute


def test_the_worker_app_knows_the_heartbeat_task():
    from gonghui.celery import app

    app.loader.import_default_modules()
    assert "gonghui.health.record_heartbeat" in app.tasks
