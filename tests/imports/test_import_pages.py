"""The 批量导入 pages: upload (checked without parsing), the job that checks and imports it,
confirm, the limits, and the admin's import leading to the same pages."""

import os
from datetime import date, timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from loans.choices import ApplicationStatus as S
from loans.models import Application, ImportJob, Loan
from loans.resources import LoanResource
from loans.services import import_jobs
from reports.models import OutboxMessage
from tests.factories import LoanFactory, QuotaFactory, make_user
from tests.gonghui.test_spreadsheets import rezip
from tests.imports.conftest import LOAN_HEADERS, loan_row, read_xlsx, xlsx

pytestmark = pytest.mark.django_db
IMPORT = reverse("loans:import")
TASK = "loans.tasks.run_import_job"


@pytest.fixture(autouse=True)
def media(settings, tmp_path, eager):
    """Uploads under a temporary MEDIA_ROOT; jobs run in-process when their request commits."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media" / "imports"


def upload(content: bytes, name="loans.xlsx"):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST as the logged-in client, running the jobs it queues (the worker's turn)."""

    def post(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


@pytest.fixture
def upload_file(send):
    """Upload a file; return (response, the job it started or None)."""

    def post(content, resource="loans", name="loans.xlsx"):
        before = set(ImportJob.objects.values_list("pk", flat=True))
        response = send(IMPORT, {"resource": resource, "file": upload(content, name)})
        job = ImportJob.objects.exclude(pk__in=before).first()
        return response, job

    return post


def confirm(send, job):
    return send(reverse("loans:import-confirm", args=[job.pk]), {})


def loans_file(apps, overrides=None):
    rows = [loan_row(a, n) for n, a in enumerate(apps)]
    for index, values in (overrides or {}).items():
        rows[index] = loan_row(apps[index], index, **values)
    return xlsx(LOAN_HEADERS, rows)


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_user", "status"),
    [("city_user", 200), ("county_user", 403), ("bank_user", 403), ("manager_user", 403)],
)
def test_only_city_staff_open_the_import_pages(client, request, role_user, status, city_user):
    job = ImportJob.objects.create(resource="loans", requested_by=city_user)
    client.force_login(request.getfixturevalue(role_user))
    assert client.get(IMPORT).status_code == status
    assert client.get(reverse("loans:export", args=["loans"])).status_code == status
    assert client.get(reverse("loans:import-template", args=["quotas"])).status_code == status
    assert client.get(reverse("loans:import-job", args=[job.pk])).status_code == status
    assert client.post(reverse("loans:import-confirm", args=[job.pk])).status_code in (
        status,
        302,
    )


def test_county_staff_cannot_post_an_import(client, county_user, make_approved, upload_file):
    (app,) = make_approved(1)
    client.force_login(county_user)
    response, job = upload_file(loans_file([app]))
    assert response.status_code == 403
    assert job is None and not Loan.objects.exists()


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(IMPORT)
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_users_job_is_404_and_cannot_be_confirmed(
    client, city_user, make_approved, upload_file, send, media
):
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    assert job.status == ImportJob.Status.CHECKED
    client.force_login(make_user(Role.CITY_STAFF, username="city2"))
    for name in ("loans:import-job", "loans:import-job-status"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert confirm(send, job).status_code == 404
    job.refresh_from_db()
    assert (job.status, job.confirmed) == (ImportJob.Status.CHECKED, False)
    assert not Loan.objects.exists()


# --- check, preview, confirm ------------------------------------------------------------------


def test_upload_is_checked_by_a_job_then_imported_once_confirmed(
    client, city_user, make_approved, upload_file, send, media
):
    apps = make_approved(3)
    client.force_login(city_user)
    response, job = upload_file(loans_file(apps), name="bank-june.xlsx")
    assert response.status_code == 302
    assert response["Location"] == reverse("loans:import-job", args=[job.pk])
    assert (job.status, job.rows_total, job.rows_done) == (ImportJob.Status.CHECKED, 3, 3)
    assert job.filename == "bank-june.xlsx" and job.requested_by == city_user
    assert not Loan.objects.exists()  # the check is a dry run
    assert (media / job.file).exists()  # kept for the import

    page = client.get(response["Location"])
    text = page.content.decode()
    assert "检查通过，共3行" in text and "确认导入" in text
    assert [row[2] for row in page.context["job"].preview["rows"]] == [
        "JJ-IMP-00000",
        "JJ-IMP-00001",
        "JJ-IMP-00002",
    ]
    assert "jobs.js" not in text  # nothing runs: no polling

    response = confirm(send, job)
    assert response["Location"] == reverse("loans:import-job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count) == (ImportJob.Status.DONE, 3, 0)
    assert Loan.objects.count() == 3
    assert set(Application.objects.values_list("status", flat=True)) == {S.DISBURSED}
    done = client.get(response["Location"]).content.decode()
    assert "贷款（银行放款表）导入完成：新增3条，更新0条" in done
    assert job.file == "" and not any(media.iterdir())  # the upload is deleted

    # A job imports once: confirming again changes nothing.
    response = client.post(reverse("loans:import-confirm", args=[job.pk]), follow=True)
    assert "该导入已确认、已完成或已过期" in response.content.decode()
    assert Loan.objects.count() == 3


def test_check_lists_every_row_error_in_chinese_and_offers_no_confirm(
    client, city_user, make_approved, upload_file, media
):
    apps = make_approved(3)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps, overrides={2: {"年利率（%）": "6"}}))
    assert job.status == ImportJob.Status.INVALID and job.error_count == 1
    page = client.get(reverse("loans:import-job", args=[job.pk])).content.decode()
    assert "第4行 年利率（%）：年利率6%超过本项目线下审核最高年利率5.8%，不予受理" in page
    assert "确认导入" not in page and "import-confirm" not in page
    assert not Loan.objects.exists()
    assert not any(media.iterdir())  # nothing left to import


def test_confirm_validates_again_and_writes_nothing_if_a_row_went_stale(
    client, city_user, make_approved, upload_file, send
):
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    Application.objects.filter(pk=apps[1].pk).update(status=S.RECOMMENDED)
    confirm(send, job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    page = client.get(reverse("loans:import-job", args=[job.pk])).content.decode()
    assert "未导入任何数据" in page and "第3行" in page
    assert not Loan.objects.exists()


def test_the_status_json_reports_progress(client, city_user):
    job = ImportJob.objects.create(
        resource="quotas",
        requested_by=city_user,
        status=ImportJob.Status.CHECKING,
        rows_total=2000,
        rows_done=500,
    )
    client.force_login(city_user)
    state = client.get(reverse("loans:import-job-status", args=[job.pk])).json()
    assert state == {
        "id": job.pk,
        "status": "checking",
        "status_display": "检查中",
        "running": True,
        "rows_done": 500,
        "rows_total": 2000,
        "percent": 25,
        "error": "",
        "page_url": reverse("loans:import-job", args=[job.pk]),
    }
    page = client.get(reverse("loans:import-job", args=[job.pk])).content.decode()
    assert "js/jobs.js" in page and 'data-reload="1"' in page and "500 / 2000 行" in page


def test_the_import_page_lists_the_users_own_jobs(client, city_user, make_approved, upload_file):
    apps = make_approved(1)
    other = make_user(Role.CITY_STAFF, username="city2")
    ImportJob.objects.create(resource="quotas", requested_by=other, filename="theirs.xlsx")
    client.force_login(city_user)
    upload_file(loans_file(apps), name="mine.xlsx")
    page = client.get(IMPORT).content.decode()
    assert "mine.xlsx" in page and "theirs.xlsx" not in page


def test_progress_is_saved_as_rows_are_checked(
    client, city_user, make_approved, upload_file, monkeypatch
):
    saved = []
    real = import_jobs.update_now

    def record(model, pk, **fields):
        saved.append(fields)
        real(model, pk, **fields)

    monkeypatch.setattr(import_jobs, "update_now", record)
    monkeypatch.setattr("loans.services.imports.CHECK_EVERY", 1)
    apps = make_approved(3)
    client.force_login(city_user)
    upload_file(loans_file(apps))
    assert saved == [{"rows_total": 3}, {"rows_done": 1}, {"rows_done": 2}, {"rows_done": 3}]


# --- refused files ----------------------------------------------------------------------------


def test_non_xlsx_upload_is_a_form_error(client, city_user, upload_file, media):
    client.force_login(city_user)
    response, job = upload_file(b"contract,amount\n1,2\n", name="loans.csv")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传"
    ]
    assert job is None and not media.exists()


def test_damaged_xlsx_is_a_form_error(client, city_user, upload_file):
    client.force_login(city_user)
    response, job = upload_file(b"PK\x03\x04 not really a zip")
    assert response.context["form"].errors["file"] == [
        "文件不是Excel工作簿（.xlsx），请另存为.xlsx后上传"
    ]
    assert job is None


def test_oversized_upload_is_a_form_error(
    client, city_user, make_approved, upload_file, monkeypatch
):
    monkeypatch.setattr(import_jobs, "MAX_UPLOAD_BYTES", 1024)
    (app,) = make_approved(1)
    client.force_login(city_user)
    content = loans_file([app])
    assert len(content) > 1024
    response, job = upload_file(content)
    assert response.context["form"].errors["file"] == ["文件不能超过0MB"]
    assert job is None and not Loan.objects.exists()


def test_missing_resource_is_a_form_error(client, city_user, send):
    client.force_login(city_user)
    response = send(IMPORT, {"resource": "users", "file": upload(b"x")})
    assert response.status_code == 400
    assert "resource" in response.context["form"].errors
    assert not ImportJob.objects.exists()


def _hostile(content: bytes, kind: str) -> bytes:
    doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    if kind == "macros":
        return rezip(content, extra={"xl/vbaProject.bin": b"\0" * 64})
    if kind == "zip bomb":
        return rezip(content, extra={"xl/media/padding.bin": b"\0" * (30 * 1024 * 1024)})
    return rezip(  # an XML entity bomb in the sheet
        content,
        replace={
            "xl/worksheets/sheet1.xml": lambda xml: xml[: xml.index(b"<worksheet")]
            + doctype
            + xml[xml.index(b"<worksheet") :]
        },
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("macros", "不接受含宏的工作簿（.xlsm），请另存为.xlsx后上传"),
        ("zip bomb", "文件解压后过大或压缩比异常，已拒绝"),
    ],
)
def test_hostile_workbooks_are_refused_at_upload_before_parsing(
    client, city_user, make_approved, upload_file, media, kind, message
):
    (app,) = make_approved(1)
    client.force_login(city_user)
    response, job = upload_file(_hostile(loans_file([app]), kind))
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [message]
    assert job is None and not media.exists() and not Loan.objects.exists()


def test_an_xml_entity_bomb_fails_its_job_in_the_worker(
    client, city_user, make_approved, upload_file, media
):
    (app,) = make_approved(1)
    client.force_login(city_user)
    _, job = upload_file(_hostile(loans_file([app]), "entity bomb"))
    assert (job.status, job.error) == (ImportJob.Status.FAILED, "无法读取该Excel文件")
    assert (
        "无法读取该Excel文件"
        in client.get(reverse("loans:import-job", args=[job.pk])).content.decode()
    )
    assert not Loan.objects.exists() and not any(media.iterdir())


def test_a_file_with_too_many_rows_fails_its_job(
    client, city_user, make_approved, upload_file, monkeypatch
):
    monkeypatch.setattr("loans.services.imports.MAX_ROWS", 2)
    apps = make_approved(3)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    assert (job.status, job.error) == (ImportJob.Status.FAILED, "一次最多导入2行，请拆分文件")
    assert not Loan.objects.exists()


# --- time limits and interrupted runs ---------------------------------------------------------


def test_a_check_past_its_time_limit_fails_the_job(
    client, city_user, make_approved, upload_file, settings, monkeypatch
):
    settings.IMPORT_TIME_LIMIT = 0
    monkeypatch.setattr("loans.services.imports.CHECK_EVERY", 1)
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    assert job.status == ImportJob.Status.FAILED
    assert job.error == "导入超时（超过0秒），未写入任何数据；请拆分文件后重试"


def test_an_import_stopped_by_the_soft_time_limit_while_writing_leaves_nothing(
    client, city_user, make_approved, upload_file, send, monkeypatch, media
):
    apps = make_approved(3)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    real_write = LoanResource.write

    def write_then_time_out(self, instances):
        real_write(self, instances)  # every loan written ...
        assert Loan.objects.count() == 3
        raise SoftTimeLimitExceeded()  # ... when Celery's soft limit strikes

    monkeypatch.setattr(LoanResource, "write", write_then_time_out)
    confirm(send, job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.error.startswith("导入超时")
    assert not Loan.objects.exists()
    assert set(Application.objects.values_list("status", flat=True)) == {S.BANK_APPROVED}
    assert not any(media.iterdir())


def test_a_soft_time_limit_inside_a_row_fails_the_job_not_the_row(
    client, city_user, make_approved, upload_file, monkeypatch
):
    def times_out(self, instance, row):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(LoanResource, "validate_row", times_out)
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    assert job.status == ImportJob.Status.FAILED and job.error.startswith("导入超时")
    assert job.errors == []


def test_the_task_carries_celery_time_limits_to_the_worker(settings):
    from reports.outbox import _limits

    assert _limits("loans.tasks.run_import_job") == {
        "soft_time_limit": settings.IMPORT_TIME_LIMIT + 30,
        "time_limit": settings.IMPORT_TIME_LIMIT + 60,
    }
    assert _limits("reports.tasks.run_export_job") == {}


def test_the_outbox_publishes_the_import_with_its_time_limits(
    celery_conf, monkeypatch, django_capture_on_commit_callbacks
):
    from gonghui.celery import app
    from reports.outbox import enqueue

    celery_conf(task_always_eager=False, broker_url="memory://", broker_write_url="memory://")
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue("loans.tasks.run_import_job", kwargs={"job_id": 7})
    ((name, options),) = sent
    assert name == "reports.tasks.run_outbox_message" and options["args"] == [message.pk]
    assert (options["soft_time_limit"], options["time_limit"]) == (330, 360)


def test_a_run_interrupted_once_is_run_again(city_user, make_approved, media):
    apps = make_approved(2)
    media.mkdir(parents=True)
    (media / "upload-x.xlsx").write_bytes(loans_file(apps))
    job = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        file="upload-x.xlsx",
        status=ImportJob.Status.CHECKING,  # a worker died while checking
        attempts=1,
    )
    assert import_jobs.run_import_job(job.pk) == "checked"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportJob.Status.CHECKED, 2)


def test_a_run_interrupted_twice_fails_the_job_and_deletes_the_file(city_user, media):
    media.mkdir(parents=True)
    (media / "upload-x.xlsx").write_bytes(b"whatever")
    job = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        file="upload-x.xlsx",
        status=ImportJob.Status.IMPORTING,
        confirmed=True,
        attempts=2,
    )
    assert import_jobs.run_import_job(job.pk, "import") == "failed"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "中断" in job.error
    assert not (media / "upload-x.xlsx").exists()
    assert import_jobs.run_import_job(job.pk, "import") == "skipped"  # a late delivery


def test_a_second_delivery_leaves_a_run_within_its_limits_alone_and_its_message_pending(
    city_user, media
):
    from reports import outbox

    job = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        file="upload-x.xlsx",
        status=ImportJob.Status.CHECKING,
        started_at=timezone.now() - timedelta(seconds=30),
        attempts=1,
    )
    message = outbox.enqueue(TASK, kwargs={"job_id": job.pk, "step": "check"})
    assert outbox.execute(message.pk) is None
    message.refresh_from_db()
    assert message.done_at is None and message.attempts == 0  # the sweep looks again later
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportJob.Status.CHECKING, 1)


def test_a_late_check_delivery_after_confirm_does_not_import(
    client, city_user, make_approved, upload_file, monkeypatch
):
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    monkeypatch.setattr(import_jobs.outbox, "enqueue", lambda *args, **kwargs: None)
    assert import_jobs.confirm_import(city_user, job)  # import queued, not run yet
    assert import_jobs.run_import_job(job.pk, "check") == "skipped"
    job.refresh_from_db()
    assert (job.status, job.confirmed) == (ImportJob.Status.QUEUED, True)
    assert not Loan.objects.exists()
    assert import_jobs.run_import_job(job.pk, "import") == "done"
    assert Loan.objects.count() == 2


def test_of_two_deliveries_that_read_the_job_only_one_claims_it(city_user):
    job = ImportJob.objects.create(resource="loans", requested_by=city_user)
    first, second = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)
    assert import_jobs._claim(first, ImportJob.Status.CHECKING)
    assert not import_jobs._claim(second, ImportJob.Status.CHECKING)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportJob.Status.CHECKING, 1)


def test_a_database_error_puts_the_step_back_in_the_queue(
    client, city_user, make_approved, media, monkeypatch
):
    from django.db import OperationalError

    apps = make_approved(2)
    media.mkdir(parents=True)
    (media / "upload-x.xlsx").write_bytes(loans_file(apps))
    job = ImportJob.objects.create(resource="loans", requested_by=city_user, file="upload-x.xlsx")
    real_load = import_jobs.load_xlsx
    calls = []

    def lost_connection_once(content, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_load(content, **kwargs)

    monkeypatch.setattr(import_jobs, "load_xlsx", lost_connection_once)
    with pytest.raises(OperationalError):
        import_jobs.run_import_job(job.pk, "check")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.started_at) == (ImportJob.Status.QUEUED, 0, None)
    assert import_jobs.run_import_job(job.pk, "check") == "checked"  # the retry


def test_an_import_interrupted_after_its_commit_is_done_and_never_runs_twice(
    client, city_user, make_approved, upload_file, send, monkeypatch
):
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    real_run = import_jobs.run_import

    def committed_then_killed(*args, **kwargs):
        real_run(*args, **kwargs)  # rows and the job's mark committed together ...
        raise SoftTimeLimitExceeded()  # ... then the soft limit strikes before the return

    monkeypatch.setattr(import_jobs, "run_import", committed_then_killed)
    confirm(send, job)
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 2)
    assert Loan.objects.count() == 2
    monkeypatch.setattr(import_jobs, "run_import", real_run)
    assert import_jobs.run_import_job(job.pk, "import") == "skipped"  # a redelivery
    assert Loan.objects.count() == 2


def test_the_deadline_is_checked_between_rows_and_stops_the_import_whole(city_user, make_approved):
    from loans.services.imports import ImportTimedOut, load_xlsx, run_import

    class AfterRows:
        """A deadline that passes once the second row is reached."""

        def __init__(self):
            self.checks = 0

        def check(self):
            self.checks += 1
            if self.checks >= 2:
                raise ImportTimedOut("test")

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("loans.services.imports.CHECK_EVERY", 1)
    try:
        apps = make_approved(3)
        deadline = AfterRows()
        resource = LoanResource(user=city_user, deadline=deadline)
        with pytest.raises(ImportTimedOut):
            run_import(resource, load_xlsx(loans_file(apps)), user=city_user, dry_run=False)
    finally:
        monkeypatch.undo()
    assert deadline.checks == 2  # stopped at the second row, not turned into a row error
    assert not Loan.objects.exists()
    assert set(Application.objects.values_list("status", flat=True)) == {S.BANK_APPROVED}


def test_an_id_in_the_file_name_is_masked(client, city_user, make_approved, upload_file):
    from loans.services.identity import make_resident_id

    (app,) = make_approved(1)
    id_number = make_resident_id(region="360402", birth=date(1990, 1, 2), sequence=12)
    client.force_login(city_user)
    _, job = upload_file(loans_file([app]), name=f"王五{id_number}.xlsx")
    assert job.filename == f"王五{id_number[:4]}{'*' * 10}{id_number[-4:]}.xlsx"


def test_the_stored_upload_is_readable_by_its_owner_only(
    client, city_user, make_approved, upload_file, media, monkeypatch
):
    monkeypatch.setattr(import_jobs.outbox, "enqueue", lambda *args, **kwargs: None)
    (app,) = make_approved(1)
    client.force_login(city_user)
    _, job = upload_file(loans_file([app]))
    assert (media / job.file).stat().st_mode & 0o777 == 0o600


def test_old_jobs_and_unconfirmed_uploads_are_cleaned_up(city_user, media):
    media.mkdir(parents=True)
    now = timezone.now()
    (media / "waiting.xlsx").write_bytes(b"x")
    (media / "fresh.xlsx").write_bytes(b"x")
    stale = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        file="waiting.xlsx",
        status=ImportJob.Status.CHECKED,
        finished_at=now - timedelta(days=2),
    )
    fresh = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        file="fresh.xlsx",
        status=ImportJob.Status.CHECKED,
        finished_at=now - timedelta(hours=2),
    )
    lost = ImportJob.objects.create(
        resource="loans",
        requested_by=city_user,
        status=ImportJob.Status.IMPORTING,
        started_at=now - timedelta(days=2),
    )
    never_ran = ImportJob.objects.create(resource="loans", requested_by=city_user)
    old = ImportJob.objects.create(resource="loans", requested_by=city_user)
    ImportJob.objects.filter(pk=never_ran.pk).update(created_at=now - timedelta(days=2))
    ImportJob.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=8))
    orphan = media / "upload-orphan.xlsx"  # its request crashed before the job row
    orphan.write_bytes(b"x")
    os.utime(orphan, (now.timestamp() - 2 * 86400,) * 2)
    assert import_jobs.delete_old_imports(now=now) == 1
    never_ran.refresh_from_db()
    assert never_ran.status == ImportJob.Status.FAILED
    assert not ImportJob.objects.filter(pk=old.pk).exists()
    stale.refresh_from_db()
    assert stale.status == ImportJob.Status.FAILED and "未确认" in stale.error
    assert sorted(p.name for p in media.iterdir()) == ["fresh.xlsx"]
    fresh.refresh_from_db()
    assert fresh.status == ImportJob.Status.CHECKED
    lost.refresh_from_db()
    assert lost.status == ImportJob.Status.FAILED and "中断" in lost.error


def test_the_check_is_queued_through_the_outbox(client, city_user, make_approved):
    (app,) = make_approved(1)
    client.force_login(city_user)
    client.post(IMPORT, {"resource": "loans", "file": upload(loans_file([app]))})
    job = ImportJob.objects.get()
    message = OutboxMessage.objects.get()
    assert (message.task, message.kwargs) == (
        "loans.tasks.run_import_job",
        {"job_id": job.pk, "step": "check"},
    )
    assert message.key == f"import-job:{job.pk}:check"


# --- templates, exports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "first"), [("loans", "申请编号"), ("applicants", "姓名"), ("quotas", "项目代码")]
)
def test_template_has_the_header_row(client, city_user, resource, first):
    client.force_login(city_user)
    response = client.get(reverse("loans:import-template", args=[resource]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = read_xlsx(b"".join(response))
    assert rows[0][0] == first and len(rows) == 1


def test_export_page_lists_the_imported_loans(client, city_user, make_approved, upload_file, send):
    apps = make_approved(2)
    client.force_login(city_user)
    _, job = upload_file(loans_file(apps))
    confirm(send, job)
    rows = read_xlsx(b"".join(client.get(reverse("loans:export", args=["loans"]))))
    assert sorted(r[2] for r in rows[1:]) == sorted(
        Loan.objects.values_list("contract_number", flat=True)
    )


def test_unknown_resource_is_404(client, city_user):
    client.force_login(city_user)
    assert client.get(reverse("loans:export", args=["users"])).status_code == 404


# --- the admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("admin_name", "resource"),
    [("loans_loan", "loans"), ("loans_applicant", "applicants"), ("quotas_quota", "quotas")],
)
def test_admin_import_leads_to_the_portal_import(admin_client, admin_name, resource):
    for url in (f"admin:{admin_name}_import", f"admin:{admin_name}_process_import"):
        response = admin_client.get(reverse(url))
        assert response.status_code == 302
        assert response["Location"] == f"{IMPORT}?resource={resource}"
    assert not ImportJob.objects.exists()


def test_admin_import_is_city_staff_only(client, county_user):
    county_user.is_staff = True
    county_user.save()
    client.force_login(county_user)
    assert client.get(reverse("admin:quotas_quota_import")).status_code == 403
    assert client.get(reverse("admin:loans_loan_export")).status_code == 403


def admin_export(admin_client, admin_name) -> list[list]:
    """Export every field of an admin's changelist as .xlsx; the rows read back."""
    url = reverse(f"admin:{admin_name}_export")
    form = admin_client.get(url).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({k: "on" for k in form.fields if k not in ("format", "resource", "export_items")})
    response = admin_client.post(url, data)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return read_xlsx(b"".join(response))


@pytest.mark.parametrize("admin_name", ["loans_loan", "loans_applicant", "quotas_quota"])
def test_admin_export_gives_an_xlsx(admin_client, admin_name):
    quota = QuotaFactory()
    loan = LoanFactory()
    rows = admin_export(admin_client, admin_name)
    expected = {
        "loans_loan": loan.contract_number,
        "loans_applicant": loan.application.applicant.id_number,
        "quotas_quota": quota.unit.code,
    }[admin_name]
    assert any(expected in row for row in rows[1:])


def test_portal_and_admin_exports_write_formula_like_names_as_text(client, city_user, admin_client):
    from tests.factories import ApplicantFactory

    hostile = '=HYPERLINK("http://evil.example","x")'
    LoanFactory(application__applicant=ApplicantFactory(name=hostile))
    client.force_login(city_user)
    portal = read_xlsx(client.get(reverse("loans:export", args=["applicants"])).content)
    admin = admin_export(admin_client, "loans_applicant")
    for rows in (portal, admin):
        values = [value for row in rows[1:] for value in row]
        assert "'" + hostile in values
        assert not any(isinstance(v, str) and v.startswith("=") for v in values)


def test_an_applicant_import_keeps_no_clear_id_or_mobile_in_its_job(
    client, city_user, upload_file, send
):
    from tests.imports.test_quota_and_applicant_import import APPLICANT_HEADERS, person
    from tests.security.test_pii import every_stored_text

    rows = [person(51), person(52)]
    client.force_login(city_user)
    _, job = upload_file(xlsx(APPLICANT_HEADERS, rows), resource="applicants")
    assert job.status == ImportJob.Status.CHECKED
    headers = job.preview["headers"]
    first = dict(zip(headers, job.preview["rows"][0], strict=True))
    id_number, mobile = rows[0][1], rows[0][2]
    assert first["身份证号"] == f"{id_number[:4]}{'*' * 10}{id_number[-4:]}"
    assert first["手机号码"] == f"{mobile[:3]}****{mobile[-4:]}"
    page = client.get(reverse("loans:import-job", args=[job.pk])).content.decode()
    assert first["身份证号"] in page and id_number not in page
    confirm(send, job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.created_count == 2
    stored = every_stored_text()
    assert "王51" in stored  # the scan reads the tables
    for row in rows:
        assert row[1] not in stored and row[2] not in stored
