"""The data migration that encrypts applicants already stored (loans 0005): forwards on
existing clear rows, and backwards to clear values again."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from gonghui.pii import keyed_hash
from loans.models import Applicant
from loans.services.identity import make_resident_id

BEFORE = [("loans", "0004_audit_history")]
ID_NUMBER = make_resident_id(region="360402", birth=date(1980, 2, 29), sequence=17)
MOBILE = "13612341234"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes("loans")


def raw_row(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, mobile FROM loans_applicant WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_encrypted_and_can_be_decrypted_back():
    old_apps = migrate(BEFORE)
    old = old_apps.get_model("loans", "Applicant").objects.create(
        name="旧数据", id_number=ID_NUMBER, mobile=MOBILE
    )
    assert raw_row(old.pk) == (ID_NUMBER, MOBILE)

    migrate(latest())
    stored_id, stored_mobile = raw_row(old.pk)
    assert ID_NUMBER not in stored_id and MOBILE not in stored_mobile
    applicant = Applicant.objects.by_resident_id(ID_NUMBER).get()
    assert (applicant.pk, applicant.id_number, applicant.mobile) == (old.pk, ID_NUMBER, MOBILE)
    assert (applicant.id_number_hash, applicant.id_tail) == (keyed_hash(ID_NUMBER), ID_NUMBER[-4:])

    migrate(BEFORE)
    assert raw_row(old.pk) == (ID_NUMBER, MOBILE)

    migrate(latest())
    assert Applicant.objects.by_resident_id(ID_NUMBER).get().mobile == MOBILE


def _old_rows(old_apps, count: int) -> None:
    Old = old_apps.get_model("loans", "Applicant")
    Old.objects.bulk_create(
        Old(
            name=f"旧{n}",
            id_number=make_resident_id(
                region="360402", birth=date(1980, 1, 1) + timedelta(days=n // 500), sequence=n % 500
            ),
            mobile=f"139{n:08d}",
        )
        for n in range(count)
    )


def _queries_of(targets) -> int:
    with CaptureQueriesContext(connection) as queries:
        migrate(targets)
    return len(queries)


@pytest.mark.django_db(transaction=True)
def test_the_encryption_step_costs_queries_per_batch_not_per_row():
    """0005 on 2,500 applicants takes about as many queries as on 10: it reads and writes
    1,000 rows at a time (one UPDATE a row would make it unusable on a million)."""
    step = [("loans", "0005_encrypt_personal_data")]
    counts = {}
    try:
        for rows in (10, 2500):
            old_apps = migrate(BEFORE)
            _old_rows(old_apps, rows)
            counts[rows] = (_queries_of(step), _queries_of(BEFORE))
            sample = raw_row(old_apps.get_model("loans", "Applicant").objects.order_by("pk")[0].pk)
            assert sample[0].isdigit() and sample[1].startswith("139")  # clear again
            old_apps.get_model("loans", "Applicant").objects.all().delete()
    finally:
        migrate(latest())

    (small_forward, small_back), (big_forward, big_back) = counts[10], counts[2500]
    # At most one more query per hundred rows, either way (SQLite splits a 1,000-row UPDATE
    # into a few statements to stay under its parameter limit; PostgreSQL sends one).
    assert big_forward - small_forward <= 2500 // 100, counts
    assert big_back - small_back <= 2500 // 100, counts


@pytest.mark.django_db(transaction=True)
def test_dropping_the_lookup_columns_from_history_can_be_unapplied():
    applicant = Applicant.objects.create(name="旧数据", id_number=ID_NUMBER, mobile=MOBILE)
    applicant.name = "新数据"
    applicant.save()
    try:
        migrate([("loans", "0006_personal_data_access")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number_hash, id_tail FROM loans_historicalapplicant")
            rows = cursor.fetchall()
    finally:
        migrate(latest())

    assert rows == [(keyed_hash(ID_NUMBER), ID_NUMBER[-4:])] * 2
