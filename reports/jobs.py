"""Export jobs: large downloads built by a Celery task while the browser shows progress.

Registering a kind of export
----------------------------
An app registers each kind once, at import time of a module its ``AppConfig.ready`` loads::

    register_export(
        "announcement",
        label="贷款贴息公示名单",
        parse_params=parse,     # (data, user) -> dict
        write=write,            # (path, *, user, params, progress) -> int
        filename=filename,      # (params) -> str
        allowed=allowed,        # (user) -> bool
    )

The contract of the four functions:

``parse_params(data, user) -> dict``
    ``data`` is the submitted form (a QueryDict or a plain dict of strings). Check every
    value and return JSON-serialisable parameters (ids, ISO dates, codes — never model
    instances). On bad input raise ``gonghui.errors.DomainError`` with Chinese
    ``field_errors``; nothing is written then (the view shows the messages, status 400).
    Scope by ``user`` here as well: refuse what the user may not see.

``write(path, *, user, params, progress) -> int``
    Write the file at ``path`` (a temporary file; it is moved into place afterwards) and
    return the number of data rows written. Stream: read with ``QuerySet.iterator()`` and
    write with ``openpyxl.Workbook(write_only=True)`` so memory stays flat. Call
    ``progress(rows_done, total=None)`` as rows are written (it is cheap: the job row is
    updated every ``PROGRESS_EVERY`` rows); pass ``total`` once when known so the bar can
    show a percentage. ``user`` is the requester (re-apply their scope); the function runs
    in a worker, possibly twice for the same job (a killed worker), so it must only write
    the file. Raise ``DomainError`` for a refusal the user should read (shown as the job's
    error); any other exception fails the job with a generic Chinese message.

``filename(params) -> str``
    The download's file name (Chinese allowed), e.g. ``"贴息台账-20260101.xlsx"``.

``allowed(user) -> bool``
    Whether the user may start this kind at all (checked before ``parse_params``).

``start_export(user, code, data)`` validates, creates the job and queues
``reports.tasks.run_export_job`` through the outbox in one transaction; the pages link to
``reports:export-job`` to follow it. Files older than ``KEEP_DAYS`` are deleted by beat.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from gonghui.errors import DomainError
from reports import outbox
from reports.models import ExportJob

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500
KEEP_DAYS = 7
EXPORT_DIR = "exports"
FAILED_MESSAGE = "导出失败，请稍后重试；如仍失败请联系管理员。"


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    parse_params: Callable[..., dict]
    write: Callable[..., int]
    filename: Callable[[dict], str]
    allowed: Callable[..., bool]


_REGISTRY: dict[str, ExportKind] = {}


def register_export(code, *, label, parse_params, write, filename, allowed) -> ExportKind:
    """Add a kind of export (see the module docstring for the contract)."""
    kind = ExportKind(code, label, parse_params, write, filename, allowed)
    _REGISTRY[code] = kind
    return kind


def export_kind(code: str) -> ExportKind:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise DomainError("unknown_export", "没有这种导出") from None


def export_kinds() -> dict[str, ExportKind]:
    return dict(_REGISTRY)


def export_root() -> Path:
    """Where export files live: private, under MEDIA_ROOT but never served as media."""
    return Path(settings.MEDIA_ROOT) / EXPORT_DIR


def job_path(job: ExportJob) -> Path | None:
    return export_root() / job.file if job.file else None


@transaction.atomic
def start_export(user, code: str, data) -> ExportJob:
    """Check the request, store the job and queue its task (together, or not at all)."""
    kind = export_kind(code)
    if not kind.allowed(user):
        raise DomainError("export_forbidden", "您无权导出该数据")
    params = kind.parse_params(data, user)
    job = ExportJob.objects.create(kind=code, params=params, requested_by=user)
    outbox.enqueue(
        "reports.tasks.run_export_job", kwargs={"job_id": job.pk}, key=f"export-job:{job.pk}"
    )
    return job


def _progress_callback(job_id: int):
    state = {"last": 0}

    def progress(rows_done: int, total: int | None = None) -> None:
        fields = {}
        if total is not None:
            fields["rows_total"] = total
        if rows_done - state["last"] >= PROGRESS_EVERY or (total is not None):
            fields["rows_done"] = rows_done
            state["last"] = rows_done
        if fields:
            update_now(ExportJob, job_id, **fields)

    return progress


def update_now(model, pk: int, **fields) -> None:
    """Update a job row's counters so the polling page sees them now.

    A job may do its work inside a transaction (the loan export reads in one: PostgreSQL then
    streams its server-side cursor; an import validates in one), and an UPDATE there would
    stay invisible until the end. On PostgreSQL the update then goes through a short-lived
    thread, which has its own autocommit connection; only when that thread finds no such row
    (the job itself is not committed yet) is it updated in the transaction. Progress is
    informative only: a failure to save it is logged, never raised.
    """
    connection = transaction.get_connection()
    try:
        if not (connection.vendor == "postgresql" and connection.in_atomic_block):
            model.objects.filter(pk=pk).update(**fields)
            return
        outcome = []

        def update() -> None:
            try:
                outcome.append(model.objects.filter(pk=pk).update(**fields))
            except (OperationalError, InterfaceError):
                outcome.append(None)  # not 0: the row may exist; do not lock it here
                logger.warning("progress of %s %s not saved", model.__name__, pk, exc_info=True)
            finally:
                connections.close_all()

        thread = threading.Thread(target=update, name=f"job-progress-{pk}")
        thread.start()
        thread.join()
        if outcome == [0]:  # the job row itself is not committed yet (an outer transaction)
            model.objects.filter(pk=pk).update(**fields)
    except (OperationalError, InterfaceError):
        logger.warning("progress of %s %s not saved", model.__name__, pk, exc_info=True)


def run_export_job(job_id: int) -> str:
    """Build a job's file: running → temp file with progress → moved into place → done.

    A job that is gone or done is left alone; a rerun (the worker was killed) writes a new
    temporary file and replaces the old one. A refusal or an error fails the job with a
    Chinese message; a database hiccup is raised again for the task's retry.
    """
    job = ExportJob.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or job.status == ExportJob.Status.DONE:
        return "skipped"
    try:
        kind = export_kind(job.kind)
    except DomainError as error:
        _fail(job_id, error.message)
        return "failed"
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.RUNNING,
        started_at=timezone.now(),
        rows_done=0,
        error="",
    )
    root = export_root()
    root.mkdir(parents=True, exist_ok=True)
    suffix = Path(kind.filename(job.params)).suffix or ".xlsx"
    handle, temp_name = tempfile.mkstemp(prefix=f".job-{job_id}-", suffix=suffix, dir=root)
    os.close(handle)
    try:
        rows = kind.write(
            Path(temp_name),
            user=job.requested_by,
            params=job.params,
            progress=_progress_callback(job_id),
        )
    except (OperationalError, InterfaceError):
        Path(temp_name).unlink(missing_ok=True)
        raise
    except DomainError as error:
        Path(temp_name).unlink(missing_ok=True)
        _fail(job_id, error.message)
        return "failed"
    except Exception:
        logger.exception("export job %s failed", job_id)
        Path(temp_name).unlink(missing_ok=True)
        _fail(job_id, FAILED_MESSAGE)
        return "failed"
    final = f"job-{job_id}{suffix}"
    os.replace(temp_name, root / final)
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE,
        file=final,
        filename=kind.filename(job.params),
        rows_done=rows,
        rows_total=rows,
        finished_at=timezone.now(),
    )
    return "done"


def _fail(job_id: int, message: str) -> None:
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )


def delete_old_exports(now=None) -> int:
    """Delete jobs older than ``KEEP_DAYS`` with their files, and temporary files of killed
    runs older than a day; returns how many jobs."""
    cutoff = (now or timezone.now()) - timedelta(days=KEEP_DAYS)
    old = ExportJob.objects.filter(created_at__lt=cutoff)
    count = 0
    for job in old.iterator():
        path = job_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        job.delete()
        count += 1
    # Temporary files left by a worker killed mid-write (its rerun used a new one).
    root = export_root()
    if root.exists():
        stale = (now or timezone.now()).timestamp() - 24 * 3600
        for leftover in root.glob(".job-*"):
            if leftover.stat().st_mtime < stale:
                leftover.unlink(missing_ok=True)
    return count


def user_jobs(user):
    """The user's own export jobs, newest first (selector of the 我的导出 page)."""
    return ExportJob.objects.filter(requested_by=user).order_by("-created_at", "-id")


def tracked(rows, progress, *, total: int | None = None):
    """Yield ``rows`` unchanged, reporting the count to ``progress`` as they pass."""
    if total is not None:
        progress(0, total=total)
    count = 0
    for count, row in enumerate(rows, start=1):
        progress(count)
        yield row
    progress(count, total=total if total is not None else None)
