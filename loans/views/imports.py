"""The city staff's 批量导入 pages: upload, dry-run preview, confirm; templates and exports.

The upload is checked (size, .xlsx content), stored in import-export's temporary storage
and previewed with a dry run. The confirm step reads the stored file again and imports
it through the same Resource in one transaction: it re-validates every row, so a file
that went stale between preview and confirm (an application disbursed meanwhile) is
refused whole. The stored file's name is kept in the user's session, never taken from
the form, so nobody confirms another user's upload.
"""

from __future__ import annotations

import contextlib
import secrets

import tablib
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View
from import_export.tmp_storages import TempFolderStorage

from accounts.choices import Role
from accounts.permissions import PortalView
from gonghui.errors import DomainError
from gonghui.spreadsheets import xlsx_response
from loans.resources import ApplicantResource, LoanResource
from loans.services.imports import (
    MAX_UPLOAD_BYTES,
    PREVIEW_ROWS,
    cell_text,
    load_xlsx,
    neutralised,
    row_messages,
    run_import,
)
from quotas.resources import QuotaResource

RESOURCES = {
    "loans": (LoanResource, "贷款（银行放款表）"),
    "applicants": (ApplicantResource, "申请人及企业"),
    "quotas": (QuotaResource, "任务分配"),
}
SESSION_KEY = "pending_imports"
CITY_STAFF = frozenset({Role.CITY_STAFF})


class ImportForm(forms.Form):
    resource = forms.ChoiceField(
        label="导入内容", choices=[(k, label) for k, (_, label) in RESOURCES.items()]
    )
    file = forms.FileField(label="Excel文件（.xlsx）")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"文件不能超过{MAX_UPLOAD_BYTES // (1024 * 1024)}MB")
        content = upload.read()
        try:
            self.dataset = load_xlsx(content)
        except DomainError as error:
            raise ValidationError(error.message) from None
        self.content = content
        return upload


def _resource(key: str):
    if key not in RESOURCES:
        raise Http404("没有该导入内容")
    return RESOURCES[key]


def _preview(resource, dataset) -> dict:
    headers = [
        f.column_name for f in resource.get_import_fields() if f.column_name in dataset.headers
    ]
    positions = [dataset.headers.index(h) for h in headers]
    rows = [[cell_text(row[i]) for i in positions] for row in dataset[:PREVIEW_ROWS]]
    return {"headers": headers, "rows": rows, "total": len(dataset)}


def _discard_pending(request) -> None:
    """Remove the stored files of previews the user did not confirm."""
    for entry in request.session.pop(SESSION_KEY, {}).values():
        with contextlib.suppress(OSError):
            TempFolderStorage(name=entry["name"]).remove()


class ImportView(PortalView, View):
    """Upload and preview (dry run) a file; city staff only."""

    allowed_roles = CITY_STAFF
    template_name = "loans/imports/import.html"

    def get(self, request):
        return self._render(ImportForm(initial={"resource": request.GET.get("resource")}))

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        key = form.cleaned_data["resource"]
        resource_class, label = _resource(key)
        resource = resource_class(user=request.user)
        result = run_import(resource, form.dataset, user=request.user, dry_run=True)
        errors = row_messages(result)
        context = {"preview": _preview(resource, form.dataset), "errors": errors, "label": label}
        _discard_pending(request)  # one previewed file per user at a time
        if not errors:
            storage = TempFolderStorage(read_mode="rb")
            storage.save(form.content)
            token = secrets.token_urlsafe(16)
            request.session[SESSION_KEY] = {token: {"resource": key, "name": storage.name}}
            context["token"] = token
        return self._render(form, **context)

    def _render(self, form, **context):
        return render(
            self.request,
            self.template_name,
            {"page_title": "批量导入", "form": form, "resources": RESOURCES, **context},
            status=200,
        )


class ImportConfirmView(PortalView, View):
    """Import a previewed file: every row validated again, all rows or none written."""

    allowed_roles = CITY_STAFF
    http_method_names = ["post"]

    def post(self, request):
        pending = request.session.get(SESSION_KEY, {})
        entry = pending.pop(request.POST.get("token", ""), None)
        request.session[SESSION_KEY] = pending
        if entry is None:
            messages.error(request, "导入已过期或已完成，请重新上传文件")
            return redirect("loans:import")
        resource_class, label = _resource(entry["resource"])
        storage = TempFolderStorage(name=entry["name"], read_mode="rb")
        try:
            dataset = load_xlsx(storage.read())
        except (OSError, DomainError):
            messages.error(request, "导入已过期，请重新上传文件")
            return redirect("loans:import")
        finally:
            with contextlib.suppress(OSError):
                storage.remove()
        resource = resource_class(user=request.user)
        result = run_import(resource, dataset, user=request.user, dry_run=False)
        errors = row_messages(result)
        if errors:
            messages.error(request, f"{label}导入未完成，未写入任何数据：")
            for error in errors[:50]:
                messages.error(request, error)
            return redirect("loans:import")
        totals = result.totals
        messages.success(
            request,
            f"{label}导入完成：新增{totals['new']}条，更新{totals['update']}条",
        )
        return redirect("loans:import")


class ImportTemplateView(PortalView, View):
    """An empty .xlsx with the resource's header row."""

    allowed_roles = CITY_STAFF

    def get(self, request, resource):
        resource_class, _ = _resource(resource)
        content = tablib.Dataset(headers=resource_class().template_columns()).export("xlsx")
        return xlsx_response(content, f"import-template-{resource}.xlsx")


class ExportView(PortalView, View):
    """Every row of the resource as .xlsx, in the import's columns (re-importable)."""

    allowed_roles = CITY_STAFF

    def get(self, request, resource):
        resource_class, _ = _resource(resource)
        content = neutralised(resource_class(user=request.user).export()).export("xlsx")
        return xlsx_response(content, f"export-{resource}.xlsx")
