"""Field builders shared by every app, so money, rates and authorship are declared one way."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from gonghui.money import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PERCENT_DIGITS,
    PERCENT_PLACES,
    RATE_DIGITS,
    RATE_PLACES,
)


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    """An amount in 元 with fen precision."""
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


def rate_field(verbose_name: str, **kwargs) -> models.DecimalField:
    """An annual interest rate in percent (4.75 means 4.75 % a year)."""
    return models.DecimalField(
        verbose_name, max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs
    )


def percent_field(verbose_name: str, default: str, **kwargs) -> models.DecimalField:
    """A share or threshold in percent, not below zero."""
    return models.DecimalField(
        verbose_name,
        max_digits=PERCENT_DIGITS,
        decimal_places=PERCENT_PLACES,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal("0"))],
        **kwargs,
    )


def bounded_rate_field(verbose_name: str, default: str) -> models.DecimalField:
    return rate_field(
        verbose_name,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )


def user_field(verbose_name: str, *, optional: bool = True) -> models.ForeignKey:
    """Who recorded a row; protected, since a financial record must keep its author."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        related_name="+",
        null=optional,
        blank=optional,
    )
