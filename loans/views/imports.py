"""The city staff's 批量导入 pages: upload, follow the check, confirm; templates and exports.

The upload's request only checks the file without parsing it (size, .xlsx content, macros,
zip bombs) and stores it; a Celery task reads and checks it (a dry run) while the job page
polls its progress, and, once the user confirms, imports it in one transaction, every row
validated again (``loans.services.import_jobs``). Only the user who uploaded a file sees its
job; anyone else gets 404.
"""

from __future__ import annotations

import tablib
from django import forms
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from accounts.choices import Role
from accounts.permissions import PortalView
from gonghui.errors import DomainError
from gonghui.spreadsheets import xlsx_response
from loans.models import ImportJob
from loans.services.import_jobs import (
    RESOURCES,
    confirm_import,
    resource_entry,
    resource_label,
    start_import,
    time_limit,
    user_imports,
)
from loans.services.imports import MAX_ROWS, MAX_UPLOAD_BYTES, neutralised

CITY_STAFF = frozenset({Role.CITY_STAFF})


class ImportForm(forms.Form):
    resource = forms.ChoiceField(
        label="导入内容", choices=[(k, label) for k, (_, label) in RESOURCES.items()]
    )
    file = forms.FileField(label="Excel文件（.xlsx）")


def _resource(key: str):
    try:
        return resource_entry(key)
    except DomainError:
        raise Http404("没有该导入内容") from None


class ImportView(PortalView, View):
    """Upload a file (its check is queued as a job) and list the user's recent imports."""

    allowed_roles = CITY_STAFF
    template_name = "loans/imports/import.html"

    def get(self, request):
        return self._render(ImportForm(initial={"resource": request.GET.get("resource")}))

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = start_import(
                    request.user, form.cleaned_data["resource"], form.cleaned_data["file"]
                )
            except DomainError as error:
                for field, errors in (error.field_errors or {"file": [error.message]}).items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            else:
                return redirect("loans:import-job", pk=job.pk)
        return self._render(form, status=400)

    def _render(self, form, status=200):
        context = {
            "page_title": "批量导入",
            "form": form,
            "resources": RESOURCES,
            "jobs": [
                (job, resource_label(job.resource)) for job in user_imports(self.request.user)[:20]
            ],
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "max_rows": MAX_ROWS,
            "time_limit": time_limit(),
        }
        return render(self.request, self.template_name, context, status=status)


def _own_job(request, pk) -> ImportJob:
    return get_object_or_404(ImportJob, pk=pk, requested_by=request.user)


def job_status(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "running": job.is_running,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "error": job.error,
        "page_url": reverse("loans:import-job", args=[job.pk]),
    }


class ImportJobView(PortalView, View):
    """One import: progress while it runs (static/js/jobs.js polls and reloads), then the
    preview and 确认导入, the row errors, or the result."""

    allowed_roles = CITY_STAFF

    def get(self, request, pk):
        job = _own_job(request, pk)
        context = {
            "page_title": "批量导入",
            "job": job,
            "label": resource_label(job.resource),
            "status": job_status(job),
        }
        return render(request, "loans/imports/job.html", context)


class ImportJobStatusView(PortalView, View):
    """The job's progress as JSON, for the page's polling."""

    allowed_roles = CITY_STAFF

    def get(self, request, pk):
        return JsonResponse(job_status(_own_job(request, pk)))


class ImportConfirmView(PortalView, View):
    """确认导入 of a checked file: queues its import, once."""

    allowed_roles = CITY_STAFF
    http_method_names = ["post"]

    def post(self, request, pk):
        job = _own_job(request, pk)
        if not confirm_import(request.user, job):
            messages.error(request, "该导入已确认、已完成或已过期，请重新上传文件")
        return redirect("loans:import-job", pk=job.pk)


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
