"""The scheduled tasks through a real Celery worker on Redis, each delivered twice as a
duplicate beat (or a retry after a lost acknowledgement) would: one snapshot, one claim.

The worker runs in a thread of this test (``celery.contrib.testing``) and consumes a queue
named for this run only, so parallel runs and CI jobs sharing a Redis never take each
other's messages; only that queue is purged. Works on SQLite (the in-memory test database
is shared between threads) and on PostgreSQL. Redis: ``REDIS_URL``, else the local default.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from decimal import Decimal

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from loans.models import Program
from loans.services.rules import split_principal
from reports.models import MonthlySnapshot
from reports.services import previous_month
from subsidies.models import SubsidyClaim
from tests.factories import BankFactory, LoanFactory, ProgramFactory, UnitFactory

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
TIMEOUT = 60  # seconds, per result: a broken worker fails the test instead of hanging it
SNAPSHOT_ENTRY = "build-monthly-snapshots"
SCAN_ENTRY = "每日生成到期贴息申请"


@pytest.fixture
def worker_app(monkeypatch):
    """A Celery app like production's (Redis broker and results, acks_late, JSON) on a queue
    of its own, with every shared task of the project; the project's app is restored after."""
    import loans.tasks  # noqa: F401  (register the shared tasks before the app finalizes)
    import reports.tasks  # noqa: F401
    import subsidies.tasks  # noqa: F401
    from gonghui.celery import app as project_app

    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    queue = f"test-worker-{uuid.uuid4().hex}"
    app = Celery("gonghui-test-worker", set_as_current=False)
    app.conf.update(
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        result_expires=600,
        task_default_queue=queue,
        task_always_eager=False,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=settings.CELERY_TASK_ACKS_LATE,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_enable_remote_control=False,
        timezone=settings.CELERY_TIMEZONE,
        broker_connection_retry_on_startup=False,
    )
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        yield app, queue
    finally:
        connection.delete(queue, f"_kombu.binding.{queue}")
        project_app.set_current()
        project_app.set_default()


@pytest.fixture
def due_work():
    """An active program (so a snapshot of last month) with a loan past maturity (a claim)."""
    program = ProgramFactory(code="jgd-2020", year=2020, is_active=True)
    unit, bank = UnitFactory(code="xiushui", name="修水县"), BankFactory(code="jjbank")
    split = split_principal(
        program=program, borrower_class="general", principal=Decimal("300000.00")
    )
    LoanFactory(
        application__program=program,
        application__unit=unit,
        application__bank=bank,
        application__amount=Decimal("300000.00"),
        application__approved_amount=Decimal("300000.00"),
        application__approved_rate=Decimal("5.80"),
        principal=Decimal("300000.00"),
        subsidised_principal=split.subsidised,
        leveraged_amount=split.leveraged,
        annual_rate=Decimal("5.80"),
        disbursed_on=date(2020, 7, 10),
        maturity_on=date(2021, 7, 10),
    )
    return program


def _as_beat_sends(app, queue, name):
    """Send a PeriodicTask's task with its stored arguments, as beat does."""
    entry = PeriodicTask.objects.get(name=name)
    return app.send_task(
        entry.task, args=json.loads(entry.args), kwargs=json.loads(entry.kwargs), queue=queue
    )


def test_scheduled_tasks_sent_twice_to_a_real_worker_store_one_snapshot_and_one_claim(
    worker_app, due_work
):
    app, queue = worker_app
    assert PeriodicTask.objects.get(name=SNAPSHOT_ENTRY).crontab.day_of_month == "2"

    with start_worker(app, perform_ping_check=False, shutdown_timeout=TIMEOUT):
        sent = [_as_beat_sends(app, queue, name) for name in (SNAPSHOT_ENTRY,) * 2]
        sent += [_as_beat_sends(app, queue, name) for name in (SCAN_ENTRY,) * 2]
        results = [result.get(timeout=TIMEOUT) for result in sent]

    month = previous_month(timezone.localdate())
    expected = [f"{p.code}:{month:%Y-%m}" for p in Program.objects.filter(is_active=True)]
    assert results[:2] == [expected, expected]
    assert sorted(results[2:]) == [0, 1]  # the second scan found the claim already made
    assert list(MonthlySnapshot.objects.values_list("program", "month")) == [(due_work.pk, month)]
    assert SubsidyClaim.objects.count() == 1
    assert all(result.status == "SUCCESS" for result in sent)
    for result in sent:
        result.forget()


def test_an_uploaded_import_is_checked_by_a_real_worker(
    worker_app, celery_conf, settings, tmp_path
):
    """The upload's request only stores the file and its outbox message (the broker is down
    here); the worker reads and checks the workbook."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.choices import Role
    from loans.models import ImportJob
    from loans.services.import_jobs import start_import
    from reports.models import OutboxMessage
    from tests.factories import make_user
    from tests.imports.conftest import xlsx

    settings.MEDIA_ROOT = tmp_path
    celery_conf(
        task_always_eager=False,
        broker_url="redis://127.0.0.1:1/0",
        broker_write_url="redis://127.0.0.1:1/0",
    )
    program, unit = ProgramFactory(code="jgd-2020"), UnitFactory(code="xiushui")
    content = xlsx(["项目代码", "单位代码", "任务数（元）"], [[program.code, unit.code, "500000"]])
    user = make_user(Role.CITY_STAFF, username="city")
    job = start_import(user, "quotas", SimpleUploadedFile("quota.xlsx", content))
    message = OutboxMessage.objects.get(key=f"import-job:{job.pk}:check")
    assert ImportJob.objects.get().status == ImportJob.Status.QUEUED

    app, queue = worker_app
    with start_worker(app, perform_ping_check=False, shutdown_timeout=TIMEOUT):
        sent = app.send_task("reports.tasks.run_outbox_message", args=[message.pk], queue=queue)
        assert sent.get(timeout=TIMEOUT) == "checked"
        sent.forget()

    job.refresh_from_db()
    assert (job.status, job.rows_total) == (ImportJob.Status.CHECKED, 1)
    assert job.preview["rows"] == [["jgd-2020", "xiushui", "500000"]]
