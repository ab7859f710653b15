"""批量导入 as jobs: the upload is stored, then a Celery task checks it and, once the user
confirms, imports it; the web request never parses a workbook.

1. :func:`start_import` (the upload's request) checks what can be checked without parsing —
   size, .xlsx content, macros, encryption, zip bombs, from the zip directory — stores the
   file privately under ``MEDIA_ROOT/imports/`` and queues the check through the outbox.
2. :func:`run_import_job` (the task ``loans.tasks.run_import_job``, step ``check``) reads the
   workbook (``MAX_ROWS`` rows at most) and runs the import as a dry run: every row
   validated, nothing written. The job keeps a preview of the first rows (personal numbers
   masked) and every row error in Chinese: ``checked`` or ``invalid``.
3. :func:`confirm_import` (the user's 确认导入) queues step ``import``: the file is read once
   more and imported in one transaction, every row validated again, so a file that went
   stale in between is refused whole (``invalid``, nothing written). The job is marked
   ``done`` inside that transaction: the rows and the mark commit together, so no later
   delivery can import the file a second time.

Limits: ``IMPORT_TIME_LIMIT`` seconds (setting) for each step, checked as rows are read and
validated (:class:`~loans.services.imports.Deadline`, which also holds when tasks run
in-process), backed by the task's Celery soft and hard limits (``SOFT_MARGIN`` and
``HARD_MARGIN`` seconds later) for a worker stuck between two checks. A step past its limit
fails the job and writes nothing.

Deliveries: a run claims its step by compare-and-set on the job row, so of two deliveries
one runs and the other returns. A delivery that finds the step started less than the hard
limit ago leaves the message pending (``outbox.Deferred``) for the sweep to look again; one
that finds it started longer ago knows that run was killed and runs it again — once: a
second interrupted run fails the job. A database error puts the step back in the queue and
is raised for the carrier task's retry.

Without a broker (``REDIS_URL`` unset, the SQLite quick start) the outbox runs the step
in-process when the upload's request commits: there the request does parse the workbook.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from gonghui.errors import DomainError
from gonghui.spreadsheets import UploadLimits, check_xlsx_upload, safe_text
from loans.models import ImportJob
from loans.resources import ApplicantResource, LoanResource
from loans.services.identity import mask_resident_id
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
SOFT_MARGIN = 30  # seconds after IMPORT_TIME_LIMIT: Celery's soft limit raises in the run
HARD_MARGIN = 60  # ... and its hard limit kills the worker process
TASK = "loans.tasks.run_import_job"
CHECK, IMPORT = "check", "import"
# 18 characters shaped like a resident ID inside an uploaded file's name.
ID_IN_NAME = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
INTERRUPTED = "导入被中断，未写入任何数据；请重新上传文件"
FAILED_MESSAGE = "导入失败，未写入任何数据；请稍后重试，如仍失败请联系管理员。"


def import_root() -> Path:
    """Where uploads wait for their job: private, under MEDIA_ROOT but never served."""
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR


def time_limit() -> int:
    return int(settings.IMPORT_TIME_LIMIT)


def resource_label(key: str) -> str:
    return RESOURCES[key][1] if key in RESOURCES else key


def resource_entry(key: str):
    """(Resource class, label) of an import kind; DomainError for an unknown one."""
    try:
        return RESOURCES[key]
    except KeyError:
        raise DomainError.for_field("resource", "unknown_import", "没有该导入内容") from None


def _queue(job: ImportJob) -> None:
    step = IMPORT if job.confirmed else CHECK
    outbox.enqueue(TASK, kwargs={"job_id": job.pk, "step": step}, key=f"import-job:{job.pk}:{step}")


def _stored_name(upload) -> str:
    """The upload's file name as shown to the user: formula-safe, an ID in it masked."""
    name = ID_IN_NAME.sub(lambda m: mask_resident_id(m.group()), Path(upload.name or "").name)
    return safe_text(name)[:255]


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
    # Owner-only: the file holds personal data in clear until its job ends.
    with os.fdopen(os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                resource=key, requested_by=user, file=name, filename=_stored_name(upload)
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


def run_import_job(job_id: int, step: str = CHECK) -> str:
    """Run a job's step (``check``, or ``import`` once confirmed); see the module docstring."""
    job = ImportJob.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or job.status not in ImportJob.RUNNING or job.confirmed != (step == IMPORT):
        return "skipped"  # gone, ended, or a late delivery of the other step
    if job.status != ImportJob.Status.QUEUED and _may_still_run(job):
        raise outbox.Deferred  # another delivery is at work on this step
    running = ImportJob.Status.IMPORTING if job.confirmed else ImportJob.Status.CHECKING
    if job.attempts >= MAX_ATTEMPTS:  # an earlier run of this step was killed twice
        _finish(job, ImportJob.Status.FAILED, error=INTERRUPTED, expected=job.status)
        return "failed"
    if not _claim(job, running):
        return "skipped"  # another delivery claimed it first
    try:
        return _run_step(job, running)
    except (OperationalError, InterfaceError):
        _requeue(job, running)
        raise  # the carrier task retries; the step runs again from the queue


def _claim(job: ImportJob, running) -> bool:
    """Start the step if the job row is still as this delivery read it (compare-and-set)."""
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).update(
            status=running, started_at=timezone.now(), attempts=job.attempts + 1, rows_done=0
        )
    )


def _run_step(job: ImportJob, running) -> str:
    path = import_root() / job.file if job.file else None
    deadline = Deadline(time_limit())
    try:
        if path is None or not path.exists():
            raise DomainError.for_field("file", "missing", "上传的文件已过期，请重新上传")
        dataset = load_xlsx(path.read_bytes(), deadline=deadline)
        update_now(ImportJob, job.pk, rows_total=len(dataset))
        resource_class, _ = resource_entry(job.resource)
        resource = resource_class(
            user=job.requested_by,
            deadline=deadline,
            progress=lambda done: update_now(ImportJob, job.pk, rows_done=done),
        )
        result = run_import(
            resource,
            dataset,
            user=job.requested_by,
            dry_run=not job.confirmed,
            on_success=lambda result: _mark_done(job, result, rows=len(dataset)),
        )
    except (OperationalError, InterfaceError):
        raise
    except TIMEOUTS:
        message = f"导入超时（超过{time_limit()}秒），未写入任何数据；请拆分文件后重试"
        _finish(job, ImportJob.Status.FAILED, error=message, expected=running)
        return "timed out"
    except DomainError as error:
        _finish(job, ImportJob.Status.FAILED, error=error.message, expected=running)
        return "failed"
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _finish(job, ImportJob.Status.FAILED, error=FAILED_MESSAGE, expected=running)
        return "failed"
    errors = row_messages(result)
    if errors:
        _finish(
            job, ImportJob.Status.INVALID, errors=errors, rows_done=len(dataset), expected=running
        )
        return "invalid"
    if job.confirmed:
        return "done"  # marked in the import's own transaction (_mark_done)
    ImportJob.objects.filter(pk=job.pk, status=running).update(
        status=ImportJob.Status.CHECKED,
        preview=preview(resource, dataset),
        rows_done=len(dataset),
        errors=[],
        error_count=0,
        finished_at=timezone.now(),
    )
    return "checked"


def _mark_done(job: ImportJob, result, *, rows: int) -> None:
    """Inside the import's transaction: the job is done exactly when its rows are written."""
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.IMPORTING).update(
        status=ImportJob.Status.DONE,
        rows_done=rows,
        created_count=result.totals["new"],
        updated_count=result.totals["update"],
        file="",
        finished_at=timezone.now(),
    )
    transaction.on_commit(lambda: _unlink(job.file))


def _requeue(job: ImportJob, running) -> None:
    """Give a step that hit a database error back to the queue (best effort)."""
    try:
        ImportJob.objects.filter(pk=job.pk, status=running).update(
            status=ImportJob.Status.QUEUED, started_at=None, attempts=job.attempts
        )
    except (OperationalError, InterfaceError):
        logger.warning("import job %s left %s after a database error", job.pk, running)


def _may_still_run(job: ImportJob, now=None) -> bool:
    """Whether a run that started this step may still be at work (within its hard limit)."""
    hard_limit = timedelta(seconds=time_limit() + HARD_MARGIN)
    return job.started_at is not None and (now or timezone.now()) - job.started_at < hard_limit


def _unlink(name: str) -> None:
    if name:
        (import_root() / name).unlink(missing_ok=True)


def _finish(job: ImportJob, status, *, expected, errors=(), error: str = "", **fields) -> bool:
    """End the job if it is still in state ``expected``: its counters and messages saved,
    its uploaded file deleted. False when another run or a person changed it meanwhile."""
    ended = ImportJob.objects.filter(pk=job.pk, status=expected).update(
        status=status,
        errors=list(errors[:MAX_KEPT_ERRORS]),
        error_count=len(errors),
        error=error[:500],
        file="",
        finished_at=timezone.now(),
        **fields,
    )
    if ended:
        _unlink(job.file)
    return bool(ended)


def delete_old_imports(now=None) -> int:
    """Clean up (beat, daily): fail checks never confirmed within a day, steps lost or
    queued for more than a day, delete jobs older than ``KEEP_DAYS`` and upload files no job
    names; returns how many jobs were deleted."""
    now = now or timezone.now()
    day_ago = now - timedelta(days=1)
    stale = ImportJob.objects.filter(
        Q(status=ImportJob.Status.CHECKED, finished_at__lt=day_ago)
        | Q(
            status__in=[ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING],
            started_at__lt=day_ago,
        )
        | Q(status=ImportJob.Status.QUEUED, created_at__lt=day_ago)
    )
    for job in stale.iterator():
        if job.status == ImportJob.Status.CHECKED:
            message = "超过一天未确认，文件已删除；请重新上传"
        else:  # its worker died, or its message never ran, and nothing came back
            message = INTERRUPTED
        _finish(job, ImportJob.Status.FAILED, error=message, expected=job.status)
    count = 0
    for job in ImportJob.objects.filter(created_at__lt=now - timedelta(days=KEEP_DAYS)).iterator():
        _unlink(job.file)
        job.delete()
        count += 1
    root = import_root()
    if root.exists():  # files of a crashed upload request or of a deleted user's jobs
        named = set(ImportJob.objects.exclude(file="").values_list("file", flat=True))
        for leftover in root.glob("upload-*"):
            if leftover.name not in named and leftover.stat().st_mtime < day_ago.timestamp():
                leftover.unlink(missing_ok=True)
    return count


def user_imports(user):
    """The user's own import jobs, newest first."""
    return ImportJob.objects.filter(requested_by=user).order_by("-created_at", "-id")
