from django.db import models


class Role(models.TextChoices):
    """The four kinds of user of SPEC.md; each maps to a Django group of the same label."""

    COUNTY_STAFF = "county_staff", "县区总工会经办人"
    CITY_STAFF = "city_staff", "市总工会经办人"
    BANK_OFFICER = "bank_officer", "合作银行信贷员"
    MANAGER = "manager", "领导"
