from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gonghui.api import money_field
from reports.models import MonthlySnapshot, MonthlySnapshotRow


class MonthlySnapshotRowSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    unit_name = serializers.SerializerMethodField()
    task = money_field()
    amount = money_field()
    renewal_amount = money_field()
    leveraged_amount = money_field()
    completed = money_field()
    # Explicit fields: model-derived integer bounds differ between SQLite and PostgreSQL,
    # which would make the committed OpenAPI document depend on the database.
    loans = serializers.IntegerField(read_only=True)
    new_union_members = serializers.IntegerField(read_only=True)
    jobs_created = serializers.IntegerField(read_only=True)
    completion_rate = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = MonthlySnapshotRow
        fields = [
            "unit",
            "unit_name",
            "task",
            "loans",
            "amount",
            "renewal_amount",
            "leveraged_amount",
            "new_union_members",
            "jobs_created",
            "completed",
            "completion_rate",
        ]

    def get_unit_name(self, row) -> str:
        return row.unit.name if row.unit_id else "合计"


class MonthlySnapshotSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    month = serializers.DateField(format="%Y-%m", read_only=True)
    rows = serializers.SerializerMethodField()

    class Meta:
        model = MonthlySnapshot
        fields = ["program", "month", "as_of", "built_at", "rows"]

    @extend_schema_field(MonthlySnapshotRowSerializer(many=True))
    def get_rows(self, snapshot) -> list[dict]:
        rows = self.context.get("rows", [])
        return MonthlySnapshotRowSerializer(rows, many=True).data
