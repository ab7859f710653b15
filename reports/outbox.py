"""Transactional outbox: a task to run is a row written with the change that wants it.

``enqueue`` writes an :class:`~reports.models.OutboxMessage` in the caller's transaction and,
when that transaction commits, publishes ``reports.tasks.run_outbox_message`` for it. The
publish fails fast when the broker is down (one short connection attempt, no retry loop in
the web request): the write has succeeded, the message stays pending, and the beat sweep
(``reports.tasks.sweep_outbox``, every minute) publishes it once the broker is back.

Delivery is at least once (on commit, then by the sweep while not done), execution is once:
:func:`execute` claims the message row (marks it done) in the transaction of the task's work,
so a second delivery finds it done and returns. A task whose work must commit in steps (an
export that reports progress) is declared with ``outbox_atomic=False``: it runs outside the
message's transaction and must be idempotent on its own (an export job returns when done).

Without a broker (``CELERY_TASK_ALWAYS_EAGER``, the SQLite quick start) the message is run
in-process on commit; an error is logged and left on the row for the sweep to retry.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from reports.models import OutboxMessage

logger = logging.getLogger(__name__)

RUN_TASK = "reports.tasks.run_outbox_message"
# The sweep leaves messages this young to their on-commit publish ...
GRACE = timedelta(seconds=30)
# ... and republishes one sent this long ago and still not done (the worker was lost).
REDISPATCH_AFTER = timedelta(minutes=10)
# After this many failed runs a message waits for a person (admin: 待执行任务).
MAX_ATTEMPTS = 5
SWEEP_BATCH = 500


class Deferred(Exception):
    """Raised by a task run outside the message's transaction (``outbox_atomic=False``) when
    its work is already in hand elsewhere (another delivery is running it): the message
    stays pending, uncounted, and the sweep delivers it again later."""


def _app():
    from gonghui.celery import app

    return app


def runs_eagerly() -> bool:
    return bool(_app().conf.task_always_eager)


def enqueue(task_name: str, *, kwargs: dict | None = None, key: str | None = None):
    """Queue ``task_name(**kwargs)`` to run once the current transaction commits.

    With ``key``, a second enqueue of the same key returns the first message (nothing new
    is queued). Returns the message.
    """
    if task_name not in _app().tasks:
        _app().loader.import_default_modules()
    if task_name not in _app().tasks:
        raise ValueError(f"unknown task {task_name}")
    values = {"task": task_name, "kwargs": kwargs or {}}
    with transaction.atomic():
        if key is None:
            message = OutboxMessage.objects.create(**values)
            created = True
        else:
            message, created = OutboxMessage.objects.get_or_create(key=key, defaults=values)
    if created:
        transaction.on_commit(lambda: publish(message.pk, task_name))
    return message


def _limits(task_name: str) -> dict:
    """The Celery time limits declared on a message's task, for the carrier task's run.

    The worker runs ``run_outbox_message``, which calls the task's function; the limits
    travel with that message (``soft_time_limit``/``time_limit`` are per-message options).
    """
    task = _app().tasks.get(task_name)
    limits = {}
    for option in ("soft_time_limit", "time_limit"):
        value = getattr(task, option, None)
        if value:
            limits[option] = value
    return limits


def publish(message_id: int, task_name: str) -> bool:
    """Hand one message to the broker (or run it here when eager); never raises.

    Returns whether it was handed over (or run). A failure is logged and stored on the row.
    """
    if runs_eagerly():
        try:
            execute(message_id)
        except Exception as error:  # logged and kept on the row; the sweep retries
            logger.exception("outbox message %s failed in-process", message_id)
            note_failure(message_id, error)
            return False
        return True
    app = _app()
    try:
        with app.connection_for_write() as conn:
            # One quick connection attempt: the request must not wait for the broker.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            app.send_task(
                RUN_TASK,
                args=[message_id],
                connection=conn,
                retry=False,
                **_limits(task_name),
            )
    except Exception as error:  # broker down: stays pending for the sweep
        logger.warning("outbox message %s not published: %s", message_id, error)
        OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
            dispatched_at=None, last_error=f"发送失败：{error}"[:2000]
        )
        return False
    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    return True


def note_failure(message_id: int, error: Exception) -> None:
    """Count a failed run and keep its error on the row (the admin shows it)."""
    OutboxMessage.objects.filter(pk=message_id).update(
        attempts=F("attempts") + 1, last_error=repr(error)[:2000]
    )


def execute(message_id: int):
    """Run a message's task function once; a second delivery finds it done and returns.

    The row is claimed by ``UPDATE … SET done_at WHERE done_at IS NULL`` in the transaction
    of the work: a concurrent second delivery waits on that row lock and then matches no
    row (PostgreSQL re-checks the condition; SQLite serialises writers), and a failure rolls
    the claim back with the work. Returns the task's result, or None when gone or done.
    """
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None or message.done_at is not None:
        return None
    task = _app().tasks[message.task]
    if getattr(task, "outbox_atomic", True):
        with transaction.atomic():
            claimed = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
                done_at=timezone.now(), last_error=""
            )
            if not claimed:
                return None
            return task.run(**message.kwargs)
    # Work that commits in steps runs outside the message's transaction (idempotent itself).
    try:
        result = task.run(**message.kwargs)
    except Deferred:
        return None
    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
        done_at=timezone.now(), last_error=""
    )
    return result


def due_messages(now=None):
    """Pending messages the sweep should (re)publish."""
    now = now or timezone.now()
    return (
        OutboxMessage.objects.filter(
            done_at__isnull=True, attempts__lt=MAX_ATTEMPTS, created_at__lte=now - GRACE
        )
        .exclude(dispatched_at__gt=now - REDISPATCH_AFTER)
        .order_by("created_at", "id")
    )


def sweep(now=None, limit: int = SWEEP_BATCH) -> int:
    """Publish every due pending message (beat runs this every minute); returns how many.

    On PostgreSQL the rows are claimed with ``SKIP LOCKED``, so two sweeps at once never
    pick the same message; the claim (``dispatched_at``) commits before publishing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        query = due_messages(now)
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        due = list(query.values_list("id", "task")[:limit])
        OutboxMessage.objects.filter(pk__in=[pk for pk, _ in due]).update(dispatched_at=now)
    published = 0
    for message_id, task_name in due:
        if publish(message_id, task_name):
            published += 1
    return published
