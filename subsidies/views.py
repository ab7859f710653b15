"""Portal pages of subsidies: the ledger (贴息台账) with its ``.xlsx``, payment batches
(拨付批次: make, approve — never by the maker —, mark paid) and the county allocation
(贴息补助分配) with its ``.xlsx`` and the city staff's confirmation.

Every read goes through ``subsidies.selectors`` (scoped there), every change through
``subsidies.services``; a refused change comes back as a Chinese message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from accounts.choices import Role
from accounts.permissions import PortalView, int_ids, safe_next
from accounts.scoping import profile_of, restrict
from gonghui.errors import DomainError
from gonghui.money import ZERO
from gonghui.spreadsheets import xlsx_response
from loans.models import Bank, Program, Unit
from loans.views.applications import PAGE_SIZES, paginate
from quotas.forms import ProgramSelectForm
from subsidies.choices import BatchStatus, ClaimStatus
from subsidies.exports import allocation_workbook, ledger_workbook
from subsidies.forms import BatchPaymentForm, LedgerFilterForm
from subsidies.models import PaymentBatch, SubsidyClaim
from subsidies.selectors import (
    allocation_table,
    batch_claims,
    claim_ledger,
    ledger_totals,
    payment_batches,
)
from subsidies.services.allocation import freeze_allocation
from subsidies.services.batches import approve_batch, create_batch, mark_batch_paid

CITY_ROLES = frozenset({Role.CITY_STAFF, Role.MANAGER})
BATCH_MAKERS = frozenset({Role.CITY_STAFF})


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


# --- ledger -------------------------------------------------------------------------------


def _ledger_form(request, role: str) -> LedgerFilterForm:
    user = request.user
    banks = Bank.objects.all()
    if role == Role.BANK_OFFICER:
        profile = profile_of(user)
        banks = banks.filter(pk=profile.bank_id if profile else None)
    form = LedgerFilterForm(
        request.GET,
        units=restrict(Unit.objects.all(), user).order_by("sort_order", "code"),
        banks=banks,
    )
    form.is_valid()  # the raw fields always validate; claim_ledger checks the values
    return form


class ClaimLedgerView(PortalView, TemplateView):
    """Every claim the user may see, filtered, with totals, pages and an ``.xlsx``."""

    template_name = "subsidies/claim_ledger.html"

    def get(self, request, *args, **kwargs):
        form = _ledger_form(request, self.role)
        try:
            claims = claim_ledger(user=request.user, filters=form.filters())
        except DomainError as error:
            form.add_service_errors(error.field_errors, error.message)
            claims = SubsidyClaim.objects.none()
        else:
            if _wants_xlsx(request):
                subtitle = self._describe(form)
                content = ledger_workbook(
                    claims.iterator(chunk_size=500), ledger_totals(claims), subtitle=subtitle
                )
                stamp = timezone.localdate().strftime("%Y%m%d")
                return xlsx_response(content, f"贴息台账-{stamp}.xlsx")
        context = self.get_context_data(form=form, claims=claims)
        return self.render_to_response(context)

    @staticmethod
    def _describe(form: LedgerFilterForm) -> str:
        """The filters in force, in words, for the sheet's subtitle."""
        parts = []
        for name, value in form.filters().items():
            field = form.fields.get(name)
            if field is None:  # the batch of a batch page's download
                batch = PaymentBatch.objects.filter(pk=value).first()
                parts.append(f"拨付批次：{batch.number if batch else value}")
                continue
            choices = dict(getattr(field.widget, "choices", []) or [])
            parts.append(f"{field.label}：{choices.get(value, value)}")
        return "筛选条件：" + "；".join(parts) if parts else ""

    def get_context_data(self, *, form, claims, **kwargs):
        context = super().get_context_data(**kwargs)
        page, size = paginate(self.request, claims)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("format", None)
        xlsx_query = query.copy()
        xlsx_query.pop("page_size", None)
        xlsx_query["format"] = "xlsx"
        may_batch = self.role in BATCH_MAKERS
        context.update(
            page_title="贴息台账",
            form=form,
            page=page,
            page_size=size,
            page_sizes=PAGE_SIZES,
            query=query.urlencode(),
            xlsx_query=xlsx_query.urlencode(),
            export_filters=sorted(form.filters().items()),
            totals=ledger_totals(claims),
            may_batch=may_batch,
            may_see_batches=self.role in CITY_ROLES,
            pending=ClaimStatus.PENDING,
            has_pending=may_batch and any(c.status == ClaimStatus.PENDING for c in page),
        )
        return context


# --- payment batches ----------------------------------------------------------------------


class BatchCreateView(PortalView, View):
    """City staff gather the pending claims ticked on the ledger (one program) in a batch."""

    allowed_roles = BATCH_MAKERS
    http_method_names = ["post"]

    def post(self, request):
        back = safe_next(request, reverse("subsidies:claim-ledger"))
        ids = int_ids(request.POST.getlist("claim_ids"))
        if not ids:
            messages.error(request, "请选择要纳入批次的贴息申请")
            return HttpResponseRedirect(back)
        try:
            visible = claim_ledger(user=request.user).filter(pk__in=ids)
            programs = set(visible.values_list("program", flat=True))
        except (ValueError, TypeError):
            programs = set()
        if len(programs) > 1:
            messages.error(request, "所选贴息申请须属于同一贷款项目，请先按贷款项目筛选")
            return HttpResponseRedirect(back)
        program = Program.objects.filter(pk__in=programs).first()
        if program is None:
            messages.error(request, "所选贴息申请不存在")
            return HttpResponseRedirect(back)
        try:
            batch = create_batch(
                program=program,
                claim_ids=ids,
                user=request.user,
                note=request.POST.get("note", ""),
            )
        except DomainError as error:
            messages.error(request, error.message)
            for texts in error.field_errors.values():
                for text in texts:
                    if text != error.message:
                        messages.error(request, text)
            return HttpResponseRedirect(back)
        messages.success(
            request,
            f"已生成拨付批次{batch.number}：{batch.claim_count}笔，合计{batch.total:,.2f}元，"
            "请由另一位经办人审批",
        )
        return redirect("subsidies:batch-detail", pk=batch.pk)


class BatchListView(PortalView, TemplateView):
    """The payment batches, newest first, optionally of one program."""

    allowed_roles = CITY_ROLES
    template_name = "subsidies/batch_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        program = Program.objects.filter(pk=self._program_id()).first()
        batches = payment_batches(user=self.request.user, program=program)
        page, size = paginate(self.request, batches)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            page_title="支付批次",
            programs=Program.objects.all(),
            program=program,
            page=page,
            page_size=size,
            query=query.urlencode(),
        )
        return context

    def _program_id(self) -> int | None:
        value = self.request.GET.get("program", "")
        return int(value) if value.isascii() and value.isdigit() else None


def _batch_of(request, pk: int):
    return get_object_or_404(payment_batches(user=request.user), pk=pk)


class BatchDetailView(PortalView, TemplateView):
    """A batch: its claims, totals, who made, approved and paid it, and the next step."""

    allowed_roles = CITY_ROLES
    template_name = "subsidies/batch_detail.html"

    def get_context_data(self, *, payment_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        batch = _batch_of(self.request, self.kwargs["pk"])
        claims = batch_claims(batch=batch, user=user)
        is_city = self.role == Role.CITY_STAFF
        is_maker = batch.created_by_id == user.pk
        if payment_form is None and batch.status == BatchStatus.APPROVED and is_city:
            payment_form = BatchPaymentForm(initial={"paid_on": timezone.localdate().isoformat()})
        context.update(
            page_title=f"拨付批次 {batch.number}",
            batch=batch,
            claims=list(claims),
            totals=ledger_totals(claims),
            may_approve=is_city and batch.status == BatchStatus.DRAFT,
            is_maker=is_maker,
            may_pay=is_city and batch.status == BatchStatus.APPROVED,
            payment_form=payment_form,
        )
        return context


class BatchApproveView(PortalView, View):
    """Another city clerk approves a draft batch; the maker is refused with the reason."""

    allowed_roles = BATCH_MAKERS
    http_method_names = ["post"]

    def post(self, request, pk):
        batch = _batch_of(request, pk)
        try:
            batch = approve_batch(batch=batch, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"拨付批次{batch.number}已审批，可登记支付")
        return redirect("subsidies:batch-detail", pk=pk)


class BatchPayView(PortalView, View):
    """Record an approved batch's payment (date and reference): its claims become paid."""

    allowed_roles = BATCH_MAKERS
    http_method_names = ["post"]

    def post(self, request, pk):
        batch = _batch_of(request, pk)
        form = BatchPaymentForm(request.POST)
        form.is_valid()
        try:
            batch = mark_batch_paid(
                batch=batch,
                user=request.user,
                paid_on=request.POST.get("paid_on", ""),
                reference=request.POST.get("payment_reference", ""),
            )
        except DomainError as error:
            form = BatchPaymentForm(request.POST)
            form.is_valid()
            for name in ("paid_on", "payment_reference"):
                form.errors.pop(name, None)  # the service's messages replace the form's
            form.add_service_errors(error.field_errors, error.message)
            messages.error(request, error.message)
            view = BatchDetailView(request=request, kwargs={"pk": pk}, role=self.role)
            context = view.get_context_data(payment_form=form)
            return render(request, BatchDetailView.template_name, context, status=400)
        messages.success(
            request,
            f"拨付批次{batch.number}已登记支付（{batch.paid_on:%Y-%m-%d}，"
            f"凭证号{batch.payment_reference}）",
        )
        return redirect("subsidies:batch-detail", pk=pk)


# --- county allocation --------------------------------------------------------------------


class AllocationView(PortalView, TemplateView):
    """The program's county allocation table with every intermediate column, live or as
    frozen; ``?format=xlsx`` downloads the same figures."""

    allowed_roles = CITY_ROLES
    template_name = "subsidies/allocation.html"

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        program = context["program"]
        if program is not None and _wants_xlsx(request):
            content = allocation_workbook(program, context["table"])
            return xlsx_response(content, f"{program}贴息补助分配表.xlsx")
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        select = ProgramSelectForm(self.request.GET if "program" in self.request.GET else None)
        program = select.selected(Unit.objects.all())
        context.update(
            page_title="贴息补助分配",
            program=program,
            select_form=ProgramSelectForm(initial={"program": program}),
            may_freeze=self.role == Role.CITY_STAFF,
        )
        if program is None:
            return context
        try:
            table = allocation_table(program=program)
        except DomainError as error:
            context.update(table=None, lines=[], error=error.message)
            return context
        context.update(
            table=table,
            lines=table.lines,
            share_total=sum((line.share for line in table.lines), start=ZERO),
        )
        return context


class AllocationFreezeView(PortalView, View):
    """City staff confirm the program's allocation: it is stored and no longer moves."""

    allowed_roles = BATCH_MAKERS
    http_method_names = ["post"]

    def post(self, request):
        select = ProgramSelectForm(request.POST)
        program = select.cleaned_data["program"] if select.is_valid() else None
        if program is None:
            messages.error(request, "请选择贷款项目")
            return redirect("subsidies:allocation")
        try:
            freeze_allocation(program=program, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{program}贴息补助分配已确认并冻结")
        return redirect(f"{reverse('subsidies:allocation')}?program={program.pk}")
