"""Status callbacks to banks: record a delivery with the status change, send it after the
commit, sign it, record each attempt and schedule the retries.

``send`` is the only function that touches the network (tests replace it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loans.models import Bank, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gonghui-Signature"
DELIVERY_HEADER = "X-Gonghui-Delivery"
TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 6  # the first attempt and five retries
BACKOFF_BASE_SECONDS = 60  # 1, 2, 4, 8, 16 minutes
LOCAL_HOSTS = frozenset({"127.0.0.1"})


def url_error(url: str) -> str | None:
    """Why the URL cannot be a webhook address (Chinese), or None if it can."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "回调地址格式无效"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return None
    return "回调地址须以 https:// 开头（仅本机测试可用 http://127.0.0.1）"


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempt: int) -> int:
    """The wait after the ``attempt``-th failed attempt (1-based): 60, 120, 240, …"""
    return BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)


# --- recording (inside the status change's transaction) ---------------------------------------


def _delivery(*, bank, unit_id, event: str, object_type: str, object_id: int, data: dict):
    """An unsaved delivery of one callback to a bank that has a callback address."""
    payload = {
        "event": event,
        "object_type": object_type,
        "object_id": object_id,
        "occurred_at": timezone.now(),
        "data": data,
    }
    return WebhookDelivery(
        bank=bank,
        unit_id=unit_id,
        event=event,
        object_type=object_type,
        object_id=object_id,
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
    )


def _record(*, bank_id, unit_id, event: str, object_type: str, object_id: int, data: dict):
    if bank_id is None:
        return None
    bank = Bank.objects.filter(pk=bank_id).exclude(webhook_url="").first()
    if bank is None:
        return None
    delivery = _delivery(
        bank=bank,
        unit_id=unit_id,
        event=event,
        object_type=object_type,
        object_id=object_id,
        data=data,
    )
    delivery.save()
    transaction.on_commit(lambda: enqueue(delivery.pk))
    return delivery


def _application_event_data(event) -> dict:
    return {
        "action": event.action,
        "from_status": event.from_status,
        "status": event.to_status,
        "note": event.note,
    }


def _loan_data(loan) -> dict:
    return {
        "status": loan.status,
        "application": loan.application_id,
        "contract_number": loan.contract_number,
        "settled_on": loan.settled_on,
    }


def notify_disbursed_in_bulk(pairs) -> list[WebhookDelivery]:
    """The callbacks of many disbursements at once, (ApplicationEvent, Loan) pairs: the
    same two deliveries per loan as ``apply_transition`` and ``notify_loan`` record, in two
    queries whatever the number of loans (the bulk import)."""
    pairs = list(pairs)
    bank_ids = {loan.bank_id for _, loan in pairs}
    banks = {b.pk: b for b in Bank.objects.filter(pk__in=bank_ids).exclude(webhook_url="")}
    deliveries = []
    for event, loan in pairs:
        bank = banks.get(loan.bank_id)
        if bank is None:
            continue
        deliveries.append(
            _delivery(
                bank=bank,
                unit_id=loan.unit_id,
                event="application.status_changed",
                object_type="application",
                object_id=event.application_id,
                data=_application_event_data(event),
            )
        )
        deliveries.append(
            _delivery(
                bank=bank,
                unit_id=loan.unit_id,
                event="loan.disbursed",
                object_type="loan",
                object_id=loan.pk,
                data=_loan_data(loan),
            )
        )
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [enqueue(pk) for pk in ids])
    return deliveries


def notify_application_event(event) -> WebhookDelivery | None:
    """Record the callback of an application's status change (an ApplicationEvent)."""
    if not event.to_status:
        return None
    application = event.application
    return _record(
        bank_id=application.bank_id,
        unit_id=application.unit_id,
        event="application.status_changed",
        object_type="application",
        object_id=application.pk,
        data=_application_event_data(event),
    )


def notify_loan(loan, event: str) -> WebhookDelivery | None:
    """Record the callback of a loan's status change: disbursed, repaid or renewed."""
    return _record(
        bank_id=loan.bank_id,
        unit_id=loan.unit_id,
        event=f"loan.{event}",
        object_type="loan",
        object_id=loan.pk,
        data=_loan_data(loan),
    )


# --- sending (in the Celery task) -------------------------------------------------------------


def enqueue(delivery_id: int, *, countdown: int | None = None) -> bool:
    """Queue the delivery task; if the broker cannot take it, log and leave it pending for
    ``loans.tasks.redeliver_pending``."""
    from loans.tasks import deliver_webhook

    try:
        if countdown is None:
            deliver_webhook.delay(delivery_id)
        else:
            deliver_webhook.apply_async((delivery_id,), countdown=countdown, retry=False)
    except Exception:
        logger.exception("Could not queue webhook delivery %s; left pending", delivery_id)
        return False
    return True


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (3xx, not delivered), never followed to another address."""

    def redirect_request(self, *args, **kwargs):
        return None


def send(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url``; the response status, or an exception. The network edge."""
    handlers = [_NoRedirects()]
    if urlsplit(url).hostname in LOCAL_HOSTS:
        handlers.append(urllib.request.ProxyHandler({}))  # never through a proxy
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def attempt_delivery(delivery_id: int) -> int | None:
    """Make one attempt; the seconds to wait before the next one, or None when done.

    Quietly does nothing for a delivery that is gone, delivered or given up.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("bank")
            .filter(pk=delivery_id, state=WebhookDelivery.State.PENDING)
            .first()
        )
        if delivery is None:
            return None
        bank = delivery.bank
        body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gonghui-webhooks/1",
            SIGNATURE_HEADER: sign(body, bank.webhook_secret),
            DELIVERY_HEADER: str(delivery.pk),
        }
        status_code, error = None, ""
        if not bank.webhook_url:
            error = "银行未登记回调地址"
        else:
            try:
                status_code = send(bank.webhook_url, body, headers)
            except Exception as exc:  # timeouts, refused connections, DNS, TLS …
                error = f"{type(exc).__name__}: {exc}"[:1000]
        succeeded = status_code is not None and 200 <= status_code < 300
        if status_code is not None and not succeeded:
            error = f"HTTP {status_code}"
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = "" if succeeded else error
        retry_in = None
        if succeeded:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                WebhookDelivery.State.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = WebhookDelivery.State.FAILED, None
        else:
            retry_in = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=retry_in)
        delivery.save()
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=status_code,
            error=delivery.last_error,
            succeeded=succeeded,
            retry_in_seconds=retry_in,
        )
    logger.info(
        "Webhook delivery %s attempt %s: %s",
        delivery_id,
        delivery.attempts,
        "delivered" if succeeded else error,
    )
    return retry_in


@transaction.atomic
def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Start a new round of attempts for a delivery (delivered, failed or pending)."""
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    locked.state = WebhookDelivery.State.PENDING
    locked.attempts = 0
    locked.delivered_at = None
    locked.next_attempt_at = timezone.now()
    locked.save()
    transaction.on_commit(lambda: enqueue(locked.pk))
    return locked


def pending_due(now=None):
    """Pending deliveries whose next attempt is due (or that were never queued)."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=5)
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=stale)
    return WebhookDelivery.objects.filter(due, state=WebhookDelivery.State.PENDING)
