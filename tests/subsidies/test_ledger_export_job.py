"""The ledger (贴息台账) as an export job: the page's button starts it, the task streams it."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports import jobs
from reports.models import ExportJob
from reports.tasks import run_export_job

pytestmark = pytest.mark.django_db
LEDGER = reverse("subsidies:claim-ledger")
START = reverse("reports:export-start", args=["subsidy-ledger"])


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_ledger_button_starts_a_job_with_the_filters_in_the_users_scope(
    client, county_user, unit, other_unit, pending_claims, django_capture_on_commit_callbacks
):
    own = pending_claims(2)
    pending_claims(2, unit=other_unit)
    client.force_login(county_user)
    page = client.get(LEDGER, {"status": "pending"}).content.decode()
    assert f'action="{START}"' in page
    assert '<input type="hidden" name="status" value="pending">' in page

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(START, {"status": "pending"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert job.params["filters"] == {"status": "pending"}

    assert run_export_job(job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total) == ("done", 2, 2)
    assert job.filename.startswith("贴息台账-") and job.filename.endswith(".xlsx")
    rows = list(load_workbook(jobs.job_path(job)).active.iter_rows(values_only=True))
    assert rows[0][0] == "贴息台账"
    assert sorted(row[0] for row in rows[3:-1]) == sorted(c.loan.contract_number for c in own)
    assert rows[-1][1] == "2笔"
    download = client.get(reverse("reports:export-download", args=[job.pk]))
    assert download.status_code == 200


def test_a_bad_filter_is_a_400_and_no_job(client, city_user):
    client.force_login(city_user)
    response = client.post(START, {"status": "nope", "end_from": "2021-02-30"})
    assert response.status_code == 400
    assert set(response.context["errors"]) >= {"status", "end_from"}
    assert not ExportJob.objects.exists()


def test_the_ledger_writes_formula_like_names_as_text(city_user, pending_claims, tmp_path):
    (claim,) = pending_claims(1)
    applicant = claim.loan.application.applicant
    applicant.name = "@SUM(1+1)*cmd"
    applicant.save()
    kind = jobs.export_kind("subsidy-ledger")
    path = tmp_path / "ledger.xlsx"
    kind.write(
        path, user=city_user, params=kind.parse_params({}, city_user), progress=lambda *a, **k: None
    )
    sheet = load_workbook(path).active
    values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert "'@SUM(1+1)*cmd" in [cell.value for cell in values]
    assert all(cell.data_type != "f" for cell in values)
