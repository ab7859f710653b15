"""Hostile uploads are refused before parsing; exported text never runs as a formula."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from gonghui.errors import DomainError
from gonghui.spreadsheets import (
    MiB,
    UploadLimits,
    check_defusedxml,
    check_xlsx_upload,
    safe_text,
)


def workbook_bytes(rows=(("合同编号", "金额"), ("HT-1", 100))) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(source: bytes, *, extra: dict[str, bytes] | None = None, replace=None) -> bytes:
    """Copy an .xlsx zip, adding parts (``extra``) or rewriting them (``replace``: name → fn)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if replace and info.filename in replace:
                data = replace[info.filename](data)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            dst.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def refusal(content: bytes, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        check_xlsx_upload(SimpleUploadedFile("data.xlsx", content), **kwargs)
    return caught.value


def test_a_plain_workbook_passes_and_is_left_rewound():
    upload = SimpleUploadedFile("data.xlsx", workbook_bytes())
    check_xlsx_upload(upload)
    assert upload.tell() == 0
    assert load_workbook(upload, read_only=True).active["A2"].value == "HT-1"


def test_an_oversized_file_is_refused_before_reading_it():
    error = refusal(workbook_bytes(), limits=UploadLimits(max_bytes=1000))
    assert error.code == "file_too_large"
    assert error.field_errors == {"file": [error.message]}
    assert "MB" in error.message


@pytest.mark.parametrize(
    "content",
    [
        b"name,amount\nHT-1,100\n",  # a CSV renamed .xlsx
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,  # an old binary .xls
        b"PK\x03\x04 truncated",  # zip magic, broken archive
    ],
)
def test_content_that_is_not_an_xlsx_is_refused(content):
    assert refusal(content).code == "file_not_xlsx"


def test_an_empty_file_is_refused():
    assert refusal(b"").code == "file_empty"


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refusal(out.getvalue()).code == "file_not_xlsx"


def test_a_macro_workbook_is_refused_by_its_vba_part():
    content = rezip(workbook_bytes(), extra={"xl/vbaProject.bin": b"\0" * 64})
    assert refusal(content).code == "file_has_macros"


def test_a_macro_workbook_is_refused_by_its_content_type():
    content = rezip(
        workbook_bytes(),
        replace={
            "[Content_Types].xml": lambda xml: xml.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            )
        },
    )
    assert b"macroEnabled" in zipfile.ZipFile(io.BytesIO(content)).read("[Content_Types].xml")
    assert refusal(content).code == "file_has_macros"


def test_a_zip_bomb_is_refused_from_the_directory_without_inflating():
    # 50 MiB of zeros compresses to ~50 KB: a ratio of ~1000, far above the limit.
    content = rezip(workbook_bytes(), extra={"xl/media/padding.bin": b"\0" * (50 * MiB)})
    assert len(content) < MiB
    assert refusal(content).code == "file_zip_bomb"


def test_a_large_unpacked_total_is_refused_even_at_a_modest_ratio():
    content = rezip(workbook_bytes(), extra={"xl/media/a.bin": b"\0" * (2 * MiB)})
    limits = UploadLimits(max_unpacked_bytes=MiB, max_ratio=10**9)
    assert refusal(content, limits=limits).code == "file_zip_bomb"


def test_too_many_parts_are_refused():
    extra = {f"xl/media/{n}.txt": b"x" for n in range(30)}
    error = refusal(rezip(workbook_bytes(), extra=extra), limits=UploadLimits(max_parts=20))
    assert error.code == "file_too_complex"


def test_the_upload_limit_comes_from_settings(settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    assert refusal(workbook_bytes()).code == "file_too_large"


def test_an_entity_bomb_inside_a_workbook_is_not_expanded():
    doctype = (
        b'<!DOCTYPE worksheet [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )

    def with_entities(xml: bytes) -> bytes:
        start = xml.index(b"<worksheet")
        return xml[:start] + doctype + xml[start:].replace(b"<v>a</v>", b"<v>&lol2;</v>", 1)

    content = rezip(workbook_bytes(), replace={"xl/worksheets/sheet1.xml": with_entities})
    check_xlsx_upload(SimpleUploadedFile("data.xlsx", content))  # small: passes the zip checks
    from defusedxml import DTDForbidden, EntitiesForbidden

    with pytest.raises(ValueError) as caught:  # openpyxl wraps defusedxml's refusal
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        list(workbook.active.iter_rows(values_only=True))
    chain = []
    error = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, (EntitiesForbidden, DTDForbidden)) for e in chain)


def test_the_defusedxml_system_check_passes_with_the_requirements_installed():
    assert check_defusedxml() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("张三", "张三"),
        ("HT-2020-001", "HT-2020-001"),
        ("", ""),
        (None, None),
        (-5, -5),
    ],
)
def test_safe_text_neutralises_only_text_that_would_run(value, expected):
    assert safe_text(value) == expected


def test_a_neutralised_value_is_stored_as_text_not_a_formula():
    workbook = Workbook()
    workbook.active["A1"] = safe_text("=1+1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    cell = load_workbook(buffer).active["A1"]
    assert cell.data_type == "s"
    assert cell.value == "'=1+1"
