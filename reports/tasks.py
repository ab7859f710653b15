"""Scheduled jobs of the reports app; thin wrappers around ``reports.digest``."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from reports import digest


@shared_task(name="reports.tasks.send_daily_digest")
def send_daily_digest(day: str | None = None) -> dict:
    """Mail each user their reminders; Celery beat runs it daily at 07:30 Asia/Shanghai.

    ``day`` is an ISO date (JSON-serialisable) for a re-run; the local date by default.
    """
    result = digest.send_daily_digest(today=date.fromisoformat(day) if day else None)
    return {
        "sent": result.sent,
        "without_reminders": result.without_reminders,
        "failed": result.failed,
    }
