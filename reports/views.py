"""The managers' dashboard: charts and tables of the lending figures (统计看板)."""

from __future__ import annotations

from io import BytesIO

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from accounts.choices import Role
from accounts.permissions import PortalView, safe_next
from accounts.scoping import restrict
from gonghui.errors import DomainError
from gonghui.inputs import FieldErrors, parse_date
from gonghui.spreadsheets import xlsx_response
from loans.models import Program, Unit
from reports.annual import ALL_PROGRAMS, ANNUAL_ROLES, annual_analysis, annual_params
from reports.export_kinds import announcement_loans
from reports.exports import announcement_xlsx, mask_name, monthly_snapshot_xlsx
from reports.exports_annual import write_annual
from reports.jobs import export_kinds, job_path, start_export, user_jobs
from reports.models import ExportJob, MonthlySnapshot
from reports.selectors import dashboard, default_program, program_choices
from reports.services import build_monthly_snapshot, parse_month, previous_month


class DashboardView(PortalView, TemplateView):
    """One program's figures (the latest by default) or all programs' by year.

    County staff see their own unit's figures (the selectors scope every query) and start
    on the latest program of their own city.
    """

    template_name = "reports/dashboard.html"
    allowed_roles = frozenset({Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        programs = program_choices(user)
        wanted = self.request.GET.get("program", "")
        if wanted == ALL_PROGRAMS:
            program = None
        else:
            # No choice, or an unknown code, shows the default: the latest program.
            program = next(
                (p for p in programs if p.code == wanted), default_program(user, programs)
            )
        figures = dashboard(user, program)
        context.update(
            page_title="统计看板",
            programs=programs,
            program=program,
            all_programs=ALL_PROGRAMS,
            figures=figures,
            chart_data=figures.chart_data(),
            is_county=self.role == Role.COUNTY_STAFF,
        )
        return context


class MonthlyStatsView(PortalView, TemplateView):
    """附件3 on screen, as an .xlsx download, and rebuilt on demand by city staff."""

    allowed_roles = frozenset({Role.CITY_STAFF, Role.MANAGER, Role.COUNTY_STAFF})
    template_name = "reports/monthly.html"

    def _choice(self, source):
        programs = list(Program.objects.order_by("-year", "code"))
        code = source.get("program")
        program = next((p for p in programs if p.code == code), programs[0] if programs else None)
        try:
            month = parse_month(source["month"]) if source.get("month") else None
        except DomainError:
            month = None
        if month is None:
            month = previous_month(timezone.localdate())
        return programs, program, month

    def get(self, request, *args, **kwargs):
        programs, program, month = self._choice(request.GET)
        snapshot = (
            MonthlySnapshot.objects.filter(program=program, month=month).first()
            if program
            else None
        )
        if request.GET.get("format") == "xlsx":
            if snapshot is None:
                raise Http404("该月统计尚未生成")
            return xlsx_response(
                monthly_snapshot_xlsx(snapshot), f"{program.code}-{month:%Y-%m}-completion.xlsx"
            )
        rows = []
        if snapshot is not None:
            visible = set(restrict(Unit.objects.all(), request.user).values_list("pk", flat=True))
            for row in snapshot.rows.select_related("unit").order_by("position"):
                if (
                    row.unit_id is None and self.role != Role.COUNTY_STAFF
                ) or row.unit_id in visible:
                    rows.append(row)
        context = self.get_context_data(
            page_title="业务完成情况统计（附件3）",
            programs=programs,
            program=program,
            month=month,
            snapshot=snapshot,
            rows=rows,
            can_build=self.role == Role.CITY_STAFF,
        )
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        _, program, month = self._choice(request.POST)
        try:
            build_monthly_snapshot(program=program, month=month, user=request.user)
            messages.success(request, f"已生成{program}{month:%Y年%m月}完成情况统计")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect(f"{reverse('reports:monthly')}?program={program.code}&month={month:%Y-%m}")


class AnnouncementView(PortalView, TemplateView):
    """公示名单 of a program and period: borrowers with names and resident IDs masked."""

    allowed_roles = frozenset({Role.CITY_STAFF, Role.MANAGER})
    template_name = "reports/announcement.html"

    def get(self, request, *args, **kwargs):
        programs = list(Program.objects.order_by("-year", "code"))
        code = request.GET.get("program")
        program = next((p for p in programs if p.code == code), programs[0] if programs else None)
        errors = FieldErrors()
        start = errors.attempt(
            "from",
            lambda: parse_date(request.GET["from"], field="from")
            if request.GET.get("from")
            else None,
        )
        end = errors.attempt(
            "to",
            lambda: parse_date(request.GET["to"], field="to") if request.GET.get("to") else None,
        )
        loans = announcement_loans(request.user, program, start=start, end=end)
        if request.GET.get("format") == "xlsx" and program is not None and not errors:
            response = xlsx_response(
                announcement_xlsx(program=program, loans=loans.iterator(chunk_size=2000)),
                f"{program.code}-announcement.xlsx",
            )
            return response
        context = self.get_context_data(
            page_title="贷款贴息公示名单",
            programs=programs,
            program=program,
            errors=errors.errors,
            start=request.GET.get("from", ""),
            end=request.GET.get("to", ""),
            count=loans.count() if not errors else 0,
            preview=[
                (mask_name(loan.application.applicant.name), loan)
                for loan in (loans[:50] if not errors else [])
            ],
        )
        return self.render_to_response(context)


# --- export jobs ---------------------------------------------------------------------------


class ExportStartView(PortalView, View):
    """POST: start an export job of a registered kind; bad parameters → 400 with messages."""

    def post(self, request, code):
        try:
            job = start_export(request.user, code, request.POST)
        except DomainError as error:
            context = {
                "page_title": "无法导出",
                "message": error.message,
                "errors": error.field_errors,
                "back": safe_next(request, reverse("reports:exports")),
            }
            status = 403 if error.code == "export_forbidden" else 400
            return render(request, "reports/exports_error.html", context, status=status)
        return redirect("reports:export-job", pk=job.pk)


def _own_job(request, pk) -> ExportJob:
    return get_object_or_404(ExportJob, pk=pk, requested_by=request.user)


def _job_status(job: ExportJob) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "error": job.error,
        "download_url": reverse("reports:export-download", args=[job.pk])
        if job.status == ExportJob.Status.DONE
        else "",
    }


class ExportJobView(PortalView, TemplateView):
    """One job: a progress bar (static/js/jobs.js polls the status) and the download link."""

    template_name = "reports/exports_job.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = _own_job(self.request, kwargs["pk"])
        kinds = export_kinds()
        context.update(
            page_title="导出进度",
            job=job,
            label=kinds[job.kind].label if job.kind in kinds else job.kind,
            status=_job_status(job),
        )
        return context


class ExportStatusView(PortalView, View):
    """The job's progress as JSON, for the page's polling."""

    def get(self, request, pk):
        return JsonResponse(_job_status(_own_job(request, pk)))


class ExportDownloadView(PortalView, View):
    """The finished file, to the requester only (anyone else gets 404)."""

    def get(self, request, pk):
        job = _own_job(request, pk)
        path = job_path(job)
        if job.status != ExportJob.Status.DONE or path is None or not path.exists():
            raise Http404("文件尚未生成或已过期")
        return FileResponse(path.open("rb"), as_attachment=True, filename=job.filename)


class ExportListView(PortalView, TemplateView):
    """我的导出: the user's jobs of the last seven days."""

    template_name = "reports/exports_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kinds = export_kinds()
        context.update(
            page_title="我的导出",
            jobs=[
                (job, kinds[job.kind].label if job.kind in kinds else job.kind)
                for job in user_jobs(self.request.user)[:100]
            ],
        )
        return context


# --- annual analysis and application roster -------------------------------------------------


class AnnualAnalysisView(PortalView, TemplateView):
    """年度分析: the Xuzhou report's tables and charts for a program (or all) and years.

    Bad filters show the form's field messages over an empty analysis, never a 500.
    """

    template_name = "reports/annual.html"
    allowed_roles = ANNUAL_ROLES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        errors: dict[str, list[str]] = {}
        try:
            params = annual_params(self.request.GET, user)
            analysis = annual_analysis(user, params)
        except DomainError as error:
            errors = error.field_errors or {"__all__": [error.message]}
            params, analysis = {}, None
        query = self.request.GET.urlencode()
        context.update(
            page_title="年度分析",
            programs=program_choices(user),
            all_programs=ALL_PROGRAMS,
            selected_program=self.request.GET.get("program", ""),
            year_from=self.request.GET.get("year_from", ""),
            year_to=self.request.GET.get("year_to", ""),
            errors=errors,
            params=params,
            analysis=analysis,
            chart_data=analysis.chart_data() if analysis else None,
            download_url=f"{reverse('reports:annual-xlsx')}?{query}",
            is_county=self.role == Role.COUNTY_STAFF,
        )
        return context


class AnnualWorkbookView(PortalView, View):
    """The annual analysis as .xlsx (same filters as the page)."""

    allowed_roles = ANNUAL_ROLES

    def get(self, request):
        try:
            params = annual_params(request.GET, request.user)
            buffer = BytesIO()
            write_annual(buffer, user=request.user, params=params)
        except DomainError as error:
            messages.error(request, _error_text(error))
            return redirect(f"{reverse('reports:annual')}?{request.GET.urlencode()}")
        return xlsx_response(buffer.getvalue(), "annual-analysis.xlsx")


def _error_text(error: DomainError) -> str:
    details = "；".join(m for messages_ in error.field_errors.values() for m in messages_)
    return f"{error.message}：{details}" if details else error.message
