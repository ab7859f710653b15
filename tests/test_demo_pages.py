"""With the demo data loaded, the busiest pages answer in a constant number of queries."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

# The application list: session, user, profile, count, page, filter choices (program, unit,
# bank) and the scope's unit list; a fixed budget, whatever the page size.
LIST_QUERY_BUDGET = 12


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def queries_for(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("username", ["city", "county"])
def test_application_list_answers_in_constant_queries_with_demo_data(
    client, demo, username, django_assert_max_num_queries
):
    client.force_login(get_user_model().objects.get(username=username))
    url = reverse("loans:application-list")
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        client.get(url, {"page_size": 20})
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        client.get(url, {"page_size": 100})
    assert queries_for(client, url, {"page_size": 20}) == queries_for(
        client, url, {"page_size": 100}
    )


DASHBOARD_QUERY_BUDGET = 20


@pytest.mark.parametrize("username", ["manager", "county"])
def test_dashboard_answers_in_constant_queries_with_demo_data(
    client, demo, username, django_assert_max_num_queries
):
    client.force_login(get_user_model().objects.get(username=username))
    url = reverse("reports:dashboard")
    for program in ("jgd-2020", "ghd-2022", "all"):
        with django_assert_max_num_queries(DASHBOARD_QUERY_BUDGET):
            response = client.get(url, {"program": program})
        assert response.status_code == 200
    assert queries_for(client, url, {"program": "jgd-2020"}) == queries_for(
        client, url, {"program": "ghd-2022"}
    )
