"""The 附件2 intake form: every field of the paper form, validated by the services."""

from django import forms

from loans.choices import FounderClass, IndustrySection, LoanPurpose
from loans.models import Program, Unit


class ApplicationIntakeForm(forms.Form):
    """Browser fields only; every rule is applied by ``loans.services`` on submit, whose
    field messages are attached back to these fields."""

    program = forms.ModelChoiceField(Program.objects.filter(is_active=True), label="贷款项目")
    unit = forms.ModelChoiceField(Unit.objects.all(), label="所属单位")
    # 申请人
    name = forms.CharField(label="申请人", max_length=50)
    id_number = forms.CharField(label="身份证号", max_length=30)
    hukou = forms.CharField(label="户籍地", max_length=100, required=False)
    address = forms.CharField(label="家庭地址", max_length=200, required=False)
    mobile = forms.CharField(label="手机号码", max_length=20)
    is_model_worker = forms.BooleanField(label="是否劳模", required=False)
    is_epidemic_relative = forms.BooleanField(label="抗疫一线职工直系亲属", required=False)
    founder_class = forms.ChoiceField(label="创业人员类型", choices=FounderClass.choices)
    is_union_member = forms.BooleanField(label="工会会员", required=False, initial=True)
    union_name = forms.CharField(
        label="所属工会", max_length=200, help_text="区（市）＋镇（街道）或企业工会", required=False
    )
    resume = forms.CharField(label="本人简历", widget=forms.Textarea, required=False)
    # 企业
    enterprise_name = forms.CharField(label="企业名称", max_length=200)
    credit_code = forms.CharField(label="统一社会信用代码", max_length=30)
    legal_representative = forms.CharField(label="法人代表", max_length=50)
    enterprise_address = forms.CharField(label="企业地址", max_length=200, required=False)
    employees = forms.CharField(label="职工数", max_length=10)
    licence_date = forms.CharField(
        label="领取营业执照时间", widget=forms.DateInput(attrs={"type": "date"})
    )
    industry_section = forms.ChoiceField(label="行业门类", choices=IndustrySection.choices)
    industry_code = forms.CharField(label="行业代码（4位）", max_length=10, required=False)
    is_emerging = forms.BooleanField(label="新兴产业", required=False)
    annual_output = forms.CharField(label="年产值（元）", max_length=20, required=False)
    situation = forms.CharField(
        label="企业基本状况",
        widget=forms.Textarea,
        required=False,
        help_text="企业困难、规模、产品、年产值、职工数等",
    )
    # 贷款
    amount = forms.CharField(label="贷款金额（元）", max_length=20)
    term_months = forms.CharField(label="贷款期限（月）", max_length=3, initial="12")
    purpose = forms.ChoiceField(label="贷款用途", choices=LoanPurpose.choices)
    purpose_other = forms.CharField(label="其他用途说明", max_length=100, required=False)
    applied_on = forms.CharField(label="申请时间", widget=forms.DateInput(attrs={"type": "date"}))
    recommender_opinion = forms.CharField(
        label="推荐单位审核意见", widget=forms.Textarea, required=False
    )
    submit_now = forms.BooleanField(label="保存后直接提交审核", required=False, initial=True)

    # Service field names that differ from the form's.
    SERVICE_FIELDS = {
        "name": "enterprise_name",
        "address": "enterprise_address",
    }

    def __init__(self, *args, user=None, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units
            if units.count() == 1:
                self.fields["unit"].initial = units.first()

    def add_service_errors(self, field_errors: dict, *, section: str = "") -> None:
        """Attach a DomainError's field messages to the form's own fields."""
        for field, messages in field_errors.items():
            name = field
            if section == "enterprise":
                name = self.SERVICE_FIELDS.get(field, field)
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
