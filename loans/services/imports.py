"""Bulk imports: the shared machinery of the import-export Resources.

Every import row is decided by the same function as the single-row service of its door
(``plan_disbursement`` for loans, ``clean_applicant`` / ``clean_enterprise`` for applicants,
``parse_amount`` for quotas), but against rows read once for the whole file in
``before_import``: a file of 10 rows and one of 10,000 cost the same number of queries.

All or nothing: rows are only collected while the file is read; they are written in one go
after the last row, and only when no row failed and this is not a dry run. The caller runs
the whole import in one transaction (``run_import``), so a failure while writing leaves
nothing behind either.

Spreadsheet cells arrive typed by openpyxl: a number cell is an int or a float, a date
cell a datetime at midnight. :func:`cell` turns a float into its shortest decimal text
(5.8 → "5.8"), so the parsers' precision rules (fen, four rate decimals) judge what the
cell shows, and a date at midnight into a date; everything else is passed on as it came.
"""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time
from io import BytesIO

import openpyxl
import tablib
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from import_export import resources
from import_export.formats.base_formats import XLSX
from import_export.results import Result

from accounts.choices import Role
from accounts.scoping import role_of
from gonghui.errors import DomainError
from gonghui.history import audit_actor
from gonghui.inputs import clean_text
from gonghui.spreadsheets import UploadLimits, check_xlsx_upload, safe_text

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
PREVIEW_ROWS = 20


def cell(value):
    """A spreadsheet cell as the shared parsers expect it (see the module docstring)."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime) and value.time() == time(0, 0) and value.tzinfo is None:
        return value.date()
    return value


def cell_text(value) -> str:
    value = cell(value)
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(value)


YES = frozenset({"是", "Y", "y", "yes", "Yes", "YES", "true", "True", "TRUE", "1"})
NO = frozenset({"否", "N", "n", "no", "No", "NO", "false", "False", "FALSE", "0", ""})


def parse_flag(value, *, field: str, label: str) -> bool:
    """是/否 (or 1/0, true/false) of a yes-no column; blank is 否."""
    if isinstance(value, bool):
        return value
    text = cell_text(value)
    if text in YES:
        return True
    if text in NO:
        return False
    raise DomainError.for_field(field, "flag_invalid", f"{label}须填写“是”或“否”")


def parse_choice(value, choices, *, field: str, label: str, default: str | None = None) -> str:
    """A choice given by its code or its Chinese label."""
    text = cell_text(value)
    if not text and default is not None:
        return default
    for code, name in choices:
        if text in (code, str(name)):
            return code
    names = "、".join(str(name) for _, name in choices)
    raise DomainError.for_field(field, "choice_invalid", f"{label}须为{names}之一")


class ImportRefused(Exception):
    """The whole file is refused before any row is read (role, missing columns)."""


class ImportTimedOut(Exception):
    """The import ran past its time limit (:class:`Deadline`); nothing was written."""


# Raised through import-export's own error handling instead of becoming a row error.
TIMEOUTS = (ImportTimedOut, SoftTimeLimitExceeded)
CHECK_EVERY = 500  # rows between two looks at the clock and two progress reports


class Deadline:
    """A time limit checked at steps of the work (rows read, rows validated).

    The Celery task's own soft and hard limits stop a worker stuck between two steps; this
    one also holds where tasks run in-process (no broker) and ends the job with a message.
    """

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.ends = None if seconds is None else clock.monotonic() + seconds

    def check(self) -> None:
        if self.ends is not None and clock.monotonic() > self.ends:
            raise ImportTimedOut(f"超过{self.seconds:g}秒")


class BulkImportResource(resources.ModelResource):
    """A ModelResource whose rows are validated in Python against rows read in advance.

    Subclasses implement ``prefetch(dataset)`` (a few queries for every key the file
    names), ``validate_row(instance, row, number)`` (raise DomainError; no queries) and
    ``write(instances)`` (bulk writes of everything the rows need).
    """

    allowed_roles = frozenset({Role.CITY_STAFF})
    # Columns holding personal numbers: masked wherever the file's rows are shown or kept.
    masked_columns: dict = {}

    def __init__(self, user=None, *, deadline: Deadline | None = None, progress=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.pending: list = []
        self.deadline = deadline
        self.progress = progress  # progress(rows_done) every CHECK_EVERY rows, or None

    # --- the import hooks ----------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user") or self.user
        self.dry_run = kwargs.get("dry_run", False)
        self.pending = []
        self.refused = True  # until the checks below pass: no row is read
        if role_of(self.user) not in self.allowed_roles:
            raise ImportRefused("只有市总工会经办人可以批量导入")
        headers = [cell_text(h) for h in dataset.headers or []]
        dataset.headers = headers
        missing = [c for c in self.required_columns() if c not in headers]
        if missing:
            raise ImportRefused(f"文件缺少列：{'、'.join(missing)}（请使用导入模板）")
        self.prefetch(dataset)
        self.refused = False

    def import_row(self, row, instance_loader, **kwargs):
        if getattr(self, "refused", False):
            result = self.get_row_result_class()()
            result.import_type = result.IMPORT_TYPE_SKIP
            return result
        number = kwargs.get("row_number", 0)
        if number % CHECK_EVERY == 0:
            if self.deadline is not None:
                self.deadline.check()  # raised here, outside import-export's row handler
            if self.progress is not None:
                self.progress(number)
        result = super().import_row(row, instance_loader, **kwargs)
        for error in result.errors:  # a soft time limit that struck inside the row
            if isinstance(error.error, TIMEOUTS):
                raise error.error
        return result

    def required_columns(self) -> list[str]:
        return self.template_columns()

    def template_columns(self) -> list[str]:
        """The header row of the import template."""
        return [f.column_name for f in self.get_import_fields() if not f.readonly]

    def import_instance(self, instance, row, **kwargs):
        try:
            self.validate_row(instance, {k: cell(v) for k, v in row.items()})
        except DomainError as error:
            raise ValidationError(self.errors_by_column(error)) from None

    def errors_by_column(self, error: DomainError) -> dict[str, list[str]]:
        """The error's messages keyed by the column (Chinese header) they are about."""
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        columns.update(getattr(self, "extra_columns", {}))
        labels = set(columns.values())
        if not error.field_errors:
            return {self.general_column(): [error.message]}
        by_column: dict[str, list[str]] = {}
        for field, messages in error.field_errors.items():
            name = field if field in labels else columns.get(field, NON_FIELD_ERRORS)
            by_column.setdefault(name, []).extend(messages)
        return by_column

    def general_column(self) -> str:
        return NON_FIELD_ERRORS

    def save_instance(self, instance, is_create, row, **kwargs):
        # validate_row may have built the row's object itself (``planned``).
        self.pending.append(getattr(instance, "planned", instance))

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """Nothing is written per batch: ``after_import`` writes everything at once."""

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """See :meth:`bulk_create`."""

    def after_import(self, dataset, result, **kwargs):
        if self.dry_run or result.has_errors() or result.has_validation_errors():
            self.pending = []
            return
        pending, self.pending = self.pending, []
        if pending:
            self.write(pending)

    def handle_import_error(self, result, error, raise_errors=False):
        if isinstance(error, TIMEOUTS):
            raise error
        if isinstance(error, ImportRefused | DomainError):
            error = ImportRefused(str(error))
        super().handle_import_error(result, error, raise_errors)

    class Meta:
        use_bulk = True
        batch_size = None
        skip_diff = True
        skip_html_diff = True
        clean_model_instances = False
        report_skipped = False
        use_transactions = True

    # --- subclass interface --------------------------------------------------------------

    def prefetch(self, dataset) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def validate_row(self, instance, row: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def write(self, instances: list) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def column(dataset: tablib.Dataset, name: str) -> list:
    """A dataset column's values, or [] when the file has no such column."""
    if not dataset.headers or name not in dataset.headers:
        return []
    return dataset[name]


# --- running an import and reporting it -----------------------------------------------------


def load_xlsx(content: bytes, *, deadline: Deadline | None = None) -> tablib.Dataset:
    """The first sheet of an uploaded .xlsx, read with openpyxl's read-only mode (values
    only); blank rows are left out.

    Raises DomainError (field ``file``) for a file too large, not an xlsx, unreadable or of
    more than ``MAX_ROWS`` rows, and ImportTimedOut past the ``deadline``.
    """
    check_xlsx_upload(BytesIO(content), limits=UploadLimits(max_bytes=MAX_UPLOAD_BYTES))
    try:
        book = openpyxl.load_workbook(BytesIO(content), read_only=True, data_only=True)
        try:
            rows = book.active.iter_rows(values_only=True)
            headers = next(rows, None)
            body = []
            for number, row in enumerate(rows, start=1):
                if deadline is not None and number % CHECK_EVERY == 0:
                    deadline.check()
                if any(v is not None and v != "" for v in row):
                    body.append(row)
                    if len(body) > MAX_ROWS:
                        raise DomainError.for_field(
                            "file", "too_many_rows", f"一次最多导入{MAX_ROWS:,}行，请拆分文件"
                        )
        finally:
            book.close()
    except (DomainError, *TIMEOUTS):
        raise
    except Exception:  # openpyxl (and defusedxml, for an entity bomb) raise many types
        raise DomainError.for_field("file", "xlsx_unreadable", "无法读取该Excel文件") from None
    if not headers or not any(h is not None for h in headers):
        raise DomainError.for_field("file", "xlsx_empty", "文件没有表头行")
    width = len(headers)
    dataset = tablib.Dataset(headers=[cell_text(h) for h in headers])
    dataset.extend(row[:width] + (None,) * (width - len(row)) for row in body)
    return dataset


def run_import(
    resource: BulkImportResource, dataset, *, user, dry_run: bool, on_success=None
) -> Result:
    """Import (or preview) a dataset in one transaction; any row error writes nothing.

    ``on_success(result)``, if given, runs inside that transaction once every row was
    written (not on a dry run), so what it records commits with the rows or not at all.
    """
    with transaction.atomic(), audit_actor(user=user, reason="批量导入"):
        result = resource.import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
            user=user,
        )
        if dry_run or result.has_errors() or result.has_validation_errors():
            transaction.set_rollback(True)
        elif on_success is not None:
            on_success(result)
    return result


def row_messages(result: Result) -> list[str]:
    """Every row error in Chinese: "第12行 年利率：…". Rows count as in the spreadsheet
    (the header is row 1, the first data row is row 2)."""
    messages = [f"文件：{error.error}" for error in result.base_errors]
    for invalid in result.invalid_rows:
        line = invalid.number + 1
        for name, errors in invalid.error_dict.items():
            label = "" if name == NON_FIELD_ERRORS else f" {name}"
            for message in errors:
                messages.append(f"第{line}行{label}：{message}")
    for line_number, errors in result.row_errors():
        for error in errors:
            messages.append(f"第{line_number + 1}行：{error.error}")
    return messages


def neutralised(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of ``dataset`` whose text cells cannot run as formulas (see ``safe_text``);
    numbers and dates keep their types, so the export still imports back."""
    safe = tablib.Dataset(headers=dataset.headers)
    safe.extend(tuple(safe_text(value) for value in row) for row in dataset)
    return safe


class SafeXLSX(XLSX):
    """django-import-export's .xlsx format with formula-like text neutralised on export."""

    def export_data(self, dataset, **kwargs):
        return super().export_data(neutralised(dataset), **kwargs)
