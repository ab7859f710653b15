"""Status callbacks: registration, deliveries recorded with each status change, signing,
retries with back-off, redelivery and the bank scope. The network is faked by patching
``loans.services.webhooks.send``, except once against a local HTTP server thread."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from unittest import mock

import pytest

from loans.models import Application, WebhookDelivery
from loans.services import webhooks
from loans.services.applications import recommend_application
from loans.tasks import deliver_webhook, redeliver_pending
from tests.api.conftest import (
    API,
    APPROVAL,
    DISBURSEMENT,
    application_payload,
    post,
    session_client,
    token_client,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t" * 8
HOOK = "https://bank.example/hook"


@pytest.fixture
def hooked_bank(bank):
    bank.webhook_url, bank.webhook_secret = HOOK, SECRET
    bank.save()
    return bank


def _disbursed_loan(client, program, unit, county_user) -> int:
    response = post(client, f"{API}/applications/", application_payload(program, unit))
    assert response.status_code == 201, response.json()
    application = Application.objects.get(pk=response.json()["id"])
    recommend_application(application=application, user=county_user, opinion="同意推荐")
    response = post(client, f"{API}/applications/{application.pk}/decision/", APPROVAL)
    assert response.status_code == 200, response.json()
    response = post(client, f"{API}/loans/", {"application": application.pk, **DISBURSEMENT})
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _delivery(bank, **fields) -> WebhookDelivery:
    defaults = {"event": "loan.repaid", "object_type": "loan", "object_id": 7, "payload": {"a": 1}}
    return WebhookDelivery.objects.create(bank=bank, **{**defaults, **fields})


# --- registration -----------------------------------------------------------------------------


def test_registering_shows_the_secret_once_and_rotates_it(bank, bank_user):
    client = token_client(bank_user)
    response = client.put(f"{API}/webhook/", {"url": HOOK}, format="json")
    assert response.status_code == 200, response.json()
    secret = response.json()["secret"]
    assert len(secret) == 64
    bank.refresh_from_db()
    assert (bank.webhook_url, bank.webhook_secret) == (HOOK, secret)

    response = client.get(f"{API}/webhook/")
    assert response.json() == {"url": HOOK, "has_secret": True}
    response = client.put(f"{API}/webhook/", {"url": HOOK + "2"}, format="json")
    assert "secret" not in response.json()
    response = client.put(f"{API}/webhook/", {"url": HOOK, "rotate_secret": True}, format="json")
    assert response.json()["secret"] not in ("", secret)


@pytest.mark.parametrize(
    "url", ["ftp://bank.example/hook", "http://bank.example/hook", "http://localhost/x", "hook"]
)
def test_only_https_or_local_http_is_accepted(bank, bank_user, url):
    response = token_client(bank_user).put(f"{API}/webhook/", {"url": url}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == "请求内容有误"
    assert body["fields"]["url"] == [
        "回调地址须以 https:// 开头（仅本机测试可用 http://127.0.0.1）"
    ]
    bank.refresh_from_db()
    assert bank.webhook_url == ""


def test_local_http_is_accepted_and_staff_cannot_register(bank_user, county_user):
    url = "http://127.0.0.1:8080/hook"
    response = token_client(bank_user).put(f"{API}/webhook/", {"url": url}, format="json")
    assert response.status_code == 200
    response = session_client(county_user).put(f"{API}/webhook/", {"url": HOOK}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# --- recording --------------------------------------------------------------------------------


def test_each_status_change_records_a_delivery(hooked_bank, bank_user, program, unit, county_user):
    client = token_client(bank_user)
    loan_id = _disbursed_loan(client, program, unit, county_user)
    response = post(
        client,
        f"{API}/loans/{loan_id}/repayment/",
        {"repaid_on": "2020-12-01", "principal_amount": "300000.00", "interest_amount": "0.00"},
    )
    assert response.status_code == 201, response.json()

    rows = list(WebhookDelivery.objects.order_by("id"))
    statuses = [(r.event, r.payload["data"]["status"]) for r in rows]
    assert ("application.status_changed", "recommended") in statuses
    assert ("application.status_changed", "bank_approved") in statuses
    assert ("application.status_changed", "disbursed") in statuses
    assert statuses[-2:] == [("loan.disbursed", "active"), ("loan.repaid", "repaid")]
    assert all(r.bank_id == hooked_bank.pk and r.state == "pending" for r in rows)
    assert rows[-1].payload["object_id"] == loan_id


def test_no_delivery_without_a_webhook_url(bank, bank_user, program, unit, county_user):
    _disbursed_loan(token_client(bank_user), program, unit, county_user)
    assert not WebhookDelivery.objects.exists()


def test_delivery_is_queued_after_the_commit(hooked_bank, django_capture_on_commit_callbacks):
    loan = SimpleNamespace(
        pk=3,
        bank_id=hooked_bank.pk,
        unit_id=None,
        status="repaid",
        application_id=1,
        contract_number="C-1",
        settled_on=None,
    )
    with (
        mock.patch("loans.tasks.deliver_webhook.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        delivery = webhooks.notify_loan(loan, "repaid")
        delay.assert_not_called()
    delay.assert_called_once_with(delivery.pk)
    assert delivery.payload["data"]["contract_number"] == "C-1"


def test_an_unreachable_broker_leaves_the_delivery_pending(hooked_bank):
    delivery = _delivery(hooked_bank)
    with mock.patch("loans.tasks.deliver_webhook.delay", side_effect=OSError("no broker")):
        assert webhooks.enqueue(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    with mock.patch("loans.services.webhooks.enqueue") as enqueue:
        assert redeliver_pending() == 0  # not yet stale
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            created_at=delivery.created_at.replace(year=2020)
        )
        assert redeliver_pending() == 1
    enqueue.assert_called_once_with(delivery.pk)


# --- sending ----------------------------------------------------------------------------------


def test_delivery_is_signed_and_logged(hooked_bank):
    delivery = _delivery(hooked_bank, payload={"event": "loan.repaid", "object_id": 7})
    with mock.patch("loans.services.webhooks.send", return_value=204) as send:
        assert deliver_webhook(delivery.pk) == "done"
        assert deliver_webhook(delivery.pk) == "done"  # already delivered: nothing sent
    send.assert_called_once()
    url, body, headers = send.call_args.args
    assert url == HOOK
    assert json.loads(body) == delivery.payload
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Gonghui-Signature"] == f"sha256={expected}"
    assert headers["X-Gonghui-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None
    assert [(a.succeeded, a.status_code) for a in delivery.log.all()] == [(True, 204)]
    assert deliver_webhook(delivery.pk + 1000) == "done"  # gone: quietly nothing


def test_failures_are_retried_with_back_off_then_given_up(hooked_bank, monkeypatch):
    delivery = _delivery(hooked_bank)
    monkeypatch.setattr("loans.tasks.runs_eagerly", lambda: False)
    outcomes = [OSError("connection refused"), 500, 502, TimeoutError("timed out"), 503, 500]
    with (
        mock.patch("loans.services.webhooks.send", side_effect=outcomes),
        mock.patch("loans.services.webhooks.enqueue") as enqueue,
    ):
        for _ in range(webhooks.MAX_ATTEMPTS + 1):
            deliver_webhook(delivery.pk)
    assert [c.kwargs["countdown"] for c in enqueue.call_args_list] == [60, 120, 240, 480, 960]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
    log = list(delivery.log.all())
    assert [a.retry_in_seconds for a in log] == [60, 120, 240, 480, 960, None]
    assert log[0].error == "OSError: connection refused" and log[0].status_code is None
    assert not any(a.succeeded for a in log)


def test_eager_mode_leaves_the_retry_to_the_sweep(hooked_bank, monkeypatch):
    delivery = _delivery(hooked_bank)
    monkeypatch.setattr("loans.tasks.runs_eagerly", lambda: True)
    with (
        mock.patch("loans.services.webhooks.send", return_value=500),
        mock.patch("loans.services.webhooks.enqueue") as enqueue,
    ):
        assert deliver_webhook(delivery.pk) == "retry in 60s"
    enqueue.assert_not_called()
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at is not None


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_real_local_server_receives_a_verifiable_signature(hooked_bank):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hooked_bank.webhook_url = f"http://127.0.0.1:{server.server_port}/hook"
        hooked_bank.save()
        delivery = _delivery(hooked_bank, payload={"event": "loan.repaid", "名称": "还清"})
        assert deliver_webhook(delivery.pk) == "done"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    ((headers, body),) = _Receiver.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Gonghui-Signature"], f"sha256={expected}")
    assert headers["X-Gonghui-Delivery"] == str(delivery.pk)
    assert json.loads(body) == {"event": "loan.repaid", "名称": "还清"}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == ("delivered", 204)


# --- the deliveries endpoints -----------------------------------------------------------------


def test_bank_lists_only_its_own_deliveries(hooked_bank, other_bank, bank_user, other_bank_user):
    own = _delivery(hooked_bank)
    _delivery(other_bank)
    response = token_client(bank_user).get(f"{API}/webhook/deliveries/")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [own.pk]
    assert body["count"] == 1

    other = token_client(other_bank_user)
    response = post(other, f"{API}/webhook/deliveries/{own.pk}/redeliver/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_redelivery_starts_a_new_round(hooked_bank, bank_user, django_capture_on_commit_callbacks):
    delivery = _delivery(hooked_bank)
    with mock.patch("loans.services.webhooks.send", return_value=200):
        deliver_webhook(delivery.pk)
    client = token_client(bank_user)
    url = f"{API}/webhook/deliveries/{delivery.pk}/redeliver/"
    response = post(client, url, key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]

    with (
        mock.patch("loans.tasks.deliver_webhook.delay", side_effect=deliver_webhook) as delay,
        mock.patch("loans.services.webhooks.send", return_value=200) as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post(client, url, key="redeliver-1")
        assert response.status_code == 202, response.json()
        assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
        replay = post(client, url, key="redeliver-1")
        assert replay.headers["Idempotent-Replayed"] == "true"
    delay.assert_called_once_with(delivery.pk)
    send.assert_called_once()
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.log.count() == 2
