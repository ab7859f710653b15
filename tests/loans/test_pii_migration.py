"""The data migration that encrypts applicants already stored (loans 0005): forwards on
existing clear rows, and backwards to clear values again."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

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
