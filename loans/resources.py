"""Import-export Resources of loans and of applicants with their enterprises.

Both are :class:`loans.services.imports.BulkImportResource`: every key the file names is
read in ``prefetch`` with a few queries, each row is decided in pure Python by the same
function as the single-row service, and the rows are written together at the end.

Loans: the bank of an imported loan is the bank of its application (as ``disburse_loan``
does); the file's 银行代码 column must name that bank, so a city clerk importing a bank's
spreadsheet cannot book a loan on another bank's approval.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from import_export import fields, widgets

from accounts.scoping import restrict
from gonghui.bulk import adapt_datetime, insert_rows
from gonghui.errors import DomainError
from gonghui.history import bulk_create_audited, bulk_update_audited, copy_into_history
from loans.choices import ApplicationStatus, CheckRule, FounderClass, IndustrySection, LoanStatus
from loans.models import (
    Applicant,
    Application,
    ApplicationEvent,
    Bank,
    EligibilityCheck,
    Enterprise,
    Loan,
    PersonalDataAccess,
    Program,
    Unit,
)
from loans.services import identity
from loans.services.imports import (
    BulkImportResource,
    cell_text,
    column,
    parse_choice,
    parse_flag,
)
from loans.services.loans import DisbursementFacts, disbursement_note, plan_disbursement
from loans.services.parties import (
    ApplicantData,
    EnterpriseData,
    check_may_update,
    clean_applicant,
    clean_enterprise,
)
from loans.services.privacy import record_access
from loans.services.webhooks import notify_disbursed_in_bulk


class PlainWidget(widgets.Widget):
    """Exports a value as the text the import parsers read back: 400000.00, 2020-07-10, 是."""

    def clean(self, value, row=None, **kwargs):
        return value

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return format(value, "f")
        return str(value)


class CodeWidget(widgets.ForeignKeyWidget):
    """A foreign key by its code; on import it resolves from the rows the resource read in
    ``prefetch`` (``lookup``), never with a query per row."""

    def __init__(self, model, field, *, label: str, **kwargs):
        super().__init__(model, field=field, **kwargs)
        self.label = label
        self.lookup: dict = {}

    def clean(self, value, row=None, **kwargs):
        code = cell_text(value)
        if not code:
            raise DomainError.for_field(self.label, "required", f"请填写{self.label}")
        found = self.lookup.get(code)
        if found is None:
            raise DomainError.for_field(self.label, "unknown", f"{self.label}“{code}”不存在")
        return found

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else getattr(value, self.field)


def text_field(attribute: str, column_name: str, *, readonly: bool = False) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=column_name, widget=PlainWidget(), readonly=readonly
    )


class PlannedRow:
    """What import-export holds for a row whose object the service function builds."""

    pk = None
    planned = None

    def __str__(self) -> str:
        return str(self.planned or "")


# --- loans -----------------------------------------------------------------------------------

LOAN_INPUTS = (
    "contract_number",
    "principal",
    "annual_rate",
    "disbursed_on",
    "maturity_on",
    "jobs_created",
    "new_union_members",
)


# The application columns disbursement reads (``plan_disbursement`` and ``write``); the
# others (texts, decision notes, timestamps) are not loaded for the thousands of rows.
DISBURSE_READS = (
    "reference",
    "program",
    "unit",
    "bank",
    "applicant",
    "channel",
    "status",
    "borrower_class",
    "applied_on",
    "review_channel",
    "approved_amount",
    "approved_rate",
    "loan_type",
)


class LoanResource(BulkImportResource):
    """Loans from a bank's spreadsheet: one row per disbursed loan of an approved application."""

    application = fields.Field(
        attribute="application",
        column_name="申请编号",
        widget=CodeWidget(Application, "reference", label="申请编号"),
    )
    bank = fields.Field(
        attribute="bank", column_name="银行代码", widget=CodeWidget(Bank, "code", label="银行代码")
    )
    contract_number = text_field("contract_number", "合同编号")
    principal = text_field("principal", "贷款金额（元）")
    annual_rate = text_field("annual_rate", "年利率（%）")
    disbursed_on = text_field("disbursed_on", "放款日期")
    maturity_on = text_field("maturity_on", "到期日期")
    jobs_created = text_field("jobs_created", "带动就业人数")
    new_union_members = text_field("new_union_members", "新增入会职工人数")
    program = text_field("program__code", "项目代码", readonly=True)
    unit = text_field("unit__code", "单位代码", readonly=True)
    subsidised_principal = text_field("subsidised_principal", "贴息本金（元）", readonly=True)
    leveraged_amount = text_field("leveraged_amount", "拉动贷款金额（元）", readonly=True)
    review_channel = text_field("review_channel", "审核方式", readonly=True)
    loan_type = text_field("loan_type", "贷款类型", readonly=True)
    status = text_field("status", "状态", readonly=True)

    class Meta(BulkImportResource.Meta):
        model = Loan
        name = "贷款"
        fields = (
            "application",
            "bank",
            *LOAN_INPUTS,
            "program",
            "unit",
            "subsidised_principal",
            "leveraged_amount",
            "review_channel",
            "loan_type",
            "status",
        )
        export_order = fields
        import_id_fields = ()
        force_init_instance = True

    def get_queryset(self):
        return Loan.objects.select_related("application", "program", "unit", "bank").order_by("pk")

    def general_column(self) -> str:
        return "申请编号"

    def prefetch(self, dataset) -> None:
        """A few queries for the whole file. The applicants are locked for the confirm step,
        as ``disburse_loan`` locks the borrower: two applications of one borrower cannot be
        disbursed at once by an import and another door."""
        references = {cell_text(v) for v in column(dataset, "申请编号")} - {""}
        # Not locked: ``write`` moves only applications still in a disbursable status and
        # refuses the whole file if any changed meanwhile (cheaper than 10,000 row locks).
        applications = Application.objects.filter(reference__in=references).only(*DISBURSE_READS)
        applications = list(restrict(applications, self.user))
        # The few programs, units and banks once each, not joined onto every application.
        related = {
            "program": Program.objects.in_bulk({a.program_id for a in applications}),
            "unit": Unit.objects.in_bulk({a.unit_id for a in applications}),
            "bank": Bank.objects.in_bulk({a.bank_id for a in applications} - {None}),
        }
        for application in applications:
            for name, rows in related.items():
                application._state.fields_cache[name] = rows.get(getattr(application, f"{name}_id"))
        self.applications = {a.reference: a for a in applications}
        self.fields["application"].widget.lookup = self.applications
        applicant_ids = {a.applicant_id for a in self.applications.values()}
        if not self.dry_run:
            list(Applicant.objects.select_for_update().filter(pk__in=applicant_ids).values("pk"))
        self.active_loans = defaultdict(list)
        for loan in (
            Loan.objects.filter(
                application__applicant_id__in=applicant_ids, status=LoanStatus.ACTIVE
            )
            .select_related("program")
            .annotate(borrower_id=F("application__applicant_id"))
        ):
            self.active_loans[loan.borrower_id].append(loan)
        self.overridden = set(
            EligibilityCheck.objects.filter(
                application__in=[a.pk for a in self.applications.values()],
                rule=CheckRule.NO_ACTIVE_LOAN,
            )
            .exclude(override_reason="")
            .values_list("application_id", flat=True)
        )
        contracts = {cell_text(v) for v in column(dataset, "合同编号")} - {""}
        banks = {a.bank_id for a in self.applications.values()} - {None}
        self.taken = set(  # (bank, contract_number) leads the unique index
            Loan.objects.filter(bank_id__in=banks, contract_number__in=contracts).values_list(
                "bank_id", "contract_number"
            )
        )
        self.seen_applications: set[int] = set()
        self.seen_contracts: set[tuple[int, str]] = set()

    def validate_row(self, instance, row: dict) -> None:
        """The row's loan as ``disburse_loan`` would make it, or its refusal."""
        application = self.fields["application"].widget.clean(row.get("申请编号"))
        bank_code = cell_text(row.get("银行代码"))
        if application.bank is None or bank_code != application.bank.code:
            expected = application.bank.code if application.bank else "（未选择银行）"
            raise DomainError.for_field(
                "bank", "bank_mismatch", f"须为该申请的合作银行代码{expected}"
            )
        if application.pk in self.seen_applications:
            raise DomainError.for_field(
                "application", "duplicate_row", "该申请在文件中出现多次，每笔申请只能放款一次"
            )
        inputs = {name: row.get(self.fields[name].column_name) for name in LOAN_INPUTS}
        for count in ("jobs_created", "new_union_members"):
            if inputs[count] in (None, ""):
                inputs[count] = 0
        key = (application.bank_id, cell_text(inputs["contract_number"]))
        if key in self.seen_contracts:
            raise DomainError.for_field(
                "contract_number", "duplicate_row", "该合同编号在文件中重复"
            )
        facts = DisbursementFacts(
            applicant_active_loans=tuple(self.active_loans[application.applicant_id]),
            no_active_loan_overridden=application.pk in self.overridden,
            contract_taken=key in self.taken,
        )
        loan = plan_disbursement(application=application, user=self.user, facts=facts, **inputs)
        instance.planned = loan
        self.seen_applications.add(application.pk)
        self.seen_contracts.add(key)
        # A later row of the same borrower is blocked by this loan, as in the service.
        self.active_loans[application.applicant_id].append(loan)

    def init_instance(self, row=None):
        """A placeholder: ``validate_row`` builds the row's loan with ``plan_disbursement``."""
        return PlannedRow()

    def write(self, loans: list[Loan]) -> None:
        """The loans, the applications' move to 已放款, the timeline and the callbacks: the
        same rows ``disburse_loan`` writes, in five statements."""
        now = timezone.now()
        moved = Application.objects.filter(
            pk__in=[loan.application_id for loan in loans],
            status__in=[ApplicationStatus.BANK_APPROVED, ApplicationStatus.CONSENTED],
        ).update(status=ApplicationStatus.DISBURSED, status_changed_at=now, updated_at=now)
        if moved != len(loans):
            raise DomainError(
                "applications_changed",
                "导入期间有申请的状态发生了变化，未写入任何数据，请重新上传文件",
            )
        Loan.objects.bulk_create(loans)
        copy_into_history(Loan, [loan.pk for loan in loans])
        # The timeline rows, as disburse_loan writes them; plain rows (gonghui.bulk) since
        # building 10,000 model instances cost a third of the import.
        events = [
            SimpleNamespace(
                application_id=loan.application_id,
                action="disburse",
                from_status=loan.application.status,
                to_status=ApplicationStatus.DISBURSED,
                note=f"{disbursement_note(loan)}（批量导入）",
            )
            for loan in loans
        ]
        stamp, actor = adapt_datetime(now), self.user.pk
        insert_rows(
            ApplicationEvent,
            ["application", "action", "from_status", "to_status", "actor", "note", "created_at"],
            [
                (
                    e.application_id,
                    e.action,
                    e.from_status,
                    e.to_status,
                    actor,
                    e.note,
                    stamp,
                )
                for e in events
            ],
        )
        for loan in loans:
            loan.application.status = ApplicationStatus.DISBURSED
        notify_disbursed_in_bulk(zip(events, loans, strict=True))


# --- applicants with their enterprises ------------------------------------------------------

APPLICANT_COLUMNS = {
    "name": "姓名",
    "id_number": "身份证号",
    "mobile": "手机号码",
    "hukou": "户籍地",
    "address": "家庭地址",
    "is_model_worker": "是否劳模",
    "is_epidemic_relative": "抗疫一线职工直系亲属",
    "founder_class": "创业人员类型",
    "is_union_member": "工会会员",
    "union_name": "所属工会",
    "resume": "本人简历",
}
ENTERPRISE_COLUMNS = {
    "name": "企业名称",
    "credit_code": "统一社会信用代码",
    "legal_representative": "法人代表",
    "address": "企业地址",
    "employees": "职工数",
    "licence_date": "营业执照领取时间",
    "industry_section": "行业门类",
    "industry_code": "行业代码",
    "is_emerging": "新兴产业",
    "annual_output": "年产值（元）",
    "situation": "企业基本状况",
}
ENTERPRISE_OPTIONAL = frozenset({"address", "industry_code", "is_emerging", "situation"})
APPLICANT_OPTIONAL = frozenset({"hukou", "address", "union_name", "resume"})


class EnterpriseValue(widgets.Widget):
    """Exports one field of the enterprise of the applicant's latest application."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def render(self, value, obj=None, **kwargs):
        enterprise = getattr(obj, "latest_enterprise", None)
        if enterprise is None:
            return ""
        return PlainWidget().render(getattr(enterprise, self.name))


def _valid(normalise, values) -> set[str]:
    """The normalised identity numbers among a column's values (invalid ones fail their row)."""
    found = set()
    for value in values:
        try:
            found.add(normalise(cell_text(value)))
        except DomainError:
            continue
    return found


class ApplicantResource(BulkImportResource):
    """Applicants (by resident ID) with their enterprise (by credit code), created or
    brought up to date exactly as ``upsert_applicant`` and ``upsert_enterprise`` do.

    The enterprise columns may be left blank for an applicant without an enterprise yet.
    An export lists each applicant with the enterprise of the latest application.
    """

    masked_columns = {"身份证号": identity.mask_resident_id, "手机号码": identity.mask_mobile}

    class Meta(BulkImportResource.Meta):
        model = Applicant
        name = "申请人及企业"
        fields = ()
        import_id_fields = ()

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        for name, label in APPLICANT_COLUMNS.items():
            self.fields[name] = text_field(name, label)
        for name, label in ENTERPRISE_COLUMNS.items():
            self.fields[f"enterprise_{name}"] = fields.Field(
                attribute=None, column_name=label, widget=EnterpriseValue(name)
            )
        self.extra_columns = {f"enterprise.{n}": c for n, c in ENTERPRISE_COLUMNS.items()}

    def required_columns(self) -> list[str]:
        return [
            APPLICANT_COLUMNS[n] for n in ("name", "id_number", "mobile")
        ]  # others may be left out of the file

    def template_columns(self) -> list[str]:
        return [*APPLICANT_COLUMNS.values(), *ENTERPRISE_COLUMNS.values()]

    def get_export_fields(self, selected_fields=None):
        return [f for n, f in self.fields.items() if not selected_fields or n in selected_fields]

    def get_import_fields(self):
        return [self.fields[name] for name in APPLICANT_COLUMNS]

    def export(self, *args, **kwargs):
        """The export, recorded as one unmasked view of its rows' IDs and mobiles."""
        dataset = super().export(*args, **kwargs)
        if self.user is not None:
            record_access(
                user=self.user,
                purpose=PersonalDataAccess.Purpose.APPLICANT_EXPORT,
                row_count=len(dataset),
            )
        return dataset

    def export_field(self, field, instance, **kwargs):
        if isinstance(field.widget, EnterpriseValue):
            return field.widget.render(None, instance)
        return super().export_field(field, instance, **kwargs)

    def get_queryset(self):
        return Applicant.objects.order_by("pk")

    def iter_queryset(self, queryset):
        """Each applicant with the enterprise of the latest application: two queries."""
        latest = (
            Application.objects.filter(applicant=OuterRef("pk"))
            .order_by("-applied_on", "-pk")
            .values("enterprise_id")[:1]
        )
        applicants = list(queryset.annotate(latest_enterprise_id=Subquery(latest)))
        ids = {a.latest_enterprise_id for a in applicants} - {None}
        enterprises = Enterprise.objects.in_bulk(ids)
        for applicant in applicants:
            applicant.latest_enterprise = enterprises.get(applicant.latest_enterprise_id)
            yield applicant

    def prefetch(self, dataset) -> None:
        ids = _valid(identity.validate_resident_id, column(dataset, "身份证号"))
        codes = _valid(identity.validate_credit_code, column(dataset, "统一社会信用代码"))
        applicants = Applicant.objects.by_resident_ids(ids)
        enterprises = Enterprise.objects.filter(credit_code__in=codes)
        if not self.dry_run:
            applicants, enterprises = (
                applicants.select_for_update(),
                enterprises.select_for_update(),
            )
        self.applicants = {a.id_number: a for a in applicants}
        self.enterprises = {e.credit_code: e for e in enterprises}
        self.seen_ids: set[str] = set()
        self.seen_codes: set[str] = set()
        self.enterprise_rows: list[tuple[Enterprise, bool]] = []

    def get_instance(self, instance_loader, row):
        """The stored applicant with the row's resident ID, from ``prefetch`` (no query)."""
        try:
            return self.applicants.get(
                identity.validate_resident_id(cell_text(row.get("身份证号")))
            )
        except DomainError:
            return None

    def _value(self, row: dict, label: str, default=""):
        value = row.get(label)
        return default if value is None else value

    def validate_row(self, instance, row: dict) -> None:
        flags = {
            name: parse_flag(
                row.get(APPLICANT_COLUMNS[name]), field=name, label=APPLICANT_COLUMNS[name]
            )
            for name in ("is_model_worker", "is_epidemic_relative")
        }
        union_member = row.get(APPLICANT_COLUMNS["is_union_member"])
        flags["is_union_member"] = (
            True
            if union_member in (None, "")
            else parse_flag(union_member, field="is_union_member", label="工会会员")
        )
        founder = parse_choice(
            row.get(APPLICANT_COLUMNS["founder_class"]),
            FounderClass.choices,
            field="founder_class",
            label="创业人员类型",
            default=FounderClass.OTHER,
        )
        data = ApplicantData(
            name=self._value(row, "姓名"),
            id_number=cell_text(row.get("身份证号")),
            mobile=cell_text(row.get("手机号码")),
            founder_class=founder,
            **flags,
            **{n: self._value(row, APPLICANT_COLUMNS[n]) for n in APPLICANT_OPTIONAL},
        )
        values = clean_applicant(data)
        if values["id_number"] in self.seen_ids:
            raise DomainError.for_field("id_number", "duplicate_row", "该身份证号在文件中重复")
        existing = self.applicants.get(values["id_number"])
        check_may_update(self.user, existing, "申请人", "id_number")
        enterprise = self._enterprise(row)
        if existing is not None:
            instance.pk, instance.created_at = existing.pk, existing.created_at
            instance._state.adding = False
        for name, value in values.items():
            setattr(instance, name, value)
        self.seen_ids.add(values["id_number"])
        if enterprise is not None:
            self.enterprise_rows.append(enterprise)

    def _enterprise(self, row: dict) -> Enterprise | None:
        raw = {n: row.get(label) for n, label in ENTERPRISE_COLUMNS.items()}
        if all(cell_text(v) == "" for v in raw.values()):
            return None
        try:
            section = parse_choice(
                raw["industry_section"],
                IndustrySection.choices,
                field="industry_section",
                label="行业门类",
            )
            emerging = parse_flag(raw["is_emerging"], field="is_emerging", label="新兴产业")
            data = EnterpriseData(
                name=raw["name"] or "",
                credit_code=cell_text(raw["credit_code"]),
                legal_representative=raw["legal_representative"] or "",
                licence_date=raw["licence_date"],
                industry_section=section,
                employees=raw["employees"] if raw["employees"] is not None else "",
                address=raw["address"] or "",
                industry_code=cell_text(raw["industry_code"]),
                is_emerging=emerging,
                annual_output=raw["annual_output"] if raw["annual_output"] is not None else "0",
                situation=raw["situation"] or "",
            )
            values = clean_enterprise(data)
        except DomainError as error:
            raise DomainError(
                error.code,
                error.message,
                field_errors={f"enterprise.{f}": m for f, m in error.field_errors.items()},
            ) from None
        code = values.pop("credit_code")
        if code in self.seen_codes:
            raise DomainError.for_field(
                "enterprise.credit_code", "duplicate_row", "该统一社会信用代码在文件中重复"
            )
        existing = self.enterprises.get(code)
        try:
            check_may_update(self.user, existing, "企业", "credit_code")
        except DomainError as error:
            raise DomainError.for_field(
                "enterprise.credit_code", error.code, error.message
            ) from None
        enterprise = existing or Enterprise(credit_code=code)
        for name, value in values.items():
            setattr(enterprise, name, value)
        self.seen_codes.add(code)
        return enterprise

    def write(self, applicants: list[Applicant]) -> None:
        """New rows in one INSERT each model, changed rows in one UPDATE each model."""
        now = timezone.now()
        applicant_fields = [n for n in APPLICANT_COLUMNS if n != "id_number"] + ["updated_at"]
        enterprise_fields = [n for n in ENTERPRISE_COLUMNS if n != "credit_code"]
        enterprise_fields.append("updated_at")
        for rows, model, names in (
            (applicants, Applicant, applicant_fields),
            (self.enterprise_rows, Enterprise, enterprise_fields),
        ):
            new = [r for r in rows if r.pk is None]
            changed = [r for r in rows if r.pk is not None]
            for r in changed:
                r.updated_at = now
            if new:
                bulk_create_audited(model, new)
            if changed:
                bulk_update_audited(model, changed, names)
        self.enterprise_rows = []
