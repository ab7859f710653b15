"""Celery tasks of the loans app: thin wrappers around ``loans.services.webhooks``."""

from __future__ import annotations

from celery import shared_task

from loans.services import webhooks


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
