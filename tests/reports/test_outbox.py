"""The transactional outbox: a write succeeds with Redis down, the work runs once later."""

import json
import os
import uuid
from datetime import date, timedelta
from time import monotonic

import pytest
import redis
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from reports import outbox
from reports.models import ExportJob, MonthlySnapshot, OutboxMessage
from tests.factories import ProgramFactory, make_user

pytestmark = pytest.mark.django_db
SNAPSHOTS = "reports.tasks.build_monthly_snapshots"
LATER = timedelta(minutes=1)  # past the sweep's grace period


@pytest.fixture
def program(db):
    return ProgramFactory(code="jgd-2020", year=2020, is_active=True)


def test_a_write_succeeds_with_the_broker_down_and_the_message_stays_pending(
    broker_down, client, program, django_capture_on_commit_callbacks
):
    city = make_user(Role.CITY_STAFF, username="city")
    client.force_login(city)
    started = monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:export-start", args=["announcement"]), {"program": program.code}
        )
    elapsed = monotonic() - started

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export-job", args=[job.pk])
    assert job.status == ExportJob.Status.PENDING
    message = OutboxMessage.objects.get()
    assert message.kwargs == {"job_id": job.pk}
    assert message.done_at is None and message.dispatched_at is None
    assert "发送失败" in message.last_error
    assert elapsed < 10  # failed fast: no connection retry loop in the request


def test_broker_back_the_sweep_runs_the_work_once(
    broker_down, celery_conf, program, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"})
    assert not MonthlySnapshot.objects.exists()

    assert outbox.sweep() == 0  # too young: its on-commit publish may still be on its way
    celery_conf(task_always_eager=True)  # the broker (and a worker) are back
    assert outbox.sweep(now=timezone.now() + LATER) == 1
    snapshot = MonthlySnapshot.objects.get()
    assert (snapshot.program, snapshot.month) == (program, date(2020, 7, 1))
    built_at = snapshot.built_at

    assert outbox.sweep(now=timezone.now() + LATER) == 0  # done: nothing left to sweep
    message = OutboxMessage.objects.get()
    outbox.execute(message.pk)  # a late second delivery of the same message
    snapshot.refresh_from_db()
    assert snapshot.built_at == built_at  # not rebuilt
    assert MonthlySnapshot.objects.count() == 1
    message.refresh_from_db()
    assert message.done_at is not None and message.last_error == ""


def test_a_message_published_twice_runs_once(program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"})

    assert outbox.execute(message.pk) == [f"{program.code}:2020-07"]
    assert outbox.execute(message.pk) is None
    assert MonthlySnapshot.objects.count() == 1


def test_a_rolled_back_write_queues_nothing(eager, program):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"})
        raise RuntimeError("the caller's write failed")
    assert not OutboxMessage.objects.exists()
    assert not MonthlySnapshot.objects.exists()


def test_the_same_key_is_queued_once(program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"}, key="snap:2020-07")
        second = outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"}, key="snap:2020-07")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1


def test_a_failing_task_stays_pending_with_its_error(
    eager, program, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(SNAPSHOTS, kwargs={"day": "not-a-date"})
    message = OutboxMessage.objects.get()
    assert message.done_at is None
    assert message.attempts == 1
    assert "not-a-date" in message.last_error


def test_an_unknown_task_is_refused_before_anything_is_written(db):
    with pytest.raises(ValueError):
        outbox.enqueue("reports.tasks.no_such_task")
    assert not OutboxMessage.objects.exists()


def test_with_redis_up_the_message_is_handed_to_the_broker(
    celery_conf, program, django_capture_on_commit_callbacks
):
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    queue = f"test-outbox-{uuid.uuid4().hex}"
    celery_conf(broker_url=url, task_always_eager=False, task_default_queue=queue)
    connection = redis.Redis.from_url(url)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            message = outbox.enqueue(SNAPSHOTS, kwargs={"day": "2020-08-02"})
        payloads = connection.lrange(queue, 0, -1)
    finally:
        connection.delete(queue, f"_kombu.binding.{queue}")
    assert len(payloads) == 1
    envelope = json.loads(payloads[0])
    assert envelope["headers"]["task"] == outbox.RUN_TASK
    assert envelope["headers"]["argsrepr"] == f"[{message.pk}]"
    message.refresh_from_db()
    assert message.dispatched_at is not None and message.done_at is None
