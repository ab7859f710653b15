"""The subsidy admin: every page opens, nothing can be added, changed or deleted there, and
the changelists do not grow queries with rows."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from subsidies.models import AllocationResult, PaymentBatch, SubsidyClaim
from subsidies.services.allocation import freeze_allocation
from subsidies.services.batches import approve_batch, create_batch
from subsidies.services.claims import create_claim_for_loan
from tests.factories import QuotaFactory

pytestmark = pytest.mark.django_db

MODELS = (SubsidyClaim, PaymentBatch, AllocationResult)


def _url(model, view, *args):
    return reverse(f"admin:subsidies_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def records(make_loan, program, unit, city_user, other_city_user):
    QuotaFactory(program=program, unit=unit)
    claims = [create_claim_for_loan(loan=make_loan(), as_of=date(2021, 8, 1)) for _ in range(2)]
    batch = create_batch(program=program, claim_ids=[claims[0].pk], user=city_user)
    approve_batch(batch=batch, user=other_city_user)
    freeze_allocation(program=program, user=city_user)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pages_open_read_only(admin_client, records, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_claim_changelist_queries_do_not_grow_with_rows(admin_client, records, make_loan):
    url = _url(SubsidyClaim, "changelist")
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for _ in range(5):
        create_claim_for_loan(loan=make_loan(), as_of=date(2021, 8, 1))
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 7
    assert len(many) == len(few)


def test_pages_show_chinese_labels(admin_client, records):
    html = admin_client.get(_url(SubsidyClaim, "changelist")).content.decode()
    assert "贴息申请" in html and "借款人" in html and "补贴合计" in html
