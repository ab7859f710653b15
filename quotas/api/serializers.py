from rest_framework import serializers

from gonghui.api import money_field
from quotas.models import Quota


class QuotaSerializer(serializers.ModelSerializer):
    task_amount = money_field(help_text="任务数（元）")

    class Meta:
        model = Quota
        fields = ["id", "program", "unit", "task_amount"]
        read_only_fields = fields
