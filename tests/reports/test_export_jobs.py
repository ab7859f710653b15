"""Export jobs: started by a POST, built by a task with progress, downloaded by the requester."""

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reports import jobs
from reports.models import ExportJob, OutboxMessage
from reports.tasks import run_export_job
from tests.factories import ApplicantFactory, LoanFactory

pytestmark = pytest.mark.django_db
START = reverse("reports:export-start", args=["announcement"])


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def loans(program, unit):
    return [
        LoanFactory(
            application__program=program,
            application__unit=unit,
            application__applicant=ApplicantFactory(name=name),
            principal=Decimal("100000.00"),
            subsidised_principal=Decimal("100000.00"),
            disbursed_on=date(2020, 6, day),
            maturity_on=date(2021, 6, day),
        )
        for day, name in enumerate(("王小明", "李四", "欧阳娜娜", "赵六", "钱七"), start=1)
    ]


@pytest.fixture
def start(client, city_user, django_capture_on_commit_callbacks, eager):
    """POST the announcement export as city staff; the task runs in-process on commit."""

    def post(data, user=city_user):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(START, data)

    return post


def test_the_export_runs_and_only_the_requester_downloads_it(
    start, client, program, loans, manager_user
):
    response = start({"program": program.code, "from": "2020-06-02", "to": "2020-06-04"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export-job", args=[job.pk])
    assert (job.status, job.rows_done, job.rows_total) == (ExportJob.Status.DONE, 3, 3)
    assert job.params == {"program": program.code, "from": "2020-06-02", "to": "2020-06-04"}
    assert OutboxMessage.objects.get().done_at is not None

    status = client.get(reverse("reports:export-status", args=[job.pk])).json()
    assert status["status"] == "done" and status["percent"] == 100
    assert status["download_url"] == reverse("reports:export-download", args=[job.pk])
    page = client.get(reverse("reports:export-job", args=[job.pk])).content.decode()
    assert 'id="export-progress"' in page and "js/jobs.js" in page and "<script>" not in page

    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    path = jobs.job_path(job)
    assert path.parent == jobs.export_root()
    sheet = load_workbook(path).active
    body = list(sheet.iter_rows(values_only=True))[2:]
    assert [row[2] for row in body] == ["李*", "欧**娜", "赵*"]
    assert b"".join(download.streaming_content) == path.read_bytes()

    client.force_login(manager_user)  # another user: no status, page or file
    for name in ("export-status", "export-job", "export-download"):
        assert client.get(reverse(f"reports:{name}", args=[job.pk])).status_code == 404
    assert client.get(reverse("reports:exports")).context["jobs"] == []


def test_my_exports_lists_my_jobs(start, client, program, loans):
    start({"program": program.code})
    listing = client.get(reverse("reports:exports"))
    assert [(job.kind, label) for job, label in listing.context["jobs"]] == [
        ("announcement", "贷款贴息公示名单")
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"program": ""}, "program"),
        ({"program": "nope"}, "program"),
        ({"program": "jgd-2020", "from": "2020-13-01"}, "from"),
        ({"program": "jgd-2020", "from": "2020-07-01", "to": "2020-06-01"}, "to"),
    ],
)
def test_bad_parameters_are_a_400_with_the_fields_message_and_nothing_written(
    start, program, data, field
):
    response = start(data)
    assert response.status_code == 400
    assert field in response.context["errors"]
    assert not ExportJob.objects.exists() and not OutboxMessage.objects.exists()


def test_other_roles_and_unknown_kinds_are_refused(client, county_user, city_user, program):
    client.force_login(county_user)
    assert client.post(START, {"program": program.code}).status_code == 403
    client.force_login(city_user)
    unknown = client.post(reverse("reports:export-start", args=["nope"]), {})
    assert unknown.status_code == 400
    assert not ExportJob.objects.exists()


def _job(user, program, **fields):
    return ExportJob.objects.create(
        kind="announcement", params={"program": program.code}, requested_by=user, **fields
    )


def test_running_twice_gives_the_same_file_and_a_done_job_is_left_alone(city_user, program, loans):
    job = _job(city_user, program)
    assert run_export_job(job.pk) == "done"
    job.refresh_from_db()
    first = (job.finished_at, jobs.job_path(job).read_bytes())
    assert run_export_job(job.pk) == "skipped"
    job.refresh_from_db()
    assert (job.finished_at, jobs.job_path(job).read_bytes()) == first
    assert run_export_job(job.pk + 1000) == "skipped"  # gone


def test_a_rerun_after_a_killed_worker_replaces_the_file_cleanly(city_user, program, loans):
    job = _job(city_user, program, status=ExportJob.Status.RUNNING, rows_done=2)
    root = jobs.export_root()
    root.mkdir(parents=True)
    (root / f"job-{job.pk}.xlsx").write_bytes(b"half a file")
    assert run_export_job(job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (ExportJob.Status.DONE, 5)
    assert len(list(load_workbook(jobs.job_path(job)).active.iter_rows())) == 7
    assert sorted(path.name for path in root.iterdir()) == [f"job-{job.pk}.xlsx"]


def test_progress_is_stored_while_writing(city_user, program, loans, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 2)
    seen = []
    original = jobs._progress_callback

    def spy(job_id):
        report = original(job_id)

        def progress(done, total=None):
            report(done, total=total)
            seen.append(ExportJob.objects.values_list("rows_done", "rows_total").get())

        return progress

    monkeypatch.setattr(jobs, "_progress_callback", spy)
    run_export_job(_job(city_user, program).pk)
    assert (0, 5) in seen and (2, 5) in seen and (4, 5) in seen


def test_a_failure_is_stored_in_chinese_and_a_database_hiccup_is_retried(
    city_user, program, loans, monkeypatch
):
    kind = jobs.export_kind("announcement")

    def broken(path, **kwargs):
        raise ValueError("boom")

    monkeypatch.setitem(jobs._REGISTRY, "announcement", replace(kind, write=broken))
    job = _job(city_user, program)
    assert jobs.run_export_job(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.status, job.error) == (ExportJob.Status.FAILED, jobs.FAILED_MESSAGE)
    assert list(jobs.export_root().iterdir()) == []  # no temp file left

    def flaky(path, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setitem(jobs._REGISTRY, "announcement", replace(kind, write=flaky))
    again = _job(city_user, program)
    with pytest.raises(OperationalError):
        jobs.run_export_job(again.pk)
    assert run_export_job.autoretry_for == (OperationalError, jobs.InterfaceError)


def test_files_older_than_seven_days_are_deleted(city_user, program, loans):
    old, recent = _job(city_user, program), _job(city_user, program)
    for job in (old, recent):
        run_export_job(job.pk)
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    old_path = jobs.job_path(ExportJob.objects.get(pk=old.pk))

    assert jobs.delete_old_exports() == 1
    assert not old_path.exists() and not ExportJob.objects.filter(pk=old.pk).exists()
    assert jobs.job_path(ExportJob.objects.get(pk=recent.pk)).exists()
    assert not os.access(old_path, os.F_OK)


def test_temporary_files_of_killed_runs_are_deleted_after_a_day(city_user, program):
    root = jobs.export_root()
    root.mkdir(parents=True)
    stale, fresh = root / ".job-1-abc.xlsx", root / ".job-2-def.xlsx"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    jobs.delete_old_exports()
    assert [path.name for path in root.iterdir()] == [fresh.name]
