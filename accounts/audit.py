"""Selectors of the audit trail (issue 8): a record's timeline and the city staff's search.

The historical tables are written by django-simple-history (see ``gonghui.history``); this
module only reads them. A timeline costs one query per historical table it shows plus one
per kind of related row it names, whatever the number of changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import CharField, F, IntegerField, QuerySet, Value
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from gonghui.history import PERSONAL_FIELDS
from loans.models import (
    Applicant,
    Application,
    Bank,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Opinion,
    Program,
    Repayment,
    Unit,
)
from quotas.models import Quota, Reallocation
from subsidies.models import AllocationResult, AllocationRow, PaymentBatch, SubsidyClaim

# Every audited model, keyed as the search page's "记录类型" filter names it, with the field
# leading to the portal page that shows the record (``None``: no portal page; admin only).
AUDITED: dict[str, tuple[type[models.Model], str | None, str | None]] = {
    "application": (Application, "loans:application-detail", "id"),
    "opinion": (Opinion, "loans:application-detail", "application_id"),
    "check": (EligibilityCheck, "loans:application-detail", "application_id"),
    "loan": (Loan, "loans:loan-detail", "id"),
    "repayment": (Repayment, "loans:loan-detail", "loan_id"),
    "followup": (FollowUp, "loans:loan-detail", "loan_id"),
    "claim": (SubsidyClaim, "loans:loan-detail", "loan_id"),
    "batch": (PaymentBatch, "subsidies:batch-detail", "id"),
    "allocation": (AllocationResult, None, None),
    "allocationrow": (AllocationRow, None, None),
    "applicant": (Applicant, None, None),
    "enterprise": (Enterprise, None, None),
    "program": (Program, None, None),
    "unit": (Unit, None, None),
    "bank": (Bank, None, None),
    "quota": (Quota, None, None),
    "reallocation": (Reallocation, None, None),
    "profile": (Profile, None, None),
}

HISTORY_TYPES = {"+": "新建", "~": "修改", "-": "删除"}

# Bookkeeping columns that change on every save and say nothing on their own.
SKIPPED_FIELDS = {"updated_at"}
# Personal data shown masked on a timeline (ID numbers and mobiles are not even stored).
MASKED_FIELDS = {*PERSONAL_FIELDS, "phone"}
LONG_TEXT = 120


def mask(value: str) -> str:
    text = str(value)
    if len(text) >= 8:
        return f"{text[:3]}{'*' * (len(text) - 7)}{text[-4:]}"
    return "*" * max(len(text) - 4, 0) + text[-4:]


def user_label(user) -> str:
    if user is None:
        return "系统"
    return user.get_full_name() or user.username


def _related_label(obj) -> str:
    for attr in ("reference", "contract_number", "number", "name", "username"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return f"#{obj.pk}"


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class TimelineEntry:
    when: datetime
    user: str
    action: str
    history_type: str
    record: str
    record_id: int
    reason: str
    changes: list[Change] = field(default_factory=list)


class _Formatter:
    """Turns stored values into display text; foreign keys are resolved in one query per
    related model once every record of the timeline is known."""

    def __init__(self) -> None:
        self.wanted: dict[type[models.Model], set] = defaultdict(set)
        self.resolved: dict[type[models.Model], dict] = {}

    def want(self, model_field, value) -> None:
        if model_field.is_relation and value is not None:
            self.wanted[model_field.related_model].add(value)

    def resolve(self) -> None:
        for model, pks in self.wanted.items():
            self.resolved[model] = model._base_manager.in_bulk(pks)

    def show(self, model_field, value) -> str:
        if value is None or value == "":
            return "—"
        if model_field.name in MASKED_FIELDS:
            return mask(value)
        if model_field.is_relation:
            obj = self.resolved.get(model_field.related_model, {}).get(value)
            if obj is None:
                return f"#{value}"
            return user_label(obj) if obj._meta.model_name == "user" else _related_label(obj)
        if model_field.flatchoices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date | Decimal):
            return str(value)
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        text = str(value)
        return text if len(text) <= LONG_TEXT else text[:LONG_TEXT] + "…"


def _tracked(model) -> list:
    """The fields of ``model`` copied into its history, minus the bookkeeping ones."""
    history_model = model.history.model
    stored = {f.attname for f in history_model._meta.concrete_fields}
    return [
        f
        for f in model._meta.concrete_fields
        if f.attname in stored and f.name not in SKIPPED_FIELDS and f.name != "id"
    ]


def record_timeline(sources, *, limit: int = 200) -> list[TimelineEntry]:
    """The changes of the given records, newest first.

    ``sources`` is a list of ``(model, filter kwargs)``, e.g. ``[(Application, {"id": 5}),
    (Opinion, {"application_id": 5})]``; each costs one query.
    """
    formatter = _Formatter()
    pending = []
    for model, lookup in sources:
        fields = _tracked(model)
        records = list(
            model.history.filter(**lookup)
            .select_related("history_user")
            .order_by("id", "history_date", "history_id")
        )
        previous = {}
        for record in records:
            before = previous.get(record.id)
            changed = []
            if record.history_type == "~" and before is not None:
                for f in fields:
                    old, new = getattr(before, f.attname), getattr(record, f.attname)
                    if old != new:
                        formatter.want(f, old)
                        formatter.want(f, new)
                        changed.append((f, old, new))
            previous[record.id] = record
            pending.append((model, record, changed))
    formatter.resolve()
    entries = [
        TimelineEntry(
            when=record.history_date,
            user=user_label(record.history_user),
            action=HISTORY_TYPES.get(record.history_type, record.history_type),
            history_type=record.history_type,
            record=str(model._meta.verbose_name),
            record_id=record.id,
            reason=record.history_change_reason or "",
            changes=[
                Change(str(f.verbose_name), formatter.show(f, old), formatter.show(f, new))
                for f, old, new in changed
            ],
        )
        for model, record, changed in pending
        # A save that changed nothing but the bookkeeping columns is noise on a timeline.
        if record.history_type != "~" or changed
    ]
    entries.sort(key=lambda e: (e.when, e.record_id), reverse=True)
    return entries[:limit]


def application_timeline(application) -> list[TimelineEntry]:
    pk = application.pk
    return record_timeline(
        [
            (Application, {"id": pk}),
            (Opinion, {"application_id": pk}),
            (EligibilityCheck, {"application_id": pk}),
        ]
    )


def loan_timeline(loan) -> list[TimelineEntry]:
    pk = loan.pk
    return record_timeline(
        [
            (Loan, {"id": pk}),
            (Repayment, {"loan_id": pk}),
            (FollowUp, {"loan_id": pk}),
            (SubsidyClaim, {"loan_id": pk}),
        ]
    )


# --- the city staff's search ----------------------------------------------------------------

SEARCH_COLUMNS = (
    "audit_kind",
    "history_id",
    "id",
    "audit_link",
    "history_date",
    "history_type",
    "history_user_id",
    "history_change_reason",
)


def _history_rows(kind: str) -> QuerySet:
    model, _, link_field = AUDITED[kind]
    link = F(link_field) if link_field else Value(None, output_field=IntegerField())
    return (
        model.history.model.objects.order_by()
        .annotate(audit_kind=Value(kind, output_field=CharField()), audit_link=link)
        .values(*SEARCH_COLUMNS)
    )


def search_history(
    *,
    kind: str | None = None,
    record_id: int | None = None,
    user_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    history_type: str | None = None,
) -> QuerySet:
    """Historical rows of one record type (or all, as a UNION ALL), newest first.

    Every filter is applied inside each table's query, so the union only carries matching
    rows and nothing is aggregated; the page's count is one ``COUNT(*)`` over the union.
    """
    kinds = [kind] if kind else list(AUDITED)
    querysets = []
    for each in kinds:
        qs = _history_rows(each)
        if record_id is not None:
            qs = qs.filter(id=record_id)
        if user_id is not None:
            qs = qs.filter(history_user_id=user_id)
        if date_from is not None:
            qs = qs.filter(history_date__gte=_start_of(date_from))
        if date_to is not None:
            qs = qs.filter(history_date__lt=_start_of(date_to, days=1))
        if history_type:
            qs = qs.filter(history_type=history_type)
        querysets.append(qs)
    combined = querysets[0].union(*querysets[1:], all=True) if len(querysets) > 1 else querysets[0]
    return combined.order_by("-history_date", "-history_id")


PERSONAL_DATA_ROWS = 50


def personal_data_access(
    *, user_id: int | None = None, date_from: date | None = None, date_to: date | None = None
) -> list:
    """The latest unmasked views of IDs and mobiles (loans.PersonalDataAccess), newest first."""
    from loans.models import PersonalDataAccess

    qs = PersonalDataAccess.objects.select_related("user", "applicant")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if date_from is not None:
        qs = qs.filter(accessed_at__gte=_start_of(date_from))
    if date_to is not None:
        qs = qs.filter(accessed_at__lt=_start_of(date_to, days=1))
    return list(qs[:PERSONAL_DATA_ROWS])


def _start_of(day: date, *, days: int = 0) -> datetime:
    start = datetime.combine(day, datetime.min.time()) + timedelta(days=days)
    return timezone.make_aware(start)


def decorate(rows: list[dict]) -> list[dict]:
    """Add the user's name, the record type's label and the portal link to a page of rows
    (one query for the users)."""
    users = get_user_model()._base_manager.in_bulk(
        {row["history_user_id"] for row in rows if row["history_user_id"]}
    )
    for row in rows:
        model, url_name, _ = AUDITED[row["audit_kind"]]
        row["record"] = str(model._meta.verbose_name)
        row["user"] = user_label(users.get(row["history_user_id"]))
        row["action"] = HISTORY_TYPES.get(row["history_type"], row["history_type"])
        link = row["audit_link"]
        row["url"] = reverse(url_name, args=[link]) if url_name and link else ""
    return rows
