"""Resident IDs and mobile numbers at rest (issue 8, PIPL): encrypted in the database, found
by keyed hash, masked in logs and masked exports, and every unmasked view recorded."""

from __future__ import annotations

import logging
from datetime import date
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook

from gonghui.pii import UNREADABLE, UnreadableValueError, keyed_hash
from loans.admin import ApplicantAdminForm
from loans.filters import search_people
from loans.models import Applicant, Application, PersonalDataAccess
from loans.resources import ApplicantResource
from loans.services.identity import make_resident_id
from loans.services.imports import load_xlsx, row_messages, run_import
from loans.services.parties import ApplicantData, upsert_applicant
from reports.roster import roster_params, write_roster
from tests.api.conftest import API, application_payload, post, token_client
from tests.factories import ApplicantFactory, ApplicationFactory
from tests.imports.conftest import xlsx
from tests.imports.test_quota_and_applicant_import import APPLICANT_HEADERS, person
from tests.test_settings import _pii_keys, _python, _random_secret

pytestmark = pytest.mark.django_db

ID_A = make_resident_id(region="360402", birth=date(1986, 4, 12), sequence=731)
ID_B = make_resident_id(region="320311", birth=date(1991, 9, 30), sequence=452)
MOBILE_A = "13912345678"
MOBILE_B = "18655554444"


def applicant_data(id_number: str = ID_A, mobile: str = MOBILE_A, **overrides) -> ApplicantData:
    values = {
        "name": "李四",
        "id_number": id_number,
        "mobile": mobile,
        "is_model_worker": False,
        "is_epidemic_relative": False,
        "founder_class": "graduate",
        "is_union_member": True,
    }
    values.update(overrides)
    return ApplicantData(**values)


def every_stored_text() -> str:
    """Every value of every table of the database, as text (raw SQL, nothing decrypted)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def raw_applicant(pk: int) -> tuple[str, str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, mobile, id_number_hash, id_tail FROM loans_applicant WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def import_applicants(user, rows):
    dataset = load_xlsx(xlsx(APPLICANT_HEADERS, rows))
    result = run_import(ApplicantResource(user=user), dataset, user=user, dry_run=False)
    assert row_messages(result) == []
    return result


# --- at rest ------------------------------------------------------------------------------


def test_columns_hold_ciphertext_and_the_model_gives_the_clear_value(city_user):
    applicant = upsert_applicant(user=city_user, data=applicant_data())
    stored_id, stored_mobile, stored_hash, stored_tail = raw_applicant(applicant.pk)

    assert stored_id != ID_A and ID_A not in stored_id
    assert stored_mobile != MOBILE_A and MOBILE_A not in stored_mobile
    assert stored_hash == keyed_hash(ID_A) != ID_A
    assert stored_tail == ID_A[-4:]
    fresh = Applicant.objects.get(pk=applicant.pk)
    assert (fresh.id_number, fresh.mobile) == (ID_A, MOBILE_A)
    # Two encryptions of one value differ: the column cannot be compared in SQL.
    ApplicantFactory(id_number=ID_B, mobile=MOBILE_A)
    mobiles = [row[1] for row in map(raw_applicant, Applicant.objects.values_list("pk", flat=True))]
    assert len(set(mobiles)) == 2


def test_no_clear_id_or_mobile_anywhere_in_the_database(
    city_user, county_user, bank_user, program, unit
):
    upsert_applicant(user=city_user, data=applicant_data())
    upsert_applicant(user=city_user, data=applicant_data(name="李四改"))  # a history row
    import_applicants(city_user, [person(41), person(42)])
    payload = application_payload(program, unit)
    response = post(token_client(bank_user), f"{API}/applications/", payload)
    assert response.status_code == 201, response.json()
    secrets_ = [
        ID_A,
        MOBILE_A,
        person(41)[1],
        person(41)[2],
        person(42)[1],
        person(42)[2],
        payload["applicant"]["id_number"],
        payload["applicant"]["mobile"],
    ]
    assert Applicant.objects.count() == 4

    text = every_stored_text()

    assert "李四改" in text  # the scan does read the tables
    for secret in secrets_:
        assert secret not in text, secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM loans_historicalapplicant")
        assert cursor.fetchone()[0] >= 2


def test_requests_and_imports_log_no_clear_id_or_mobile(client, city_user, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # the SQL and its parameters go to the log too
    try:
        application = ApplicationFactory(
            applicant=ApplicantFactory(id_number=ID_A, mobile=MOBILE_A)
        )
        import_applicants(city_user, [person(43)])
        client.force_login(city_user)
        found = client.post(reverse("loans:intake-lookup"), {"id_number": ID_A}).json()
        page = client.get(reverse("loans:application-detail", args=[application.pk]))
    finally:
        connection.force_debug_cursor = False

    assert found["found"] and found["values"]["mobile"] == MOBILE_A
    assert page.status_code == 200 and ID_A in page.content.decode()  # union staff see it
    assert "loans_applicant" in caplog.text  # the SQL was logged
    for secret in (ID_A, MOBILE_A, person(43)[1], person(43)[2]):
        assert secret not in caplog.text, secret


def test_the_masked_roster_holds_no_clear_id_or_mobile(manager_user, city_user, program, unit):
    ApplicationFactory(program=program, unit=unit, applicant=ApplicantFactory(id_number=ID_A))
    ApplicationFactory(program=program, unit=unit, applicant=ApplicantFactory(id_number=ID_B))
    mobiles = list(Applicant.objects.values_list("mobile", flat=True))

    def roster_text(user) -> str:
        buffer = BytesIO()
        write_roster(buffer, user=user, params=roster_params({}, user))
        sheet = load_workbook(BytesIO(buffer.getvalue())).active
        return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row)

    masked = roster_text(manager_user)
    assert f"{ID_A[:4]}**********{ID_A[-4:]}" in masked
    for secret in (ID_A, ID_B, *mobiles):
        assert secret not in masked, secret
    assert not PersonalDataAccess.objects.exists()

    unmasked = roster_text(city_user)
    assert ID_A in unmasked and ID_B in unmasked
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.purpose, access.row_count) == (city_user, "roster", 2)
    assert access.applicant is None and access.fields == "id_number,mobile"


# --- lookups through the keyed hash -------------------------------------------------------


def test_by_resident_id_finds_the_applicant_and_nothing_else():
    applicant = ApplicantFactory(id_number=ID_A)
    ApplicantFactory(id_number=ID_B)

    assert list(Applicant.objects.by_resident_id(ID_A)) == [applicant]
    assert not Applicant.objects.by_resident_id(ID_A[:-1] + "0").exists()
    assert Applicant.objects.by_resident_ids([ID_A, ID_B]).count() == 2


def test_intake_lookup_finds_the_applicant_by_id(client, city_user):
    applicant = ApplicantFactory(id_number=ID_A, mobile=MOBILE_A)
    client.force_login(city_user)

    data = client.post(reverse("loans:intake-lookup"), {"id_number": ID_A.lower()}).json()

    assert data["found"] and data["values"]["name"] == applicant.name
    access = PersonalDataAccess.objects.get()
    assert (access.applicant, access.purpose, access.fields) == (applicant, "intake", "mobile")


def test_upsert_reuses_the_applicant_with_the_same_id(city_user):
    first = upsert_applicant(user=city_user, data=applicant_data())
    second = upsert_applicant(
        user=city_user, data=applicant_data(id_number=ID_A.lower(), mobile=MOBILE_B, name="李四")
    )

    assert second.pk == first.pk
    assert Applicant.objects.count() == 1
    assert Applicant.objects.get().mobile == MOBILE_B


def test_import_gives_new_rows_their_hash_and_reuses_existing_applicants(city_user):
    existing = upsert_applicant(user=city_user, data=applicant_data(id_number=person(51)[1]))

    result = import_applicants(city_user, [person(51), person(52), person(53)])

    assert (result.totals["new"], result.totals["update"]) == (2, 1)
    assert Applicant.objects.count() == 3
    assert Applicant.objects.by_resident_id(person(51)[1]).get().pk == existing.pk
    for n in (52, 53):
        found = Applicant.objects.by_resident_id(person(n)[1]).get()
        assert (found.name, found.mobile) == (f"王{n}", person(n)[2])
        assert raw_applicant(found.pk)[3] == person(n)[1][-4:]


def test_api_bank_referral_reuses_the_applicant(bank_user, program, unit):
    client = token_client(bank_user)
    first = application_payload(program, unit, n=801)
    second = application_payload(program, unit, n=802)
    second["applicant"] = {**first["applicant"], "mobile": "13700001111"}

    for payload in (first, second):
        response = post(client, f"{API}/applications/", payload)
        assert response.status_code == 201, response.json()

    applicant = Applicant.objects.get()
    assert Application.objects.filter(applicant=applicant).count() == 2
    assert applicant.mobile == "13700001111"


def test_the_database_refuses_a_second_row_with_the_same_id():
    ApplicantFactory(id_number=ID_A)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicantFactory(id_number=ID_A)
    assert Applicant.objects.count() == 1


def test_the_admin_form_refuses_a_taken_id_with_a_chinese_message():
    ApplicantFactory(id_number=ID_A)

    class Form(ApplicantAdminForm):
        class Meta:
            model = Applicant
            fields = ["name", "id_number", "mobile", "founder_class"]

    form = Form(
        data={"name": "重复", "id_number": ID_A, "mobile": MOBILE_B, "founder_class": "other"}
    )

    assert not form.is_valid()
    assert form.errors["id_number"] == ["该身份证号已登记，请勿重复添加"]


def test_admin_search_finds_a_whole_id_only(admin_client):
    applicant = ApplicantFactory(id_number=ID_A, name="赵六")
    ApplicantFactory(id_number=ID_B)
    url = reverse("admin:loans_applicant_changelist")

    found = admin_client.get(url, {"q": ID_A, "founder_class": "other"}, follow=True)
    tail = admin_client.get(url, {"q": ID_A[-6:]}).context["cl"].result_list

    assert list(found.context["cl"].result_list) == [applicant]
    assert list(tail) == []
    # The whole ID was swapped for its hash before it stayed in a URL (303, filters kept).
    (target, status), *_ = found.redirect_chain
    assert status == 303 and ID_A not in target and ID_A.lower() not in target
    assert f"idh={keyed_hash(ID_A)}" in target and "founder_class=other" in target
    body = found.content.decode()
    assert ID_A not in body and "按输入的完整身份证号" in body


def test_the_list_search_still_finds_the_id_tail_and_the_whole_id(program, unit):
    mine = ApplicationFactory(applicant=ApplicantFactory(id_number=ID_A))
    ApplicationFactory(applicant=ApplicantFactory(id_number=ID_B))
    queryset = Application.objects.all()

    assert list(search_people(queryset, ID_A[-4:])) == [mine]
    assert list(search_people(queryset, ID_A[-6:])) == [mine]
    assert list(search_people(queryset, ID_A.lower())) == [mine]
    assert list(search_people(queryset, "0000")) == []


# --- unmasked views are recorded ----------------------------------------------------------


def test_the_detail_page_for_union_staff_records_the_view(client, city_user):
    application = ApplicationFactory(applicant=ApplicantFactory(id_number=ID_A))
    client.force_login(city_user)

    body = client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()

    assert ID_A in body
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.applicant, access.purpose) == (
        city_user,
        application.applicant,
        "detail",
    )
    assert access.fields == "id_number,mobile" and access.accessed_at is not None


def test_the_masked_detail_page_for_a_manager_records_nothing(client, manager_user):
    application = ApplicationFactory(applicant=ApplicantFactory(id_number=ID_A, mobile=MOBILE_A))
    client.force_login(manager_user)

    response = client.get(reverse("loans:application-detail", args=[application.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert ID_A not in body and MOBILE_A not in body
    assert f"{ID_A[:4]}**********{ID_A[-4:]}" in body
    assert not PersonalDataAccess.objects.exists()


def test_the_admin_applicant_export_is_recorded(city_user):
    ApplicantFactory.create_batch(3)

    ApplicantResource(user=city_user).export()

    access = PersonalDataAccess.objects.get()
    assert (access.purpose, access.row_count, access.user) == ("applicant_export", 3, city_user)


def test_access_records_are_append_only(city_user):
    access = PersonalDataAccess.objects.create(user=city_user, purpose="detail", fields="x")
    access.fields = "changed"
    with pytest.raises(ValueError, match="不能修改"):
        access.save()
    with pytest.raises(ValueError, match="不能删除"):
        access.delete()
    assert PersonalDataAccess.objects.get().fields == "x"


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["FIELD_ENCRYPTION_KEY", "PII_HASH_KEY"])
def test_a_missing_key_with_debug_off_stops_startup(missing):
    variables = {"DEBUG": "0", "SECRET_KEY": _random_secret(), **_pii_keys()}
    variables.pop(missing)
    result = _python("import django; django.setup()", **variables)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing}" in result.stderr


def test_key_rotation_reencrypts_every_row(settings):
    from cryptography.fernet import Fernet

    applicant = ApplicantFactory(id_number=ID_A, mobile=MOBILE_A)
    old_key, new_key = settings.FIELD_ENCRYPTION_KEY[0], Fernet.generate_key().decode()
    before = raw_applicant(applicant.pk)

    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, old_key]):
        call_command("reencrypt_personal_data", stdout=StringIO())
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key]):
        fresh = Applicant.objects.get(pk=applicant.pk)
        after = raw_applicant(applicant.pk)

    assert (fresh.id_number, fresh.mobile) == (ID_A, MOBILE_A)
    assert after[0] != before[0] and after[2] == before[2]
    assert Fernet(new_key.encode()).decrypt(after[0].encode()).decode() == ID_A


def test_city_staff_see_the_access_records_on_the_audit_page(
    client, city_user, county_user, program, unit
):
    application = ApplicationFactory(
        program=program, unit=unit, applicant=ApplicantFactory(id_number=ID_A, name="钱七")
    )
    client.force_login(county_user)
    assert client.get(reverse("loans:application-detail", args=[application.pk])).status_code == 200
    client.force_login(city_user)

    page = client.get(reverse("audit"))
    other_user = client.get(reverse("audit"), {"user": city_user.username})

    rows = page.context["personal_data_access"]
    assert [(r.user, r.applicant, r.purpose) for r in rows] == [
        (county_user, application.applicant, "detail")
    ]
    body = page.content.decode()
    assert "个人信息查看记录" in body and "钱七" in body
    assert f"{ID_A[:4]}**********{ID_A[-4:]}" in body and ID_A not in body
    assert other_user.context["personal_data_access"] == []


def test_the_intake_lookup_takes_the_id_in_the_body_never_in_the_url(client, city_user):
    ApplicantFactory(id_number=ID_A)
    client.force_login(city_user)
    url = reverse("loans:intake-lookup")

    assert client.get(url, {"id_number": ID_A}).status_code == 405
    assert client.post(url, {"id_number": ID_A}).json()["found"] is True


def test_the_admin_change_form_records_the_view(admin_client, admin_user):
    applicant = ApplicantFactory(id_number=ID_A)
    url = reverse("admin:loans_applicant_change", args=[applicant.pk])

    response = admin_client.get(url)

    assert response.status_code == 200 and ID_A in response.content.decode()
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.applicant, access.purpose) == (admin_user, applicant, "admin")


def test_the_applicant_history_keeps_neither_the_id_hash_nor_the_id_tail(city_user):
    applicant = upsert_applicant(user=city_user, data=applicant_data())
    upsert_applicant(user=city_user, data=applicant_data(name="李四改"))
    history = Applicant.history.model
    columns = [field.column for field in history._meta.concrete_fields]

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {history._meta.db_table}")
        rows = cursor.fetchall()

    assert len(rows) == 2 and applicant.id_number_hash == keyed_hash(ID_A)
    assert "id_number_hash" not in columns and "id_tail" not in columns
    assert not any(keyed_hash(ID_A) in str(cell) for row in rows for cell in row)
    assert not any(str(cell) == ID_A[-4:] for row in rows for cell in row)


def test_a_value_no_configured_key_decrypts_shows_as_unreadable_never_as_ciphertext(
    client, city_user, caplog
):
    from cryptography.fernet import Fernet

    application = ApplicationFactory(applicant=ApplicantFactory(id_number=ID_A, mobile=MOBILE_A))
    applicant = application.applicant
    foreign = Fernet(Fernet.generate_key()).encrypt(ID_A.encode()).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loans_applicant SET id_number = %s WHERE id = %s", [foreign, applicant.pk]
        )
    client.force_login(city_user)

    with caplog.at_level(logging.ERROR, logger="gonghui.pii"):
        fresh = Applicant.objects.get(pk=applicant.pk)
        page = client.get(reverse("loans:application-detail", args=[application.pk]))

    assert fresh.id_number == UNREADABLE == "〔无法解密〕" and fresh.mobile == MOBILE_A
    assert fresh.masked_id_number == UNREADABLE
    assert page.status_code == 200
    body = page.content.decode()
    assert UNREADABLE in body and foreign not in body and MOBILE_A in body
    assert "loans.Applicant.id_number" in caplog.text and "cannot be decrypted" in caplog.text
    assert foreign not in caplog.text
    # Writing the placeholder back would destroy the ciphertext: refused, row unchanged.
    fresh.name = "改名"
    with pytest.raises(UnreadableValueError), transaction.atomic():
        fresh.save()
    assert raw_applicant(applicant.pk)[0] == foreign


def test_a_key_dropped_before_reencryption_leaves_the_rows_unreadable_not_rewritten(settings):
    from cryptography.fernet import Fernet

    applicant = ApplicantFactory(id_number=ID_A, mobile=MOBILE_A)
    before = raw_applicant(applicant.pk)

    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode()]):
        assert Applicant.objects.get(pk=applicant.pk).mobile == UNREADABLE
        with pytest.raises(UnreadableValueError):
            call_command("reencrypt_personal_data", stdout=StringIO())

    assert raw_applicant(applicant.pk) == before
    assert Applicant.objects.get(pk=applicant.pk).id_number == ID_A
