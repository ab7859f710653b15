"""Encrypt applicants' resident IDs and mobile numbers and add their lookup columns (issue 8).

The ID's uniqueness moves from the clear column to ``id_number_hash``. Rows are rewritten with
plain SQL (same on SQLite and PostgreSQL) so the step does not depend on the model code; the
reverse step writes the clear values back, so the migration can be unapplied while the keys
are still at hand.
"""

from django.db import migrations

import gonghui.pii


def _rows(cursor):
    cursor.execute("SELECT id, id_number, mobile FROM loans_applicant ORDER BY id")
    return cursor.fetchall()


def encrypt(apps, schema_editor):
    field = apps.get_model("loans", "Applicant")._meta.get_field("id_number")
    with schema_editor.connection.cursor() as cursor:
        rows = _rows(cursor)
        for pk, id_number, mobile in rows:
            # to_python gives back a clear value unchanged, so a partly run step can rerun.
            id_number, mobile = field.to_python(id_number), field.to_python(mobile)
            cursor.execute(
                "UPDATE loans_applicant SET id_number = %s, mobile = %s, "
                "id_number_hash = %s, id_tail = %s WHERE id = %s",
                [
                    field.get_prep_value(id_number),
                    field.get_prep_value(mobile),
                    gonghui.pii.keyed_hash(id_number),
                    gonghui.pii.last_four(id_number),
                    pk,
                ],
            )
        # Earlier history rows take their applicant's lookup columns ("" once it is deleted).
        for column in ("id_number_hash", "id_tail"):
            cursor.execute(
                f"UPDATE loans_historicalapplicant SET {column} = COALESCE(("  # noqa: S608
                f"SELECT a.{column} FROM loans_applicant a "
                "WHERE a.id = loans_historicalapplicant.id), '')"
            )


def decrypt(apps, schema_editor):
    field = apps.get_model("loans", "Applicant")._meta.get_field("id_number")
    with schema_editor.connection.cursor() as cursor:
        for pk, id_number, mobile in _rows(cursor):
            cursor.execute(
                "UPDATE loans_applicant SET id_number = %s, mobile = %s WHERE id = %s",
                [field.to_python(id_number), field.to_python(mobile), pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0004_audit_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="applicant",
            name="id_number_hash",
            field=gonghui.pii.DerivedCharField(
                derive="hash",
                max_length=64,
                null=True,
                source="id_number",
                verbose_name="身份证号摘要",
            ),
        ),
        migrations.AddField(
            model_name="applicant",
            name="id_tail",
            field=gonghui.pii.DerivedCharField(
                db_index=True,
                derive="tail",
                max_length=4,
                null=True,
                source="id_number",
                verbose_name="身份证号后4位",
            ),
        ),
        migrations.AddField(
            model_name="historicalapplicant",
            name="id_number_hash",
            field=gonghui.pii.DerivedCharField(
                db_index=True,
                derive="hash",
                max_length=64,
                null=True,
                source="id_number",
                verbose_name="身份证号摘要",
            ),
        ),
        migrations.AddField(
            model_name="historicalapplicant",
            name="id_tail",
            field=gonghui.pii.DerivedCharField(
                db_index=True,
                derive="tail",
                max_length=4,
                null=True,
                source="id_number",
                verbose_name="身份证号后4位",
            ),
        ),
        migrations.AlterField(
            model_name="applicant",
            name="id_number",
            field=gonghui.pii.EncryptedCharField(max_length=18, verbose_name="身份证号"),
        ),
        migrations.AlterField(
            model_name="applicant",
            name="mobile",
            field=gonghui.pii.EncryptedCharField(max_length=11, verbose_name="手机号码"),
        ),
        migrations.RunPython(encrypt, decrypt, elidable=False),
        migrations.AlterField(
            model_name="applicant",
            name="id_number_hash",
            field=gonghui.pii.DerivedCharField(
                derive="hash",
                max_length=64,
                source="id_number",
                unique=True,
                verbose_name="身份证号摘要",
            ),
        ),
        migrations.AlterField(
            model_name="historicalapplicant",
            name="id_number_hash",
            field=gonghui.pii.DerivedCharField(
                db_index=True,
                derive="hash",
                max_length=64,
                source="id_number",
                verbose_name="身份证号摘要",
            ),
        ),
    ]
