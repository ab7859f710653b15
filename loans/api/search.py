"""Searching the bank API's lists without putting a resident ID in a URL.

A URL is written down by every proxy and access log on its way (gunicorn's included), so a
whole resident ID must never be a query parameter. The lists therefore refuse ``?q=`` with a
whole ID (400, pointing here), and take the same filters in the body of
``POST …/search/`` instead, answered exactly like the list (same page, same fields).
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from loans.filters import whole_resident_id

SEARCH_ACTION = "search"
ID_IN_URL_MESSAGE = "完整身份证号不得放在网址中：请用 POST {path}search/ 在请求体中查询"


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, reading the filters from the body of a ``search`` action
    and refusing a whole resident ID in the query string of any other list."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        if getattr(view, "action", None) == SEARCH_ACTION:
            kwargs["data"] = request.data if hasattr(request.data, "get") else {}
        elif whole_resident_id(request.query_params.get("q")) is not None:
            path = request.path.split("?")[0]
            raise ValidationError({"q": [ID_IN_URL_MESSAGE.format(path=path)]})
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
