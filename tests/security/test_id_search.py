"""A whole resident ID typed into a list search never reaches a URL, a log line or the stored
params of an export job (issue 8): the lists swap it for ``idh``, its keyed hash."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from html import unescape

import pytest
from django.urls import reverse

from gonghui.pii import keyed_hash
from loans.services.identity import make_resident_id
from reports.models import ExportJob
from tests.factories import ApplicantFactory, ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db

ID_A = make_resident_id(region="360402", birth=date(1988, 3, 21), sequence=57)
ID_B = make_resident_id(region="360402", birth=date(1990, 7, 2), sequence=58)
APPLICATIONS = reverse("loans:application-list")
LOANS = reverse("loans:loan-list")


def id_forms(id_number: str) -> tuple[str, ...]:
    """The ID as typed (upper or lower x) and as a URL would encode it."""
    return id_number, id_number.lower(), id_number[:-1]


def assert_no_id(text: str, id_number: str = ID_A) -> None:
    for form in id_forms(id_number):
        assert form not in text, form


def access_log(response) -> list[str]:
    """What an access log (gunicorn's, a proxy's) records: each request line's path and query."""
    lines = [f"{url}" for url, _ in response.redirect_chain]
    lines.append(f"{response.request['PATH_INFO']}?{response.request.get('QUERY_STRING', '')}")
    return lines


def hidden_inputs(html: str, form_id: str) -> dict[str, str]:
    form = html.split(f'id="{form_id}"')[1].split("</form>")[0]
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
        if name != "csrfmiddlewaretoken"
    }


@pytest.fixture
def people(program, unit):
    mine = ApplicationFactory(
        program=program, unit=unit, applicant=ApplicantFactory(id_number=ID_A, name="周一")
    )
    other = ApplicationFactory(
        program=program, unit=unit, applicant=ApplicantFactory(id_number=ID_B, name="吴二")
    )
    return mine, other


def test_a_whole_id_posted_to_the_application_list_is_redirected_as_its_hash(
    client, city_user, people, caplog
):
    mine, _ = people
    client.force_login(city_user)
    caplog.set_level(logging.DEBUG)

    response = client.post(
        APPLICATIONS, {"q": f" {ID_A.lower()} ", "status": "", "sort": "amount"}, follow=True
    )

    (target, status), *_ = response.redirect_chain
    assert status == 303
    assert target == f"{APPLICATIONS}?sort=amount&idh={keyed_hash(ID_A)}"
    assert [a.pk for a in response.context["page"]] == [mine.pk]
    body = response.content.decode()
    assert_no_id(body)
    assert f'name="idh" value="{keyed_hash(ID_A)}" checked' in body
    for line in access_log(response):
        assert_no_id(line)
    assert_no_id(caplog.text)


def test_a_whole_id_in_a_get_url_is_redirected_too_with_the_other_filters(
    client, county_user, program, unit
):
    loan = LoanFactory(
        application__program=program,
        application__unit=unit,
        application__applicant=ApplicantFactory(id_number=ID_A),
    )
    LoanFactory(
        application__program=program,
        application__unit=unit,
        application__applicant=ApplicantFactory(id_number=ID_B),
    )
    client.force_login(county_user)

    response = client.get(LOANS, {"q": ID_A, "status": "active", "page": "1"})

    assert response.status_code == 303
    location = response["Location"]
    assert_no_id(location)
    assert f"idh={keyed_hash(ID_A)}" in location and "status=active" in location
    page = client.get(location)
    assert [x.pk for x in page.context["page"]] == [loan.pk]
    assert_no_id(page.content.decode())


def test_names_and_id_tails_are_searched_as_before_through_the_same_redirect(
    client, city_user, people
):
    mine, _ = people
    client.force_login(city_user)

    by_tail = client.post(APPLICATIONS, {"q": ID_A[-4:]}, follow=True)
    by_name = client.post(APPLICATIONS, {"q": "周一"}, follow=True)

    assert by_tail.redirect_chain[0][0] == f"{APPLICATIONS}?q={ID_A[-4:]}"
    assert [a.pk for a in by_tail.context["page"]] == [mine.pk]
    assert [a.pk for a in by_name.context["page"]] == [mine.pk]


def test_unticking_the_id_filter_or_searching_anew_drops_it(client, city_user, people):
    client.force_login(city_user)
    token = keyed_hash(ID_A)

    unticked = client.post(APPLICATIONS, {"q": "", "status": ""}, follow=True)
    replaced = client.post(APPLICATIONS, {"q": "吴二", "idh": token}, follow=True)

    assert len(unticked.context["page"]) == 2
    assert [a.applicant.name for a in replaced.context["page"]] == ["吴二"]
    assert "idh" not in replaced.redirect_chain[0][0]


def test_a_forged_hash_finds_nothing_and_breaks_nothing(client, city_user, people):
    client.force_login(city_user)

    for value in ("not-a-hash", ID_A, "0" * 64):
        response = client.get(APPLICATIONS, {"idh": value})
        assert response.status_code == 200
        assert len(response.context["page"]) == 0


def test_the_roster_job_started_from_the_filtered_list_stores_no_clear_id(
    client,
    city_user,
    people,  # two applicants: the job's single row is the one searched for
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
    eager,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(city_user)
    page = client.post(APPLICATIONS, {"q": ID_A}, follow=True).content.decode()
    data = hidden_inputs(page, "roster-export")
    assert data == {"idh": keyed_hash(ID_A)}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:export-start", args=["roster"]), data)
        # A whole ID sent straight to the export is kept as its hash as well.
        client.post(reverse("reports:export-start", args=["roster"]), {"q": ID_A})

    jobs = list(ExportJob.objects.order_by("pk"))
    assert [(job.status, job.rows_done) for job in jobs] == [(ExportJob.Status.DONE, 1)] * 2
    for job in jobs:
        assert job.params["idh"] == keyed_hash(ID_A) and job.params["q"] is None
        assert_no_id(json.dumps(job.params))


def test_the_loan_job_started_from_the_filtered_list_stores_no_clear_id(
    client,
    city_user,
    program,
    unit,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
    eager,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    LoanFactory(application__applicant=ApplicantFactory(id_number=ID_A))
    LoanFactory(application__applicant=ApplicantFactory(id_number=ID_B))
    client.force_login(city_user)
    page = client.post(LOANS, {"q": ID_A.lower(), "sort": "principal"}, follow=True)
    data = hidden_inputs(page.content.decode(), "loan-export-form")
    assert data == {"sort": "principal", "idh": keyed_hash(ID_A)}

    start = reverse("reports:export-start", args=["loans"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(start, data)
        client.post(start, {"q": ID_A})
        refused = client.post(start, {"idh": "x" * 64})

    assert refused.status_code == 400 and "身份证号查询条件无效" in refused.content.decode()
    jobs = list(ExportJob.objects.order_by("pk"))
    assert [(job.status, job.rows_done) for job in jobs] == [(ExportJob.Status.DONE, 1)] * 2
    for job in jobs:
        assert job.params["idh"] == keyed_hash(ID_A) and "q" not in job.params
        assert_no_id(json.dumps(job.params))


def test_the_search_box_says_how_ids_are_matched(client, city_user):
    client.force_login(city_user)

    for url in (APPLICATIONS, LOANS):
        body = client.get(url).content.decode()
        assert "输入完整18位精确查找；不足18位时只比对最后4位" in body
        assert '<form method="post" class="filters" id="filter-form">' in body
