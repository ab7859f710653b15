"""Searching the bank API's lists without putting a resident ID in a URL.

A URL is written down by every proxy and access log on its way (gunicorn's included), so a
whole resident ID must never be a query parameter: the API refuses any such request
(``gonghui.middleware.ApiResidentIdMiddleware``, 400). ``POST …/search/`` takes the list's
filters in a JSON object body instead and answers exactly like the list (same page, same
fields); the page number stays a query parameter.
"""

from __future__ import annotations

from collections.abc import Mapping

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

SEARCH_ACTION = "search"


def body_filters(data) -> dict[str, str]:
    """The search body as filter data: a JSON object of plain values (each taken as its
    text, as a query parameter would be); anything else is a 400 naming what is wrong."""
    if not isinstance(data, Mapping):
        raise ValidationError({"non_field_errors": ['请求体须为JSON对象，如 {"q": "…"}']})
    nested = [name for name, value in data.items() if isinstance(value, list | dict)]
    if nested:
        raise ValidationError({name: ["须为单个值（文字、数字或日期）"] for name in nested})
    return {
        str(name): ""
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for name, value in data.items()
    }


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, reading the filters from the body of a ``search`` action."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        if getattr(view, "action", None) == SEARCH_ACTION:
            kwargs["data"] = body_filters(request.data)
        return kwargs


def search_schema(summary: str, serializer, errors: dict):
    return extend_schema(
        summary=summary,
        description=(
            "与列表相同的筛选条件放在请求体（JSON）中，返回与列表相同的分页结果；"
            "请求体的字段与列表的查询参数同名（q、status、program…）；"
            "按完整身份证号查询须用本接口（列表的 q 参数不接受完整身份证号）。"
            "页码仍用 page 查询参数。"
        ),
        filters=False,  # the filters are the body's fields, not query parameters
        request=OpenApiTypes.OBJECT,
        examples=[
            OpenApiExample("按身份证号", value={"q": "36040219860412731X"}, request_only=True)
        ],
        responses={200: serializer(many=True), **errors},
    )


class BodySearchMixin:
    """``POST …/search/``: the list, filtered by the body (see the module docstring)."""

    @action(detail=False, methods=["post"], url_path=SEARCH_ACTION)
    def search(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
