"""批量导入 as jobs: the upload is stored, then a Celery task checks it and, once the user
confirms, imports it; the web request never parses a workbook.

1. :func:`start_import` (the upload's request) checks what can be checked without parsing —
   size, .xlsx content, macros, encryption, zip bombs, from the zip directory — stores the
   file privately under ``MEDIA_ROOT/imports/`` and queues the check through the outbox.
2. :func:`run_import_job` (the task ``loans.tasks.run_import_job``) reads the workbook
   (``MAX_ROWS`` rows at most) and runs the import as a dry run: every row validated, nothing
   written. The job keeps a preview of the first rows (personal numbers masked) and every
   row error in Chinese: ``checked`` or ``invalid``.
3. :func:`confirm_import` (the user's 确认导入) queues the same task again; it reads the file
   once more and imports it in one transaction, validating every row again, so a file that
   went stale in between is refused whole (``invalid``, nothing written). ``done`` then.

Limits: ``IMPORT_TIME_LIMIT`` seconds (setting) for each run, checked as rows are read and
validated (:class:`~loans.services.imports.Deadline`, which also holds when tasks run
in-process), backed by the task's Celery soft and hard time limits for a worker stuck
between two checks. A run past its limit fails the job and writes nothing. A worker killed
mid-run (hard limit, lost machine) leaves the job to the outbox sweep, which runs it again
— once: a second interrupted run fails the job. A delivery that finds the step started
less than the hard limit ago leaves it to the run at work.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from gonghui.errors import DomainError
from gonghui.spreadsheets import UploadLimits, check_xlsx_upload, safe_text
from loans.models import ImportJob
from loans.resources import ApplicantResource, LoanResource
from loans.services.imports import (
    MAX_UPLOAD_BYTES,
    PREVIEW_ROWS,
    TIMEOUTS,
    Deadline,
    cell_text,
    load_xlsx,
    row_messages,
    run_import,
)
from quotas.resources import QuotaResource
from reports import outbox
from reports.jobs import update_now

logger = logging.getLogger(__name__)

RESOURCES = {
    "loans": (LoanResource, "贷款（银行放款表）"),
    "applicants": (ApplicantResource, "申请人及企业"),
    "quotas": (QuotaResource, "任务分配"),
}
IMPORT_DIR = "imports"
KEEP_DAYS = 7
MAX_KEPT_ERRORS = 500  # messages stored on the job; the count is kept in full
MAX_ATTEMPTS = 2  # runs of one step; a second interrupted run fails the job
TASK = "loans.tasks.run_import_job"
INTERRUPTED = "导入被中断，未写入任何数据；请重新上传文件"
FAILED_MESSAGE = "导入失败，未写入任何数据；请稍后重试，如仍失败请联系管理员。"


def import_root() -> Path:
    """Where uploads wait for their job: private, under MEDIA_ROOT but never served."""
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR


def time_limit() -> int:
    return int(settings.IMPORT_TIME_LIMIT)


def resource_entry(key: str):
    """(Resource class, label) of an import kind; DomainError for an unknown one."""
    try:
        return RESOURCES[key]
    except KeyError:
        raise DomainError.for_field("resource", "unknown_import", "没有该导入内容") from None


def _queue(job: ImportJob) -> None:
    outbox.enqueue(
        TASK,
        kwargs={"job_id": job.pk},
        key=f"import-job:{job.pk}:{'import' if job.confirmed else 'check'}",
    )


def start_import(user, key: str, upload) -> ImportJob:
    """Check an upload without parsing it, store it and queue its check.

    Raises DomainError (field ``file`` or ``resource``) for a file refused by the checks.
    """
    resource_entry(key)
    if upload.size > MAX_UPLOAD_BYTES:
        raise DomainError.for_field(
            "file", "too_large", f"文件不能超过{MAX_UPLOAD_BYTES // (1024 * 1024)}MB"
        )
    check_xlsx_upload(upload, limits=UploadLimits(max_bytes=MAX_UPLOAD_BYTES))
    root = import_root()
    root.mkdir(parents=True, exist_ok=True)
    name = f"upload-{secrets.token_hex(16)}.xlsx"
    upload.seek(0)
    with (root / name).open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                resource=key,
                requested_by=user,
                file=name,
                filename=safe_text(Path(upload.name or "").name)[:255],
            )
            _queue(job)
    except BaseException:
        (root / name).unlink(missing_ok=True)
        raise
    return job


def confirm_import(user, job: ImportJob) -> bool:
    """Queue the import of a checked job (once); False when it is not awaiting confirmation."""
    with transaction.atomic():
        claimed = ImportJob.objects.filter(
            pk=job.pk, requested_by=user, status=ImportJob.Status.CHECKED, confirmed=False
        ).update(status=ImportJob.Status.QUEUED, confirmed=True, rows_done=0, attempts=0, error="")
        if not claimed:
            return False
        job.refresh_from_db()
        _queue(job)
    return True


def preview(resource, dataset) -> dict:
    """The first rows of the file in the import's columns, personal numbers masked."""
    fields = [f.column_name for f in resource.get_import_fields()]
    headers = [h for h in fields if h in dataset.headers]
    positions = [dataset.headers.index(h) for h in headers]
    masks = [resource.masked_columns.get(h) for h in headers]
    rows = []
    for row in dataset[:PREVIEW_ROWS]:
        texts = [cell_text(row[i]) for i in positions]
        rows.append([mask(t) if mask and t else t for t, mask in zip(texts, masks, strict=True)])
    return {"headers": headers, "rows": rows}


def run_import_job(job_id: int) -> str:
    """Run a job's next step (check, or import once confirmed); see the module docstring."""
    job = ImportJob.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or job.status not in ImportJob.RUNNING:
        return "skipped"
    if job.status != ImportJob.Status.QUEUED and _may_still_run(job):
        return "running"  # a second delivery while the first run is within its limits
    if job.attempts >= MAX_ATTEMPTS:  # an earlier run of this step was killed twice
        _finish(job, ImportJob.Status.FAILED, error=INTERRUPTED)
        return "failed"
    running = ImportJob.Status.IMPORTING if job.confirmed else ImportJob.Status.CHECKING
    ImportJob.objects.filter(pk=job_id).update(
        status=running, started_at=timezone.now(), attempts=job.attempts + 1, rows_done=0
    )
    path = import_root() / job.file if job.file else None
    deadline = Deadline(time_limit())
    try:
        if path is None or not path.exists():
            raise DomainError.for_field("file", "missing", "上传的文件已过期，请重新上传")
        dataset = load_xlsx(path.read_bytes(), deadline=deadline)
        update_now(ImportJob, job_id, rows_total=len(dataset))
        resource_class, _ = resource_entry(job.resource)
        resource = resource_class(
            user=job.requested_by,
            deadline=deadline,
            progress=lambda done: update_now(ImportJob, job_id, rows_done=done),
        )
        result = run_import(resource, dataset, user=job.requested_by, dry_run=not job.confirmed)
    except (OperationalError, InterfaceError):
        raise  # the task's retry runs the step again
    except TIMEOUTS:
        _finish(
            job,
            ImportJob.Status.FAILED,
            error=f"导入超时（超过{time_limit()}秒），未写入任何数据；请拆分文件后重试",
        )
        return "timed out"
    except DomainError as error:
        _finish(job, ImportJob.Status.FAILED, error=error.message)
        return "failed"
    except Exception:
        logger.exception("import job %s failed", job_id)
        _finish(job, ImportJob.Status.FAILED, error=FAILED_MESSAGE)
        return "failed"
    errors = row_messages(result)
    if errors:
        _finish(job, ImportJob.Status.INVALID, errors=errors, rows_done=len(dataset))
        return "invalid"
    if not job.confirmed:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.CHECKED,
            preview=preview(resource, dataset),
            rows_done=len(dataset),
            errors=[],
            error_count=0,
            finished_at=timezone.now(),
        )
        return "checked"
    _finish(
        job,
        ImportJob.Status.DONE,
        rows_done=len(dataset),
        created_count=result.totals["new"],
        updated_count=result.totals["update"],
    )
    return "done"


def _may_still_run(job: ImportJob, now=None) -> bool:
    """Whether a run that started this step may still be at work (within its hard limit)."""
    hard_limit = timedelta(seconds=time_limit() + 60)
    return job.started_at is not None and (now or timezone.now()) - job.started_at < hard_limit


def _finish(job: ImportJob, status, *, errors=(), error: str = "", **fields) -> None:
    """End the job: its counters and messages saved, its uploaded file deleted."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        errors=list(errors[:MAX_KEPT_ERRORS]),
        error_count=len(errors),
        error=error[:500],
        file="",
        finished_at=timezone.now(),
        **fields,
    )
    if job.file:
        (import_root() / job.file).unlink(missing_ok=True)


def delete_old_imports(now=None) -> int:
    """Delete jobs older than ``KEEP_DAYS``, and the files of checks never confirmed within a
    day; returns how many jobs were deleted."""
    now = now or timezone.now()
    unconfirmed = ImportJob.objects.filter(
        status=ImportJob.Status.CHECKED, finished_at__lt=now - timedelta(days=1)
    )
    for job in unconfirmed.iterator():
        _finish(job, ImportJob.Status.FAILED, error="超过一天未确认，文件已删除；请重新上传")
    lost = ImportJob.objects.filter(
        status__in=[ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING],
        started_at__lt=now - timedelta(days=1),
    )
    for job in lost.iterator():  # its worker died and no delivery came back
        _finish(job, ImportJob.Status.FAILED, error=INTERRUPTED)
    count = 0
    for job in ImportJob.objects.filter(created_at__lt=now - timedelta(days=KEEP_DAYS)).iterator():
        if job.file:
            (import_root() / job.file).unlink(missing_ok=True)
        job.delete()
        count += 1
    return count


def user_imports(user):
    """The user's own import jobs, newest first."""
    return ImportJob.objects.filter(requested_by=user).order_by("-created_at", "-id")
