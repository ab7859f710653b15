"""The audit trail (issue 8): who changed which record, when, and from which door.

Every audited model declares ``history = audited_history()``. The user of a historical
record comes, in this order, from:

1. the instance itself (``instance._history_user``, set by simple_history's helpers);
2. :func:`audit_actor`, the context a management command opens around its work
   (``with audit_actor(reason="manage.py seed_demo")``) or a service decorated with
   :func:`writes_as_user` opens with its ``user=`` argument; every Celery task runs inside
   one too (``task_prerun``/``task_postrun`` below), its reason the task's name;
3. the request of the portal, the admin or the API (``HistoryRequestMiddleware``; DRF sets the
   token's user on the underlying request, so a bank officer's API call is attributed to them);
4. nobody (``None``) — then the change reason says which task or command wrote.

Writes that bypass ``save()`` (``QuerySet.update``, ``bulk_create``, ``bulk_update``) go through
:func:`bulk_create_audited` / :func:`bulk_update_audited` so they leave history too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from celery.signals import task_postrun, task_prerun
from django.db import connection
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

# Personal data never copied into a history table in clear text (issue 8: resident IDs and
# mobiles will be encrypted at rest; the history must not become a clear-text copy).
PERSONAL_FIELDS = ("id_number", "mobile")
# Lookup columns derived from the resident ID (gonghui/pii.py): its keyed hash and its last four
# digits. Nobody searches past versions of a record by ID, and each is still a pseudonym or a
# partial ID, so history tables leave them out as well.
PERSONAL_LOOKUP_FIELDS = ("id_number_hash", "id_tail")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Actor:
    user: object | None
    reason: str


_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def audit_actor(*, user=None, reason: str | None = None) -> Iterator[Actor]:
    """Attribute every audited write inside the block to ``user`` with ``reason`` as the
    change reason. Either left out keeps the enclosing block's (a task's reason stays on the
    writes of the services it calls); with no user anywhere, the request's user is used."""
    outer = _actor.get()
    actor = Actor(
        user=user if user is not None else (outer.user if outer else None),
        reason=(reason or (outer.reason if outer else ""))[:100],
    )
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def writes_as_user(service: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service taking ``user=``: its audited writes are attributed to that user
    whichever door called it (portal, API, a task or a test)."""

    @wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with audit_actor(user=kwargs.get("user")):
            return service(*args, **kwargs)

    return wrapper


def _request_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def current_user():
    """The user the next audited write is attributed to (or ``None``)."""
    actor = _actor.get()
    if actor is not None and actor.user is not None:
        return actor.user
    return _request_user()


def current_reason() -> str | None:
    actor = _actor.get()
    return (actor.reason or None) if actor is not None else None


class AuditedHistory(HistoricalRecords):
    """``HistoricalRecords`` that also reads the user and reason of :func:`audit_actor`."""

    def get_history_user(self, instance):
        explicit = getattr(instance, "_history_user", None)
        if explicit is not None:
            return explicit
        return current_user()

    def get_meta_options(self, model):
        # History is written by the library only: no add/change/delete permission exists
        # for a historical model, so no group or admin can ever be granted one.
        name = f"{model._meta.verbose_name}修改记录"
        return {
            **super().get_meta_options(model),
            "default_permissions": ("view",),
            "verbose_name": name,
            "verbose_name_plural": name,
        }

    def get_change_reason_for_object(self, instance, history_type, using):
        reason = super().get_change_reason_for_object(instance, history_type, using)
        return reason or current_reason()


def audited_history(*, excluded_fields: Iterable[str] = ()) -> AuditedHistory:
    """The history manager every audited model declares."""
    return AuditedHistory(excluded_fields=list(excluded_fields))


def bulk_create_audited(model, objs: list, **kwargs) -> list:
    """``bulk_create`` that also writes one '+' historical record per row."""
    return bulk_create_with_history(
        objs,
        model,
        default_user=current_user(),
        default_change_reason=current_reason() or "",
        **kwargs,
    )


def bulk_update_audited(model, objs: list, fields: list[str], **kwargs) -> int:
    """``bulk_update`` that also writes one '~' historical record per row."""
    return bulk_update_with_history(
        objs,
        model,
        fields,
        default_user=current_user(),
        default_change_reason=current_reason() or "",
        **kwargs,
    )


HISTORY_OWN_FIELDS = frozenset(
    {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}
)


def copy_into_history(model, pks: list, *, history_type: str = "+") -> None:
    """Write the historical records of rows just stored, in one INSERT … SELECT.

    What ``bulk_create_audited`` writes, without building a historical object per row in
    Python: for the bulk import of thousands of loans that was the dearest part of the
    import. Columns come from the history model (so excluded fields stay excluded); user
    and reason as in :func:`bulk_create_audited`. One statement on PostgreSQL; SQLite, whose
    statements take a limited number of parameters, gets one per 500 rows.
    """
    if not pks:
        return
    history = model.history.model
    columns = [
        field.column
        for field in history._meta.concrete_fields
        if field.name not in HISTORY_OWN_FIELDS
    ]
    quote = connection.ops.quote_name
    user = current_user()
    selected = ", ".join(quote(column) for column in columns)
    head = (
        f"INSERT INTO {quote(history._meta.db_table)} ({selected}, history_date, "
        f"history_change_reason, history_type, history_user_id) "
        f"SELECT {selected}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(model._meta.pk.column)} "
    )
    fixed = [timezone.now(), current_reason() or "", history_type, getattr(user, "pk", None)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(head + "= ANY(%s)", [*fixed, list(pks)])
            return
        for start in range(0, len(pks), 500):
            chunk = list(pks[start : start + 500])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(head + f"IN ({marks})", [*fixed, *chunk])


# --- Celery: every task's writes carry the task's name ------------------------------------------

_task_tokens: dict[str, Token] = {}


@task_prerun.connect(weak=False, dispatch_uid="gonghui.history.task_prerun")
def _open_task_actor(task_id=None, task=None, **_):
    """A task has no request: its writes are attributed to nobody, with the task's name as
    the change reason (a service it calls still names its own ``user=``)."""
    if task_id is not None and task is not None:
        outer = _actor.get()
        reason = outer.reason if outer and outer.reason else task.name
        _task_tokens[task_id] = _actor.set(Actor(user=outer.user if outer else None, reason=reason))


@task_postrun.connect(weak=False, dispatch_uid="gonghui.history.task_postrun")
def _close_task_actor(task_id=None, **_):
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        _actor.reset(token)
