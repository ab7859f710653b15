"""Celery tasks of the loans app: thin wrappers around the services (webhooks, imports)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from loans.services import webhooks
from loans.services.import_jobs import HARD_MARGIN, SOFT_MARGIN


def runs_eagerly() -> bool:
    """Whether tasks run in-process (no broker): then nothing can wait for a countdown."""
    return bool(deliver_webhook.app.conf.task_always_eager)


@shared_task(name="loans.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """POST one webhook delivery; on failure queue the next attempt with back-off.

    Running eagerly (no broker) the retry is not queued: ``redeliver_pending`` picks it up.
    """
    retry_in = webhooks.attempt_delivery(delivery_id)
    if retry_in is None:
        return "done"
    if not runs_eagerly():
        webhooks.enqueue(delivery_id, countdown=retry_in)
    return f"retry in {retry_in}s"


@shared_task(name="loans.tasks.redeliver_pending")
def redeliver_pending(limit: int = 500) -> int:
    """Queue every pending delivery that is due (beat runs this sweep every five minutes)."""
    ids = list(webhooks.pending_due().order_by("id").values_list("id", flat=True)[:limit])
    for delivery_id in ids:
        webhooks.enqueue(delivery_id)
    return len(ids)


@shared_task(
    name="loans.tasks.run_import_job",
    outbox_atomic=False,
    # Backstops of the import's own deadline (IMPORT_TIME_LIMIT, checked between rows): the
    # soft limit raises inside a run stuck between two checks, the hard one kills it. The
    # outbox sends them with its carrier message; its retry policy is the carrier's.
    soft_time_limit=settings.IMPORT_TIME_LIMIT + SOFT_MARGIN,
    time_limit=settings.IMPORT_TIME_LIMIT + HARD_MARGIN,
)
def run_import_job(job_id: int, step: str = "check") -> str:
    """Check (dry run) or import one uploaded file (``loans.services.import_jobs``)."""
    from loans.services import import_jobs

    return import_jobs.run_import_job(job_id, step)


@shared_task(name="loans.tasks.delete_old_imports")
def delete_old_imports() -> int:
    """Beat, daily: delete import jobs older than seven days and unconfirmed uploads."""
    from loans.services import import_jobs

    return import_jobs.delete_old_imports()
