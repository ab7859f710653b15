"""Every error has the same JSON shape, a machine code and Chinese messages; bad input is
never a 500."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.models import Application
from tests.api.conftest import API, APPROVAL, application_payload, post, token_client
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert _is_chinese(body["message"]), body
    for messages in body["fields"].values():
        assert all(_is_chinese(m) for m in messages), body
    return body


@pytest.fixture
def client(bank_user):
    return token_client(bank_user)


@pytest.mark.parametrize("amount", ["abc", "-5", "0", "12.345", "1e30", 300000.5, True, None, []])
def test_bad_amount_is_a_field_message(client, program, unit, amount):
    payload = application_payload(program, unit, amount=amount)
    body = assert_error(post(client, f"{API}/applications/", payload), 400, "validation_error")
    assert "amount" in body["fields"]
    assert not Application.objects.exists()


def test_bad_resident_id_and_credit_code_are_nested_field_messages(client, program, unit):
    payload = application_payload(program, unit)
    payload["applicant"]["id_number"] = "36040219880301123X"
    body = assert_error(post(client, f"{API}/applications/", payload), 400, "validation_error")
    assert "applicant.id_number" in body["fields"]
    payload = application_payload(program, unit)
    payload["enterprise"]["credit_code"] = "91360400MB0000000"
    body = assert_error(post(client, f"{API}/applications/", payload), 400, "validation_error")
    assert "enterprise.credit_code" in body["fields"]
    payload = application_payload(program, unit)
    del payload["applicant"]["name"]
    body = assert_error(post(client, f"{API}/applications/", payload), 400, "validation_error")
    assert "applicant.name" in body["fields"]
    assert not Application.objects.exists()


def test_rate_above_offline_cap_is_rejected(client, program, unit, bank):
    application = ApplicationFactory(
        program=program,
        unit=unit,
        bank=bank,
        channel=C.BANK_REFERRAL,
        status=S.RECOMMENDED,
        amount=Decimal("300000.00"),
    )
    response = post(
        client,
        f"{API}/applications/{application.pk}/decision/",
        {**APPROVAL, "annual_rate": "5.81"},
    )
    body = assert_error(response, 400, "validation_error")
    assert "5.8" in body["fields"]["annual_rate"][0]
    application.refresh_from_db()
    assert application.status == S.RECOMMENDED


def test_other_banks_application_is_not_found(client, program, unit, other_bank):
    application = ApplicationFactory(
        program=program, unit=unit, bank=other_bank, status=S.RECOMMENDED
    )
    assert_error(client.get(f"{API}/applications/{application.pk}/"), 404, "not_found")
    response = post(client, f"{API}/applications/{application.pk}/decision/", APPROVAL)
    assert_error(response, 404, "not_found")
    assert_error(client.get(f"{API}/applications/999999/"), 404, "not_found")


def test_anonymous_is_unauthenticated_with_the_token_scheme():
    response = APIClient().get(f"{API}/applications/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_and_expired_tokens_are_refused(bank_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "x" * 64)
    assert_error(client.get(f"{API}/loans/"), 401, "authentication_failed")
    token, key = AuthToken.objects.create(user=bank_user)
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_error(client.get(f"{API}/loans/"), 401, "authentication_failed")


def test_tokens_are_stored_hashed(bank_user):
    token, key = AuthToken.objects.create(user=bank_user)
    assert key not in token.digest
    assert token.expiry is not None


def test_method_media_type_and_json_errors(client, program, unit):
    assert_error(client.delete(f"{API}/applications/1/"), 405, "method_not_allowed")
    response = client.post(
        f"{API}/applications/",
        "{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert_error(response, 400, "parse_error")
    response = client.post(
        f"{API}/applications/", {"amount": "1"}, format="multipart", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert_error(response, 415, "unsupported_media_type")
    response = post(client, f"{API}/applications/", ["a", "list"])
    assert_error(response, 400, "validation_error")


def test_bad_filters_and_pages(client):
    assert_error(client.get(f"{API}/applications/?status=bogus"), 400, "validation_error")
    assert_error(client.get(f"{API}/loans/?program=abc"), 400, "validation_error")
    assert_error(client.get(f"{API}/subsidy-claims/?end_from=2020-13-01"), 400, "validation_error")
    assert_error(client.get(f"{API}/applications/?page=99"), 404, "not_found")


def test_missing_idempotency_key_is_refused(client, program, unit):
    response = post(client, f"{API}/applications/", application_payload(program, unit), key=None)
    body = assert_error(response, 400, "idempotency_key_required")
    assert "Idempotency-Key" in body["fields"]
    assert not Application.objects.exists()


def test_staff_cannot_act_as_a_bank(county_user, program, unit):
    client = APIClient()
    client.force_login(county_user)
    response = post(client, f"{API}/applications/", application_payload(program, unit))
    assert_error(response, 403, "permission_denied")


def test_requests_are_throttled_per_bank(bank_user, other_bank_user):
    rates = {"bank": "2/min", "user": "100/min", "anon": "100/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        first, second = token_client(bank_user), token_client(bank_user)
        assert first.get(f"{API}/programs/").status_code == 200
        assert second.get(f"{API}/programs/").status_code == 200
        response = first.get(f"{API}/programs/")
        assert_error(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0
        # Another bank has its own budget.
        assert token_client(other_bank_user).get(f"{API}/programs/").status_code == 200


def test_money_and_dates_render_as_strings(client, program):
    body = client.get(f"{API}/programs/{program.pk}/").json()
    assert body["limit_general"] == "300000.00"
    assert body["rate_cap_online"] == "4.75"
    assert body["rate_cap_offline"] == "5.80"
    assert body["disburse_deadline"] == date(2020, 7, 30).isoformat()


def test_session_writes_need_the_csrf_token(county_user, program, unit):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(county_user)
    response = client.post(f"{API}/applications/1/consent/", {"consent": True}, format="json")
    assert_error(response, 403, "permission_denied")


def test_permission_messages_say_who_may_act(county_user, program, unit):
    client = APIClient()
    client.force_login(county_user)
    response = post(client, f"{API}/applications/", application_payload(program, unit))
    assert assert_error(response, 403, "permission_denied")["message"] == (
        "只有合作银行信贷员可以执行该操作"
    )
