"""Webhook endpoints (a bank's callback address, its deliveries, redelivery), the audit-trail
endpoint for staff, and ``audited``: the wrapper that records every API write.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import profile_of, restrict
from gonghui.api import (
    IDEMPOTENCY_PARAMETER,
    IsBankOfficer,
    IsPortalUser,
    IsUnionStaff,
    error_responses,
    idempotent,
)
from loans.models import ApiAuditEntry, Application, Bank, Loan, WebhookAttempt, WebhookDelivery
from loans.services import webhooks as webhook_services
from loans.services.identity import mask_mobile, mask_resident_id

logger = logging.getLogger(__name__)

READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)

# --- serializers ------------------------------------------------------------------------------


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=500,
        allow_blank=True,
        help_text="https:// 地址（本机测试可用 http://127.0.0.1）；空字符串表示停用回调",
    )
    rotate_secret = serializers.BooleanField(
        default=False, help_text="为 true 时生成新的签名密钥（旧密钥立即失效）"
    )

    def validate_url(self, value: str) -> str:
        value = value.strip()
        if value:
            error = webhook_services.url_error(value)
            if error:
                raise serializers.ValidationError(error)
        return value


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="回调地址；空字符串表示未登记")
    has_secret = serializers.BooleanField(help_text="是否已生成签名密钥")
    secret = serializers.CharField(
        required=False,
        help_text="签名密钥，仅在生成或更换时返回一次；"
        "签名为 X-Gonghui-Signature: sha256=<请求体的 HMAC-SHA256 十六进制>",
    )


def _webhook_body(bank: Bank, secret: str | None = None) -> dict:
    body = {"url": bank.webhook_url, "has_secret": bool(bank.webhook_secret)}
    if secret:
        body["secret"] = secret
    return body


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "succeeded", "status_code", "error", "retry_in_seconds"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    log = WebhookAttemptSerializer(many=True, read_only=True, help_text="每次尝试的结果")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "object_type",
            "object_id",
            "payload",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "log",
        ]
        read_only_fields = fields


class ApiAuditEntrySerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = ApiAuditEntry
        fields = [
            "id",
            "created_at",
            "user",
            "username",
            "bank",
            "unit",
            "method",
            "path",
            "object_type",
            "object_id",
            "changes",
            "response_status",
            "request_id",
        ]
        read_only_fields = fields


# --- views ------------------------------------------------------------------------------------


class WebhookView(APIView):
    """The calling bank's status-callback address (its own bank only)."""

    permission_classes = [IsPortalUser, IsBankOfficer]

    def _bank(self, request) -> Bank:
        return Bank.objects.get(pk=profile_of(request.user).bank_id)

    @extend_schema(summary="本行的状态回调设置", responses={200: WebhookSerializer, **READ_ERRORS})
    def get(self, request):
        return Response(_webhook_body(self._bank(request)))

    @extend_schema(
        summary="登记或修改本行的状态回调地址",
        description="首次登记或 rotate_secret 为 true 时生成签名密钥，只在本次响应中返回。",
        request=WebhookInputSerializer,
        responses={200: WebhookSerializer, **WRITE_ERRORS},
    )
    def put(self, request):
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            bank = Bank.objects.select_for_update().get(pk=profile_of(request.user).bank_id)
            secret = None
            if data["url"] and (data["rotate_secret"] or not bank.webhook_secret):
                secret = bank.webhook_secret = webhook_services.new_secret()
            bank.webhook_url = data["url"]
            bank.save(update_fields=["webhook_url", "webhook_secret"])
        return Response(_webhook_body(bank, secret))


@extend_schema_view(
    list=extend_schema(
        summary="本行的回调推送记录", responses={200: WebhookDeliverySerializer, **READ_ERRORS}
    ),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The calling bank's webhook deliveries, newest first, with each attempt's outcome."""

    serializer_class = WebhookDeliverySerializer
    permission_classes = [IsPortalUser, IsBankOfficer]
    filterset_fields = ["state", "event", "object_type", "object_id"]

    def get_queryset(self):
        queryset = WebhookDelivery.objects.prefetch_related("log").order_by("-id")
        return restrict(queryset, self.request.user)

    @extend_schema(
        summary="重新推送",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={202: WebhookDeliverySerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def redeliver(self, request, pk=None):
        delivery = webhook_services.redeliver(self.get_object())
        fresh = self.get_queryset().get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        summary="接口写操作审计记录（工会经办人）",
        parameters=[
            OpenApiParameter("object_type", OpenApiTypes.STR, description="如 application、loan"),
            OpenApiParameter("object_id", OpenApiTypes.INT),
        ],
        responses={200: ApiAuditEntrySerializer, **error_responses(400, 401, 403, 429)},
    ),
)
class ApiAuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """API writes, newest first: city staff see all, county staff their own unit's objects."""

    serializer_class = ApiAuditEntrySerializer
    permission_classes = [IsPortalUser, IsUnionStaff]
    filterset_fields = ["object_type", "object_id", "request_id"]

    def get_queryset(self):
        queryset = ApiAuditEntry.objects.select_related("user").order_by("-id")
        return restrict(queryset, self.request.user)


# --- the audit trail of API writes ------------------------------------------------------------

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REQUEST_ID_HEADER = "X-Request-ID"
SECRET_WORDS = ("secret", "password", "token", "key")
OBJECT_MODELS = {"application": Application, "loan": Loan}


# Personal data is kept masked in the audit trail (issue 8): never a clear ID or mobile.
PERSONAL_MASKS = {"id_number": mask_resident_id, "mobile": mask_mobile}


def _without_secrets(value):
    if isinstance(value, dict):
        return {k: _stored_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _stored_value(key: str, value):
    if any(w in key.lower() for w in SECRET_WORDS):
        return "***"
    if key in PERSONAL_MASKS and value is not None and not isinstance(value, dict | list):
        return PERSONAL_MASKS[key](str(value))
    return _without_secrets(value)


def _request_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {"_unparsed": True}
    return _without_secrets(data if isinstance(data, dict) else {"_body": data})


def _request_id(request) -> str:
    given = (request.headers.get(REQUEST_ID_HEADER) or "").strip()
    if given and len(given) <= 64 and given.isprintable():
        return given
    return str(uuid.uuid4())


def _write_entry(request, response, object_type: str, object_id, request_id: str, body) -> None:
    user = getattr(request, "user", None)
    user = user if user is not None and user.is_authenticated else None
    profile = profile_of(user)
    if object_id is None and response.status_code in (200, 201, 202):
        data = getattr(response, "data", None)
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            object_id = data["id"]
    unit_id = None
    model = OBJECT_MODELS.get(object_type)
    if model is not None and object_id is not None:
        unit_id = model.objects.filter(pk=object_id).values_list("unit_id", flat=True).first()
    ApiAuditEntry.objects.create(
        user=user,
        bank_id=profile.bank_id if profile is not None else None,
        unit_id=unit_id,
        method=request.method,
        path=request.path[:255],
        object_type=object_type,
        object_id=object_id,
        changes=body,
        response_status=response.status_code,
        request_id=request_id,
    )


def audited(view_func, object_type: str):
    """Wrap a URL's view: echo ``X-Request-ID`` and record every write in ApiAuditEntry.

    An audit failure is logged, never turned into a failed request.
    """

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        request_id = _request_id(request)
        write = request.method in AUDITED_METHODS
        body = _request_body(request) if write else None
        response = view_func(request, *args, **kwargs)
        response[REQUEST_ID_HEADER] = request_id
        if write:
            pk = kwargs.get("pk")
            object_id = int(pk) if pk is not None and str(pk).isdigit() else None
            try:
                _write_entry(request, response, object_type, object_id, request_id, body)
            except Exception:
                logger.exception("Could not write the API audit entry of %s", request_id)
        return response

    return wrapper
