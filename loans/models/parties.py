"""Who takes part: units, banks, applicants and their enterprises."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from gonghui.fields import money_field
from gonghui.history import PERSONAL_FIELDS, PERSONAL_LOOKUP_FIELDS, audited_history
from gonghui.pii import DerivedCharField, EncryptedCharField, keyed_hash
from loans.choices import (
    PRIMARY_SECTIONS,
    SECONDARY_SECTIONS,
    BorrowerClass,
    FounderClass,
    IndustryGroup,
    IndustrySection,
    UnitKind,
)


class Unit(models.Model):
    """A county, district, county-level city, development zone or the city level (市本级).

    Units are where quotas are set and where loans are counted (by the disbursing unit).
    """

    code = models.SlugField("单位代码", max_length=32, unique=True)
    name = models.CharField("单位名称", max_length=50)
    city = models.CharField("所属市", max_length=50)
    kind = models.CharField("类型", max_length=16, choices=UnitKind.choices)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    history = audited_history()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["city", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "name"],
                name="unit_name_unique_per_city",
                violation_error_message="同一市内单位名称不能重复",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=UnitKind.values),
                name="unit_kind_valid",
                violation_error_message="单位类型无效",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Bank(models.Model):
    """A partner bank (合作银行); bank officers act only on their own bank's records."""

    code = models.SlugField("银行代码", max_length=32, unique=True)
    name = models.CharField("银行名称", max_length=100, unique=True)
    short_name = models.CharField("简称", max_length=30, blank=True)
    offers_online_review = models.BooleanField("开展线上审核", default=True)
    offers_offline_review = models.BooleanField("开展线下审核", default=True)
    webhook_url = models.CharField("状态回调地址", max_length=500, blank=True)
    webhook_secret = models.CharField("回调签名密钥", max_length=64, blank=True, editable=False)

    history = audited_history(excluded_fields=("webhook_secret",))

    class Meta:
        verbose_name = "合作银行"
        verbose_name_plural = "合作银行"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.short_name or self.name


class ApplicantQuerySet(models.QuerySet):
    def by_resident_id(self, value: str) -> "ApplicantQuerySet":
        """The applicant with this (validated, normalised) resident ID: the one way to look
        one up, since the ID itself is stored encrypted (gonghui/pii.py)."""
        return self.filter(id_number_hash=keyed_hash(value))

    def by_resident_ids(self, values) -> "ApplicantQuerySet":
        return self.filter(id_number_hash__in=[keyed_hash(v) for v in values])


class Applicant(models.Model):
    """A union member applying for a loan (附件2's upper half).

    The resident ID and mobile number are stored encrypted; ``id_number_hash`` (unique) and
    ``id_tail`` are derived from the ID on every save and bulk_create, for lookups.
    """

    name = models.CharField("姓名", max_length=50)
    id_number = EncryptedCharField("身份证号", max_length=18)
    id_number_hash = DerivedCharField(
        "身份证号摘要", max_length=64, unique=True, source="id_number", derive="hash"
    )
    id_tail = DerivedCharField(
        "身份证号后4位", max_length=4, db_index=True, source="id_number", derive="tail", null=True
    )
    hukou = models.CharField("户籍地", max_length=100, blank=True)
    address = models.CharField("家庭地址", max_length=200, blank=True)
    mobile = EncryptedCharField("手机号码", max_length=11)
    is_model_worker = models.BooleanField("是否劳模", default=False)
    is_epidemic_relative = models.BooleanField("抗疫一线职工直系亲属", default=False)
    founder_class = models.CharField(
        "创业人员类型", max_length=16, choices=FounderClass.choices, default=FounderClass.OTHER
    )
    is_union_member = models.BooleanField("工会会员", default=True)
    union_name = models.CharField("所属工会", max_length=200, blank=True)
    resume = models.TextField("本人简历", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history(excluded_fields=(*PERSONAL_FIELDS, *PERSONAL_LOOKUP_FIELDS))

    objects = ApplicantQuerySet.as_manager()

    class Meta:
        verbose_name = "申请人"
        verbose_name_plural = "申请人"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(founder_class__in=FounderClass.values),
                name="applicant_founder_class_valid",
                violation_error_message="创业人员类型无效",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def borrower_class(self) -> str:
        """The class with the highest limit the applicant belongs to.

        Epidemic relatives come first: they also get priority handling (notice section 六).
        """
        if self.is_epidemic_relative:
            return BorrowerClass.EPIDEMIC_RELATIVE
        if self.is_model_worker:
            return BorrowerClass.MODEL_WORKER
        return BorrowerClass.GENERAL

    @property
    def masked_id_number(self) -> str:
        from loans.services.identity import mask_resident_id

        return mask_resident_id(self.id_number)


class Enterprise(models.Model):
    """The applicant's enterprise (附件2's enterprise rows)."""

    name = models.CharField("企业名称", max_length=200)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    legal_representative = models.CharField("法人代表", max_length=50)
    address = models.CharField("企业地址", max_length=200, blank=True)
    employees = models.PositiveIntegerField("职工数", default=0)
    licence_date = models.DateField("营业执照领取时间")
    industry_section = models.CharField("行业门类", max_length=1, choices=IndustrySection.choices)
    industry_code = models.CharField(
        "行业代码", max_length=4, blank=True, help_text="GB/T 4754 四位行业小类代码，如 8051"
    )
    is_emerging = models.BooleanField("新兴产业", default=False)
    annual_output = money_field("年产值（元）", default=Decimal("0"))
    situation = models.TextField("企业基本状况", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "企业"
        verbose_name_plural = "企业"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(industry_section__in=IndustrySection.values),
                name="enterprise_industry_section_valid",
                violation_error_message="行业门类无效",
            ),
            models.CheckConstraint(
                condition=Q(annual_output__gte=0),
                name="enterprise_output_not_negative",
                violation_error_message="年产值不能为负数",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def industry_group(self) -> str:
        """第一/第二/第三产业 by section, or 新兴产业 when flagged (the report's fourth group)."""
        if self.is_emerging:
            return IndustryGroup.EMERGING
        if self.industry_section in PRIMARY_SECTIONS:
            return IndustryGroup.PRIMARY
        if self.industry_section in SECONDARY_SECTIONS:
            return IndustryGroup.SECONDARY
        return IndustryGroup.TERTIARY
