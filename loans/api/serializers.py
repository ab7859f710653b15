"""Serializers of the bank API for programs, units, applications and loans.

Input serializers check the request's shape only (which fields, which choices); every
business rule (amount, rate cap, identity numbers, dates) is the service's, so the API and
the portal refuse the same things with the same Chinese messages. Output serializers list
their fields; money is a string with two places, rates a percent string.
"""

from rest_framework import serializers

from gonghui.api import DecimalStringField, label_field, money_field, rate_field
from loans.choices import (
    ApplicationChannel,
    FounderClass,
    IndustrySection,
    LoanPurpose,
    LoanType,
    ReviewChannel,
)
from loans.models import Application, FollowUp, Loan, Program, Repayment, Unit

# --- reference data ---------------------------------------------------------------------------


class ProgramSerializer(serializers.ModelSerializer):
    target_amount = money_field()
    rate_cap_online = rate_field()
    rate_cap_offline = rate_field()
    limit_general = money_field()
    limit_model_worker = money_field()
    limit_epidemic_relative = money_field()

    class Meta:
        model = Program
        fields = [
            "id",
            "code",
            "name",
            "city",
            "year",
            "is_active",
            "target_amount",
            "term_months",
            "rate_cap_online",
            "rate_cap_offline",
            "limit_general",
            "limit_model_worker",
            "limit_epidemic_relative",
            "mobilise_deadline",
            "recommend_deadline",
            "disburse_deadline",
        ]
        read_only_fields = fields


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name", "city", "kind"]
        read_only_fields = fields


# --- applications -----------------------------------------------------------------------------


class ApplicantOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    id_number = serializers.CharField(source="masked_id_number", help_text="脱敏的身份证号")
    founder_class = serializers.CharField()
    is_model_worker = serializers.BooleanField()
    is_union_member = serializers.BooleanField()


class EnterpriseOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    credit_code = serializers.CharField()
    industry_section = serializers.CharField()
    employees = serializers.IntegerField()
    licence_date = serializers.DateField()


class ApplicationOutputSerializer(serializers.ModelSerializer):
    applicant = ApplicantOutputSerializer(read_only=True)
    enterprise = EnterpriseOutputSerializer(read_only=True)
    status_label = label_field(Application, "status")
    amount = money_field()
    approved_amount = money_field(allow_null=True)
    approved_rate = rate_field(allow_null=True)
    consent_subsidy_amount = money_field(allow_null=True, help_text="工会同意（或测算）的贴息金额")
    # Blank until the bank decides.
    review_channel = serializers.ChoiceField(
        choices=ReviewChannel.choices, allow_blank=True, read_only=True
    )
    loan_type = serializers.ChoiceField(choices=LoanType.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "reference",
            "program",
            "unit",
            "bank",
            "channel",
            "status",
            "status_label",
            "borrower_class",
            "amount",
            "term_months",
            "purpose",
            "purpose_other",
            "applied_on",
            "applicant",
            "enterprise",
            "review_channel",
            "approved_amount",
            "approved_rate",
            "loan_type",
            "decision_reason",
            "decided_at",
            "consent_subsidy_amount",
            "consented_at",
            "status_changed_at",
            "created_at",
        ]
        read_only_fields = fields


class ApplicantInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=32, help_text="18位居民身份证号")
    mobile = serializers.CharField(max_length=32)
    hukou = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    is_model_worker = serializers.BooleanField(required=False, default=False)
    is_epidemic_relative = serializers.BooleanField(required=False, default=False)
    founder_class = serializers.ChoiceField(
        choices=FounderClass.choices, required=False, default=FounderClass.OTHER
    )
    is_union_member = serializers.BooleanField(required=False, default=True)
    union_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    resume = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class EnterpriseInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    credit_code = serializers.CharField(max_length=32, help_text="18位统一社会信用代码")
    legal_representative = serializers.CharField(max_length=50)
    licence_date = serializers.CharField(help_text="营业执照领取时间，YYYY-MM-DD")
    industry_section = serializers.ChoiceField(choices=IndustrySection.choices)
    industry_code = serializers.CharField(
        max_length=8, required=False, allow_blank=True, default=""
    )
    employees = serializers.IntegerField(min_value=0, required=False, default=0)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    is_emerging = serializers.BooleanField(required=False, default=False)
    annual_output = DecimalStringField(required=False, default="0")
    situation = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ApplicationCreateSerializer(serializers.Serializer):
    """A bank referral or a bank-online application, with the applicant and enterprise."""

    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    channel = serializers.ChoiceField(
        choices=[
            (ApplicationChannel.BANK_REFERRAL, ApplicationChannel.BANK_REFERRAL.label),
            (ApplicationChannel.BANK_ONLINE, ApplicationChannel.BANK_ONLINE.label),
        ]
    )
    amount = DecimalStringField(help_text='申请贷款金额（元），如 "300000.00"')
    applied_on = serializers.CharField(help_text="申请日期，YYYY-MM-DD")
    term_months = serializers.IntegerField(required=False, allow_null=True, default=None)
    purpose = serializers.ChoiceField(
        choices=LoanPurpose.choices, required=False, default=LoanPurpose.PRODUCTION
    )
    purpose_other = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    applicant = ApplicantInputSerializer()
    enterprise = EnterpriseInputSerializer()


class DecisionSerializer(serializers.Serializer):
    """The bank's decision: approved (amount, rate, loan type, review channel) or declined."""

    decision = serializers.ChoiceField(choices=[("approved", "审批通过"), ("declined", "不予贷款")])
    amount = DecimalStringField(required=False, help_text="审批金额（元），通过时必填")
    annual_rate = DecimalStringField(required=False, help_text="年利率（%），通过时必填")
    loan_type = serializers.ChoiceField(choices=LoanType.choices, required=False)
    review_channel = serializers.ChoiceField(choices=ReviewChannel.choices, required=False)
    opinion = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="拒绝原因"
    )

    def validate(self, attrs):
        required = (
            ("amount", "annual_rate", "loan_type", "review_channel")
            if attrs["decision"] == "approved"
            else ()
        )
        errors = {name: ["该字段是必填项。"] for name in required if name not in attrs}
        if attrs["decision"] == "declined" and not attrs.get("reason", "").strip():
            errors["reason"] = ["不予贷款须填写原因"]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ConsentSerializer(serializers.Serializer):
    """The union's answer to a bank-online application's consent request (staff only)."""

    consent = serializers.BooleanField(help_text="true 同意贴息，false 不同意")
    opinion = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- loans ------------------------------------------------------------------------------------


class LoanOutputSerializer(serializers.ModelSerializer):
    principal = money_field()
    subsidised_principal = money_field()
    leveraged_amount = money_field()
    annual_rate = rate_field()
    status_label = label_field(Loan, "status")

    class Meta:
        model = Loan
        fields = [
            "id",
            "application",
            "program",
            "unit",
            "bank",
            "contract_number",
            "principal",
            "subsidised_principal",
            "leveraged_amount",
            "annual_rate",
            "review_channel",
            "loan_type",
            "disbursed_on",
            "maturity_on",
            "renewal_of",
            "jobs_created",
            "new_union_members",
            "status",
            "status_label",
            "settled_on",
            "created_at",
        ]
        read_only_fields = fields


class LoanTermsSerializer(serializers.Serializer):
    contract_number = serializers.CharField(max_length=64)
    principal = DecimalStringField(help_text="放款金额（元）")
    annual_rate = DecimalStringField(help_text="合同年利率（%），不得超过项目对应审核方式的上限")
    disbursed_on = serializers.CharField(help_text="放款日期，YYYY-MM-DD")
    maturity_on = serializers.CharField(help_text="到期日期，YYYY-MM-DD")
    jobs_created = serializers.IntegerField(min_value=0, required=False, default=0)
    new_union_members = serializers.IntegerField(min_value=0, required=False, default=0)


class DisbursementSerializer(LoanTermsSerializer):
    """A disbursement: the loan of an application the bank approved."""

    application = serializers.IntegerField(min_value=1, help_text="申请 id")


class RenewalSerializer(LoanTermsSerializer):
    """A renewal (续贷): the borrower's new approved application, disbursed as a new loan."""

    application = serializers.IntegerField(min_value=1, help_text="续贷申请 id")


class RepaymentInputSerializer(serializers.Serializer):
    repaid_on = serializers.CharField(help_text="还款日期，YYYY-MM-DD")
    principal_amount = DecimalStringField(required=False, default="0")
    interest_amount = DecimalStringField(required=False, default="0")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RepaymentOutputSerializer(serializers.ModelSerializer):
    principal_amount = money_field()
    interest_amount = money_field()

    class Meta:
        model = Repayment
        fields = ["id", "loan", "repaid_on", "principal_amount", "interest_amount", "note"]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = [
            "id",
            "year",
            "quarter",
            "visited_on",
            "operating_status",
            "jobs",
            "insured_employees",
            "note",
        ]
        read_only_fields = fields
