"""Idempotency-Key: a retry replays the first response; another body is 422; a request
still running is 409; keys are scoped to the bank."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loans.models import Application, IdempotencyRecord
from tests.api.conftest import API, application_payload, post, token_client
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_same_key_and_body_replays_the_first_response(bank_user, program, unit):
    client = token_client(bank_user)
    payload = application_payload(program, unit)
    first = post(client, f"{API}/applications/", payload, key="ref-001")
    again = post(client, f"{API}/applications/", payload, key="ref-001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Application.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.bank_id == bank_user.profile.bank_id
    assert record.expires_at >= record.created_at + timedelta(hours=24, seconds=-1)


def test_another_officer_of_the_same_bank_shares_the_key(bank_user, bank, program, unit):
    colleague = make_user("bank_officer", bank=bank, username="colleague")
    payload = application_payload(program, unit)
    first = post(token_client(bank_user), f"{API}/applications/", payload, key="shared")
    again = post(token_client(colleague), f"{API}/applications/", payload, key="shared")
    assert again.json() == first.json()
    assert Application.objects.count() == 1


def test_same_key_with_another_body_is_unprocessable(bank_user, program, unit):
    client = token_client(bank_user)
    assert (
        post(
            client, f"{API}/applications/", application_payload(program, unit), key="k"
        ).status_code
        == 201
    )
    response = post(client, f"{API}/applications/", application_payload(program, unit), key="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Application.objects.count() == 1


def test_key_of_a_request_still_running_is_a_conflict(bank_user, program, unit):
    client = token_client(bank_user)
    payload = application_payload(program, unit)
    post(client, f"{API}/applications/", payload, key="slow")
    IdempotencyRecord.objects.update(state=IdempotencyRecord.State.RUNNING, response_body=None)
    response = post(client, f"{API}/applications/", payload, key="slow")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert Application.objects.count() == 1


def test_keys_are_scoped_to_the_bank(bank_user, other_bank_user, program, unit):
    a = post(
        token_client(bank_user),
        f"{API}/applications/",
        application_payload(program, unit),
        key="same",
    )
    b = post(
        token_client(other_bank_user),
        f"{API}/applications/",
        application_payload(program, unit),
        key="same",
    )
    assert (a.status_code, b.status_code) == (201, 201)
    assert Application.objects.count() == 2


def test_an_expired_key_can_be_used_again(bank_user, program, unit):
    client = token_client(bank_user)
    payload = application_payload(program, unit)
    post(client, f"{API}/applications/", payload, key="old")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, f"{API}/applications/", application_payload(program, unit), key="old")
    assert response.status_code == 201
    assert Application.objects.count() == 2


def test_a_refused_request_is_replayed_too(bank_user, program, unit):
    client = token_client(bank_user)
    payload = application_payload(program, unit, amount="-1")
    first = post(client, f"{API}/applications/", payload, key="bad")
    again = post(client, f"{API}/applications/", payload, key="bad")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_a_key_left_running_by_a_dead_worker_is_released(bank_user, program, unit):
    client = token_client(bank_user)
    payload = application_payload(program, unit)
    post(client, f"{API}/applications/", payload, key="dead")
    Application.objects.all().delete()
    IdempotencyRecord.objects.update(
        state=IdempotencyRecord.State.RUNNING, response_body=None, response_status=None
    )
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(seconds=100))
    response = post(client, f"{API}/applications/", payload, key="dead")
    assert response.status_code == 409  # may still be running (gunicorn allows 30 s)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(seconds=130))
    response = post(client, f"{API}/applications/", payload, key="dead")
    assert response.status_code == 201
    assert Application.objects.count() == 1
