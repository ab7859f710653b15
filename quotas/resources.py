"""The import-export Resource of quotas (任务分配): one row per program and unit.

A row sets the unit's task exactly as ``quotas.services.set_quota`` does: city staff only,
an amount in 元 of at most two decimals, zero allowed; an existing quota is updated.
"""

from __future__ import annotations

from import_export import fields

from gonghui.errors import DomainError
from gonghui.history import bulk_create_audited, bulk_update_audited
from gonghui.inputs import parse_amount
from loans.models import Program, Unit
from loans.resources import CodeWidget, text_field
from loans.services.imports import BulkImportResource, cell_text, column
from quotas.models import Quota


class QuotaResource(BulkImportResource):
    """Quotas by 项目代码 and 单位代码, created or updated."""

    program = fields.Field(
        attribute="program",
        column_name="项目代码",
        widget=CodeWidget(Program, "code", label="项目代码"),
    )
    unit = fields.Field(
        attribute="unit", column_name="单位代码", widget=CodeWidget(Unit, "code", label="单位代码")
    )
    task_amount = text_field("task_amount", "任务数（元）")
    unit_name = text_field("unit__name", "单位名称", readonly=True)

    class Meta(BulkImportResource.Meta):
        model = Quota
        name = "任务分配"
        fields = ("program", "unit", "unit_name", "task_amount")
        export_order = ("program", "unit", "unit_name", "task_amount")
        import_id_fields = ()

    def get_queryset(self):
        return Quota.objects.select_related("program", "unit").order_by(
            "program__code", "unit__sort_order", "unit__code"
        )

    def prefetch(self, dataset) -> None:
        programs = {cell_text(v) for v in column(dataset, "项目代码")} - {""}
        units = {cell_text(v) for v in column(dataset, "单位代码")} - {""}
        self.fields["program"].widget.lookup = Program.objects.in_bulk(programs, field_name="code")
        self.fields["unit"].widget.lookup = Unit.objects.in_bulk(units, field_name="code")
        quotas = Quota.objects.filter(
            program__code__in=programs, unit__code__in=units
        ).select_related("program", "unit")
        if not self.dry_run:
            quotas = quotas.select_for_update(of=("self",))
        self.existing = {(q.program_id, q.unit_id): q for q in quotas}
        self.by_codes = {(q.program.code, q.unit.code): q for q in quotas}
        self.seen: set[tuple[int, int]] = set()

    def get_instance(self, instance_loader, row):
        """The stored quota of the row's program and unit, from ``prefetch`` (no query)."""
        return self.by_codes.get((cell_text(row.get("项目代码")), cell_text(row.get("单位代码"))))

    def validate_row(self, instance, row: dict) -> None:
        program = self.fields["program"].widget.clean(row.get("项目代码"))
        unit = self.fields["unit"].widget.clean(row.get("单位代码"))
        amount = parse_amount(row.get("任务数（元）"), field="task_amount", allow_zero=True)
        key = (program.pk, unit.pk)
        if key in self.seen:
            raise DomainError.for_field("单位代码", "duplicate_row", "该项目和单位在文件中重复")
        existing = self.existing.get(key)
        if existing is not None:
            instance.pk = existing.pk
            instance._state.adding = False
        instance.program, instance.unit, instance.task_amount = program, unit, amount
        self.seen.add(key)

    def write(self, quotas: list[Quota]) -> None:
        new = [q for q in quotas if q.pk is None]
        changed = [q for q in quotas if q.pk is not None]
        if new:
            bulk_create_audited(Quota, new)
        if changed:
            bulk_update_audited(Quota, changed, ["task_amount"])
