from rest_framework import serializers

from gonghui.api import money_field, rate_field
from subsidies.models import SubsidyClaim


class SubsidyClaimSerializer(serializers.ModelSerializer):
    contract_number = serializers.CharField(source="loan.contract_number", read_only=True)
    subsidised_principal = money_field()
    contract_rate = rate_field()
    applied_rate = rate_field()
    interest_subsidy = money_field()
    premium_subsidy = money_field()
    amount = money_field()

    class Meta:
        model = SubsidyClaim
        fields = [
            "id",
            "loan",
            "contract_number",
            "program",
            "unit",
            "bank",
            "loan_type",
            "review_channel",
            "subsidised_principal",
            "contract_rate",
            "applied_rate",
            "start_on",
            "end_on",
            "days",
            "interest_subsidy",
            "premium_subsidy",
            "amount",
            "status",
            "batch",
        ]
        read_only_fields = fields
