"""What every endpoint of the bank REST API shares.

One exception handler gives every error the shape
``{"code": ..., "message": <Chinese>, "fields": {field: [messages]}}`` whether it came from
a service (:class:`~gonghui.errors.DomainError`), DRF's validation, authentication,
routing or throttling. Pagination, the portal-user permission, the per-bank throttle and
the ``Idempotency-Key`` handling of POSTs live here too, so the viewsets stay thin.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.encoding import force_str
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.choices import Role
from accounts.scoping import profile_of, role_of
from gonghui.errors import DomainError

# --- errors ---------------------------------------------------------------------------------

# DomainError codes that are not a plain "your input is wrong" (400).
NOT_FOUND_CODES = frozenset({"not_found"})
FORBIDDEN_CODES = frozenset({"permission_denied"})
CONFLICT_CODES = frozenset(
    {
        "invalid_transition",
        "loan_already_active",
        "loan_closed",
        "application_closed",
        "active_loan_exists",
        "idempotency_in_progress",
    }
)
UNPROCESSABLE_CODES = frozenset({"idempotency_key_reused"})

# Chinese messages for DRF's own exceptions, by their default code.
DRF_MESSAGES = {
    "not_authenticated": "未提供身份认证信息，请在请求头中提供 Authorization: Token <令牌>",
    "authentication_failed": "身份认证失败：令牌无效或已过期",
    "permission_denied": "您无权执行该操作",
    "not_found": "资源不存在或不在您的管辖范围内",
    "method_not_allowed": "不支持该请求方法",
    "not_acceptable": "无法按请求的格式返回结果",
    "unsupported_media_type": "不支持的请求内容类型，请使用 application/json",
    "parse_error": "请求内容不是有效的 JSON",
    "throttled": "请求过于频繁，请稍后再试",
    "invalid": "请求内容有误",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def domain_error_status(error: DomainError) -> int:
    """The HTTP status of a service's refusal."""
    if error.code in NOT_FOUND_CODES:
        return status.HTTP_404_NOT_FOUND
    if error.code in FORBIDDEN_CODES:
        return status.HTTP_403_FORBIDDEN
    if error.code in CONFLICT_CODES:
        return status.HTTP_409_CONFLICT
    if error.code in UNPROCESSABLE_CODES:
        return status.HTTP_422_UNPROCESSABLE_ENTITY
    return status.HTTP_400_BAD_REQUEST


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as ``{"applicant.id_number": [messages]}``."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == api_settings.NON_FIELD_ERRORS_KEY else str(key)
            for field, messages in _flatten(value, f"{prefix}{name}.").items():
                fields.setdefault(field, []).extend(messages)
    elif (
        isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail)
    ):
        fields[prefix.rstrip(".") or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            for field, messages in _flatten(value, f"{prefix}{index}.").items():
                fields.setdefault(field, []).extend(messages)
    else:
        fields[prefix.rstrip(".") or "non_field_errors"] = [str(detail)]
    return fields


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def api_exception_handler(exc, context):
    """Every API error as ``{"code", "message", "fields"}`` with a Chinese message."""
    # Imported here: rest_framework.views reads the API settings, which name this module.
    from rest_framework.views import set_rollback

    headers = {}
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.as_dict(), status=domain_error_status(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "请求内容有误", _flatten(exc.detail))
    else:
        code = exc.default_code
        detail = str(exc.detail) if isinstance(exc.detail, str) else ""
        if detail.startswith("CSRF Failed"):
            message = "CSRF 校验失败：请刷新页面后重试，或使用令牌认证"
        elif detail != str(exc.default_detail) and _has_chinese(detail):
            message = detail  # a permission's own message, e.g. "只有合作银行信贷员……"
        else:
            message = DRF_MESSAGES.get(code, detail if _has_chinese(detail) else "")
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            message = f"{DRF_MESSAGES['throttled']}（约{int(exc.wait) + 1}秒后）"
        body = error_body(code, message or "请求失败")
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


class ErrorSerializer(serializers.Serializer):
    """The error body of every endpoint (for the OpenAPI document)."""

    code = serializers.CharField(help_text="机器可读的错误代码，如 validation_error、not_found")
    message = serializers.CharField(help_text="中文错误说明")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="各字段的中文错误信息",
    )


def error_responses(*codes: int) -> dict:
    """OpenAPI responses for the given error statuses, all with the error body."""
    labels = {
        400: "输入有误",
        401: "未认证",
        403: "无权操作",
        404: "不存在或不在管辖范围内",
        409: "状态冲突或同一幂等键的请求仍在处理",
        422: "幂等键已用于另一请求",
        429: "请求过于频繁",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=labels[code]) for code in codes}


# --- pagination, permissions, throttling ------------------------------------------------------


class StandardPagination(PageNumberPagination):
    """``?page=2&page_size=100``; at most 200 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 200


class IsPortalUser(BasePermission):
    """A signed-in user with a portal role (or a superuser)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and role_of(user) is not None)


class IsBankOfficer(BasePermission):
    message = "只有合作银行信贷员可以执行该操作"

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) == Role.BANK_OFFICER


class IsUnionStaff(BasePermission):
    message = "只有工会经办人可以执行该操作"

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) in (Role.COUNTY_STAFF, Role.CITY_STAFF)


class BankRateThrottle(SimpleRateThrottle):
    """Requests per bank (all its officers and tokens together), per user for staff and per
    IP address for anonymous callers. Rates are read at request time from
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``bank``, ``user``, ``anon``)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        profile = profile_of(request.user)
        if profile is not None and profile.bank_id is not None:
            self.scope, self.ident = "bank", f"bank-{profile.bank_id}"
        elif request.user and request.user.is_authenticated:
            self.scope, self.ident = "user", f"user-{request.user.pk}"
        else:
            self.scope, self.ident = "anon", f"anon-{self.get_ident(request)}"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


# --- idempotency ----------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "银行的每个写入数据的 POST 请求必填（1至255个字符；查询用的 search 不需要），"
        "在本行范围内唯一，至少保留24小时。"
        "相同的键和相同的请求内容返回首次的结果且不重复写入；键相同而内容不同返回422；"
        "首次请求仍在处理时返回409。"
    ),
)
IDEMPOTENCY_REPLAYED_HEADER = "Idempotent-Replayed"
# A request still "running" after this long died: gunicorn kills a request after 30 s (its
# default --timeout), and a database outage can leave the claim unreleased (its DELETE
# fails with the connection). The key is then released, so the bank's retry goes through.
RUNNING_TIMEOUT = timedelta(minutes=2)


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    text = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _claim_key(request, key: str):
    """Create the running record for ``key``, or return the stored response for it."""
    from django.utils import timezone

    from loans.models import IdempotencyRecord

    profile = profile_of(request.user)
    bank_id = profile.bank_id if profile is not None else None
    scope = {"bank_id": bank_id} if bank_id is not None else {"bank": None, "user": request.user}
    digest = _request_hash(request)
    now = timezone.now()
    # Records past their retention are dropped as the bank (or user) posts again.
    IdempotencyRecord.objects.filter(expires_at__lte=now, **scope).delete()
    hours = max(getattr(settings, "API_IDEMPOTENCY_HOURS", 24), 24)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    bank_id=bank_id,
                    user=request.user,
                    key=key,
                    request_hash=digest,
                    expires_at=now + timedelta(hours=hours),
                )
            return record, None
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(key=key, **scope).first()
            if existing is None:
                continue
            abandoned = (
                existing.state == IdempotencyRecord.State.RUNNING
                and existing.created_at < now - RUNNING_TIMEOUT
            )
            if existing.expires_at <= now or abandoned:
                existing.delete()
                continue
            if existing.request_hash != digest:
                raise DomainError(
                    "idempotency_key_reused",
                    "该幂等键已用于另一个请求，请为新的请求使用新的 Idempotency-Key",
                    field_errors={IDEMPOTENCY_HEADER: ["幂等键已用于内容不同的请求"]},
                ) from None
            if existing.state == IdempotencyRecord.State.RUNNING:
                raise DomainError(
                    "idempotency_in_progress", "使用该幂等键的请求仍在处理中，请稍后重试"
                ) from None
            replay = Response(existing.response_body, status=existing.response_status)
            replay[IDEMPOTENCY_REPLAYED_HEADER] = "true"
            return None, replay
    raise DomainError("idempotency_in_progress", "使用该幂等键的请求仍在处理中，请稍后重试")


def idempotent(view_method):
    """Make a POST handler idempotent under the ``Idempotency-Key`` header.

    Required for bank officers, optional for staff. The key is claimed before the handler
    runs (a unique constraint makes parallel duplicates claim it once); the handler's
    response is stored and replayed for a retry with the same body. A response of 409 or
    429, or an unexpected error, releases the key so the request can be retried.
    """

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not key:
            if role_of(request.user) == Role.BANK_OFFICER:
                raise DomainError.for_field(
                    IDEMPOTENCY_HEADER,
                    "idempotency_key_required",
                    "银行提交的 POST 请求须带 Idempotency-Key 请求头",
                )
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            raise DomainError.for_field(
                IDEMPOTENCY_HEADER, "idempotency_key_too_long", "Idempotency-Key 不能超过255个字符"
            )
        record, replay = _claim_key(request, key)
        if replay is not None:
            return replay
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:
            response = api_exception_handler(exc, {"view": self, "request": request})
            if response is None:
                record.delete()
                raise
        if response.status_code >= 500 or response.status_code in (409, 429):
            record.delete()
            return response
        body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        record.state = record.State.DONE
        record.response_status = response.status_code
        record.response_body = body
        record.save(update_fields=["state", "response_status", "response_body"])
        return response

    return wrapper


# --- shared serializer fields -----------------------------------------------------------------


class RateField(serializers.DecimalField):
    """A percent rate as a string with at least two places: "4.75", "5.80", "4.125"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 7)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        text = f"{value.normalize():f}"
        whole, _, places = text.partition(".")
        return f"{whole}.{places.ljust(2, '0')}"


class ChoiceLabelField(serializers.CharField):
    """The label of a choice column, as ``get_<name>_display()`` gives it ("已放款").

    Looked up in the choices directly: DRF would otherwise inspect the signature of the
    bound display method (a ``partialmethod``) on every row, the costliest field of a list.
    """

    def __init__(self, choices, **kwargs):
        self.labels = dict(choices)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return force_str(self.labels.get(value, value), strings_only=True)


def label_field(model, name: str) -> ChoiceLabelField:
    """The output label of ``model``'s choice column ``name`` (``status_label``)."""
    return ChoiceLabelField(model._meta.get_field(name).flatchoices, source=name)


def money_field(**kwargs) -> serializers.DecimalField:
    """An output amount in 元 as a string with two places ("300000.00")."""
    return serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True, **kwargs)


def rate_field(**kwargs) -> RateField:
    return RateField(read_only=True, **kwargs)


_DECIMAL_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)
_DECIMAL_MESSAGE = '须为十进制数字字符串，如 "300000.00"（不接受浮点数或科学计数法）'


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"})
class DecimalStringField(serializers.CharField):
    """An input amount or rate: a decimal string, validated by the service with Chinese
    messages (never a float)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # Plain decimals only: no floats, no exponent ("1e30"), no NaN or Infinity.
        if isinstance(data, bool | float | dict | list):
            raise serializers.ValidationError(_DECIMAL_MESSAGE)
        text = super().to_internal_value(data)
        if not _DECIMAL_RE.fullmatch(text):
            raise serializers.ValidationError(_DECIMAL_MESSAGE)
        return text


__all__ = [
    "IDEMPOTENCY_PARAMETER",
    "BankRateThrottle",
    "ChoiceLabelField",
    "DecimalStringField",
    "ErrorSerializer",
    "IsBankOfficer",
    "IsPortalUser",
    "IsUnionStaff",
    "RateField",
    "StandardPagination",
    "api_exception_handler",
    "error_responses",
    "idempotent",
    "label_field",
    "money_field",
    "rate_field",
]
