"""/healthz and the worker heartbeat it reads.

``GET /healthz`` answers JSON, 200 when the database, Redis and the Celery worker are all
fine, else 503 with ``failed`` naming which::

    {"status": "ok" | "error", "failed": ["redis"],
     "checks": {"database": {"status": "ok"},
                "redis": {"status": "error", "detail": "..."},
                "worker": {"status": "unknown", "detail": "..."}}}

The worker proves it is alive by running :func:`record_heartbeat` (beat schedules it every
minute, ``record-worker-heartbeat`` in settings): it stores the time in Redis, and /healthz
reports the heartbeat's age, failing once it is older than ``HEALTHZ_HEARTBEAT_MAX_AGE``.
Without REDIS_URL (the quick start: tasks run in-process, there is no worker) Redis and the
worker are "not configured", which is not a failure.
"""

from __future__ import annotations

import logging
import time

import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "gonghui:worker-heartbeat"
REDIS_TIMEOUT_SECONDS = 2

OK = "ok"
ERROR = "error"
UNKNOWN = "unknown"
NOT_CONFIGURED = "not configured"


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


@shared_task(name="gonghui.health.record_heartbeat", ignore_result=True)
def record_heartbeat() -> None:
    """Store now as the worker's heartbeat (a no-op without Redis: nothing reads it)."""
    if not settings.REDIS_URL:
        return
    max_age = settings.HEALTHZ_HEARTBEAT_MAX_AGE
    _redis_client().set(HEARTBEAT_KEY, repr(time.time()), ex=max_age * 10)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure to answer is the finding
        logger.warning("healthz: database check failed: %s", error)
        return {"status": ERROR, "detail": type(error).__name__}
    return {"status": OK}


def check_redis_and_worker() -> tuple[dict, dict]:
    if not settings.REDIS_URL:
        detail = "REDIS_URL is not set: tasks run in-process"
        return (
            {"status": NOT_CONFIGURED, "detail": detail},
            {"status": NOT_CONFIGURED, "detail": detail},
        )
    try:
        client = _redis_client()
        client.ping()
        beat = client.get(HEARTBEAT_KEY)
    except redis.RedisError as error:
        logger.warning("healthz: redis check failed: %s", error)
        return (
            {"status": ERROR, "detail": type(error).__name__},
            {"status": UNKNOWN, "detail": "heartbeat unreadable while Redis is down"},
        )
    if beat is None:
        return {"status": OK}, {"status": ERROR, "detail": "no heartbeat recorded"}
    try:
        age = max(0.0, time.time() - float(beat))
    except ValueError:
        return {"status": OK}, {"status": ERROR, "detail": "heartbeat unreadable"}
    worker = {"status": OK, "heartbeat_age_seconds": round(age, 1)}
    if age > settings.HEALTHZ_HEARTBEAT_MAX_AGE:
        worker.update(status=ERROR, detail="heartbeat is stale")
    return {"status": OK}, worker


def health_report() -> tuple[dict, bool]:
    redis_check, worker_check = check_redis_and_worker()
    checks = {"database": check_database(), "redis": redis_check, "worker": worker_check}
    failed = [name for name, check in checks.items() if check["status"] == ERROR]
    healthy = not failed and all(c["status"] != UNKNOWN for c in checks.values())
    report = {"status": OK if healthy else ERROR, "failed": failed, "checks": checks}
    return report, healthy


@require_GET
def healthz(request):
    report, healthy = health_report()
    response = JsonResponse(report, status=200 if healthy else 503)
    patch_cache_control(response, no_store=True)
    return response
