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


@shared_task(
    name="reports.tasks.build_monthly_snapshots",
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=5,
)
def build_monthly_snapshots(day: str | None = None) -> list[str]:
    """On the 2nd: build 附件3 of every active program for the month just ended.

    Rebuilding replaces the stored rows, so a retry or a second run leaves one snapshot.
    """
    from django.utils import timezone

    from loans.models import Program
    from reports.services import build_monthly_snapshot, previous_month

    month = previous_month(date.fromisoformat(day) if day else timezone.localdate())
    built = []
    for program in Program.objects.filter(is_active=True):
        build_monthly_snapshot(program=program, month=month)
        built.append(f"{program.code}:{month:%Y-%m}")
    return built
