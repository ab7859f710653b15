"""A whole resident ID never travels in a bank API URL: ``?q=`` refuses it, and
``POST …/search/`` takes the list's filters in the body instead (issue 8, PIPL)."""

from datetime import date

import pytest

from loans.services.identity import make_resident_id
from tests.api.conftest import API, token_client
from tests.factories import ApplicantFactory, LoanFactory

pytestmark = pytest.mark.django_db

ID_A = make_resident_id(region="360402", birth=date(1986, 4, 12), sequence=731)
ID_B = make_resident_id(region="320311", birth=date(1991, 9, 30), sequence=452)


@pytest.fixture
def loans(bank, other_bank):
    """A loan of applicant A and one of B at the bank; one of A at another bank."""
    a, b = ApplicantFactory(id_number=ID_A), ApplicantFactory(id_number=ID_B)
    return {
        "a": LoanFactory(application__applicant=a, application__bank=bank, bank=bank),
        "b": LoanFactory(application__applicant=b, application__bank=bank, bank=bank),
        "elsewhere": LoanFactory(
            application__applicant=a, application__bank=other_bank, bank=other_bank
        ),
    }


ID_IN_URL = (
    "完整身份证号不得放在网址中：按身份证号查询请用 POST /api/v1/applications/search/ "
    "或 /api/v1/loans/search/，条件放在请求体中"
)


@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("get", "applications/", {"q": ID_A.lower()}),
        ("get", "loans/", {"q": ["zzzz", ID_A]}),  # any value, not only the last
        ("get", "subsidy-claims/", {"id_number": ID_A}),  # any parameter, any endpoint
        ("get", "units/", {"q": ID_B}),
        ("post", "loans/search/", {"q": ID_A}),  # the search's own URL too
    ],
)
def test_a_whole_id_in_an_api_url_is_refused(bank_user, loans, method, url, params):
    client = token_client(bank_user)
    if method == "get":
        response = client.get(f"{API}/{url}", params)
    else:
        response = client.post(f"{API}/{url}?q={params['q']}", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "id_in_url" and body["message"] == ID_IN_URL
    assert body["fields"] == {name: [ID_IN_URL] for name in params}


def test_the_last_four_digits_still_search_in_the_url(bank_user, loans):
    response = token_client(bank_user).get(f"{API}/loans/", {"q": ID_A[-4:]})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [loans["a"].pk]


@pytest.mark.parametrize(("path", "key"), [("applications", "application"), ("loans", "loan")])
def test_search_takes_the_whole_id_in_the_body(bank_user, loans, path, key):
    client = token_client(bank_user)
    response = client.post(f"{API}/{path}/search/", {"q": ID_A}, format="json")  # no key needed
    assert response.status_code == 200, response.json()
    body = response.json()
    expected = loans["a"].application.pk if key == "application" else loans["a"].pk
    assert body["count"] == 1 and [row["id"] for row in body["results"]] == [expected]
    # Same answer as the list: same fields for the same record.
    listed = client.get(f"{API}/{path}/").json()["results"]
    assert body["results"][0] == next(row for row in listed if row["id"] == expected)


def test_search_combines_filters_and_pages_like_the_list(bank_user, loans):
    client = token_client(bank_user)
    response = client.post(f"{API}/loans/search/?page_size=1", {"status": "active"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert body["next"].endswith("/api/v1/loans/search/?page=2&page_size=1")
    assert ID_A not in str(body) and ID_B not in str(body)  # masked in the output


def test_search_stays_within_the_banks_scope(other_bank_user, loans):
    response = token_client(other_bank_user).post(
        f"{API}/loans/search/", {"q": ID_B}, format="json"
    )
    assert response.status_code == 200 and response.json()["count"] == 0
    response = token_client(other_bank_user).post(
        f"{API}/loans/search/", {"q": ID_A}, format="json"
    )
    assert [row["id"] for row in response.json()["results"]] == [loans["elsewhere"].pk]


def test_a_bad_filter_in_the_body_is_a_400_with_the_field(bank_user, loans):
    response = token_client(bank_user).post(
        f"{API}/loans/search/", {"status": "nope", "program": "x"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "program"}


def test_search_needs_a_signed_in_client(client):
    assert client.post(f"{API}/loans/search/", {"q": ID_A}).status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([{"q": ID_A}], {"non_field_errors"}),  # not an object: never an unfiltered list
        ("q", {"non_field_errors"}),
        ({"q": [ID_A]}, {"q"}),
        ({"disbursed_from": {"y": 2020}}, {"disbursed_from"}),
    ],
)
def test_a_search_body_that_is_not_an_object_of_values_is_a_400(bank_user, loans, body, fields):
    response = token_client(bank_user).post(f"{API}/loans/search/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields


def test_search_takes_numbers_and_dates_as_their_text(bank_user, loans):
    program = loans["a"].application.program_id
    day = loans["a"].disbursed_on.isoformat()
    response = token_client(bank_user).post(
        f"{API}/loans/search/",
        {"program": program, "q": ID_A, "disbursed_from": day, "disbursed_to": day},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [loans["a"].pk]
    response = token_client(bank_user).post(
        f"{API}/loans/search/", {"disbursed_from": 20240101}, format="json"
    )
    assert response.status_code == 400 and "disbursed_from" in response.json()["fields"]
