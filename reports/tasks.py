"""Celery tasks of the reports app: thin wrappers around the services.

Every task is safe to run twice (a retry, a second delivery, beat and a person both
starting it): the snapshot rebuild replaces its rows, an outbox message runs once, an export
job that is done returns. Database hiccups are retried with exponential back-off.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports import digest

# Retried with back-off (1 s, 2 s, 4 s … at most 10 min, jittered): a lost database
# connection or a lock timeout, never a programming error.
TRANSIENT = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="reports.tasks.send_daily_digest", **RETRY)
def send_daily_digest(day: str | None = None) -> dict:
    """Mail each user their reminders; Celery beat runs it daily at 07:30 Asia/Shanghai.

    ``day`` is an ISO date (JSON-serialisable) for a re-run; the local date by default.
    Each user gets the day's mail once, however often the task runs.
    """
    result = digest.send_daily_digest(today=date.fromisoformat(day) if day else None, once=True)
    return {
        "sent": result.sent,
        "without_reminders": result.without_reminders,
        "failed": result.failed,
    }


@shared_task(name="reports.tasks.build_monthly_snapshots", **RETRY)
def build_monthly_snapshots(day: str | None = None) -> list[str]:
    """On the 2nd: build 附件3 of every active program for the month just ended.

    Rebuilding replaces the stored rows, so a retry or a second run leaves one snapshot.
    """
    from django.utils import timezone

    from loans.models import Program
    from reports.services import build_monthly_snapshot, previous_month

    month = previous_month(date.fromisoformat(day) if day else timezone.localdate())
    built = []
    for program in Program.objects.filter(is_active=True).order_by("code"):
        build_monthly_snapshot(program=program, month=month)
        built.append(f"{program.code}:{month:%Y-%m}")
    return built


@shared_task(name="reports.tasks.run_outbox_message", **RETRY)
def run_outbox_message(message_id: int):
    """Run one outbox message's task (once, however often it is delivered)."""
    from reports import outbox

    try:
        return outbox.execute(message_id)
    except Exception as error:
        outbox.note_failure(message_id, error)
        raise


@shared_task(name="reports.tasks.sweep_outbox", **RETRY)
def sweep_outbox() -> int:
    """Beat, every minute: publish the outbox messages still pending (broker was down)."""
    from reports import outbox

    return outbox.sweep()


@shared_task(name="reports.tasks.run_export_job", outbox_atomic=False, **RETRY)
def run_export_job(job_id: int) -> str:
    """Build one export job's file; a done or deleted job is left alone."""
    from reports import jobs

    return jobs.run_export_job(job_id)


@shared_task(name="reports.tasks.delete_old_exports", **RETRY)
def delete_old_exports() -> int:
    """Beat, daily: delete export files (and their jobs) older than seven days."""
    from reports import jobs

    return jobs.delete_old_exports()
