"""Spreadsheets crossing the portal's boundary: hostile uploads in, formula injection out.

Uploads (bank and county spreadsheets for the imports) are checked *before* openpyxl parses
them: size, that the bytes are an Office Open XML workbook, no macros, no encrypted parts, and
no zip bomb (unpacked size and compression ratio read from the zip directory, nothing
inflated). XML bombs (entity expansion) are defused by ``defusedxml``, which openpyxl uses
whenever it is installed; :func:`check_defusedxml` is a system check that it is.

Exports pass every text cell through :func:`safe_text`: a value that Excel or WPS would run
as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or line break) gets a leading ``'`` so
it is shown, not evaluated (OWASP "CSV injection"; openpyxl itself would otherwise store a
string starting with ``=`` as a formula).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.http import HttpResponse
from django.utils.http import content_disposition_header

from gonghui.errors import DomainError

MiB = 1024 * 1024
#: Upload size, total unpacked size, parts and per-part compression ratio we accept.
DEFAULT_MAX_UPLOAD_BYTES = 10 * MiB
MAX_UNPACKED_BYTES = 200 * MiB
MAX_PARTS = 2_000
MAX_RATIO = 200
ZIP_MAGIC = b"PK\x03\x04"
MACRO_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    """An attachment response of a workbook's bytes (the file name may be Chinese)."""
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    max_parts: int = MAX_PARTS
    max_ratio: int = MAX_RATIO


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_bytes=getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    )


def _refuse(code: str, message: str, field: str) -> DomainError:
    return DomainError.for_field(field, code, message)


def check_xlsx_upload(upload, *, field: str = "file", limits: UploadLimits | None = None) -> None:
    """Refuse an upload that is not a plain, reasonably sized .xlsx workbook.

    ``upload`` is a Django ``UploadedFile`` or any seekable binary file. Raises
    :class:`DomainError` with a Chinese message on ``field``; leaves the file at position 0.
    """
    limits = limits or upload_limits()
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > limits.max_bytes:
        raise _refuse(
            "file_too_large", f"文件超过{limits.max_bytes // MiB}MB上限，请拆分后上传", field
        )
    if size == 0:
        raise _refuse("file_empty", "文件为空", field)
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    not_xlsx = _refuse("file_not_xlsx", "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传", field)
    if head != ZIP_MAGIC:
        raise not_xlsx
    try:
        with zipfile.ZipFile(upload) as archive:
            parts = archive.infolist()
            names = {info.filename for info in parts}
            content_types = (
                archive.read("[Content_Types].xml")
                if "[Content_Types].xml" in names
                and archive.getinfo("[Content_Types].xml").file_size < MiB
                else b""
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError):
        raise not_xlsx from None
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names or not content_types:
        raise not_xlsx
    if len(parts) > limits.max_parts:
        raise _refuse("file_too_complex", "文件包含的部件过多，疑似异常文件", field)
    if any(info.flag_bits & 0x1 for info in parts):
        raise _refuse("file_encrypted", "文件已加密，请取消密码后上传", field)
    if any(name.lower().endswith("vbaproject.bin") for name in names) or (
        MACRO_CONTENT_TYPE.encode() in content_types
    ):
        raise _refuse("file_has_macros", "不接受含宏的工作簿（.xlsm），请另存为.xlsx后上传", field)
    unpacked = sum(info.file_size for info in parts)
    bomb = _refuse("file_zip_bomb", "文件解压后过大或压缩比异常，已拒绝", field)
    if unpacked > limits.max_unpacked_bytes:
        raise bomb
    for info in parts:
        if info.file_size > MiB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise bomb


def safe_text(value):
    """A text cell value that spreadsheet programs will show, never evaluate.

    Non-strings (numbers, dates, ``None``) are returned unchanged: only text can smuggle a
    formula. A string starting with a formula trigger is prefixed with a single quote mark
    ``'`` – visible, harmless, and how Excel itself marks text that looks like a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@checks.register(checks.Tags.security)
def check_defusedxml(app_configs=None, **kwargs):
    """openpyxl parses uploads with defusedxml only when it is importable."""
    try:
        import defusedxml  # noqa: F401
    except ImportError:  # pragma: no cover - the pinned requirement installs it
        return [
            checks.Error(
                "defusedxml is not installed: uploaded workbooks would be parsed without "
                "protection against XML entity bombs.",
                hint="pip install -r requirements.txt",
                id="gonghui.E001",
            )
        ]
    return []
