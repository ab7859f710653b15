"""Encrypt applicants' resident IDs and mobile numbers and add their lookup columns (issue 8).

The ID's uniqueness moves from the clear column to ``id_number_hash``. Rows are read with plain
SQL, 1,000 at a time in id order (each batch starts after the last id of the one before, so
memory stays flat and no batch rescans the table), and written back with one ``bulk_update``
per batch: a table of a million applicants costs about a thousand round trips, not a million.
A value a configured key decrypts is taken as already encrypted, so a partly run step can
rerun. The reverse step writes the clear values back the same way, so the migration can be
unapplied while the keys are still at hand.
"""

from django.db import migrations, models

import gonghui.pii

BATCH = 1000
FIELDS = ["id_number", "mobile", "id_number_hash", "id_tail"]


def _batches(cursor):
    """The applicants' ``(id, id_number, mobile)`` as stored, ``BATCH`` rows at a time."""
    last = 0
    while True:
        cursor.execute(
            "SELECT id, id_number, mobile FROM loans_applicant WHERE id > %s ORDER BY id LIMIT %s",
            [last, BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _clear(value):
    """The clear text of a stored value, encrypted or (before this step) not."""
    if not value:
        return value
    clear = gonghui.pii.decrypt_stored(value)
    return value if clear is None else clear


def encrypt(apps, schema_editor):
    Applicant = apps.get_model("loans", "Applicant")
    manager = Applicant.objects.db_manager(schema_editor.connection.alias)
    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor):
            applicants = []
            for pk, id_number, mobile in rows:
                id_number = _clear(id_number)
                applicants.append(
                    Applicant(
                        pk=pk,
                        id_number=id_number,  # encrypted by the field on the way in
                        mobile=_clear(mobile),
                        id_number_hash=gonghui.pii.keyed_hash(id_number),
                        id_tail=gonghui.pii.last_four(id_number),
                    )
                )
            manager.bulk_update(applicants, FIELDS, batch_size=BATCH)
        # Earlier history rows take their applicant's lookup columns ("" once it is deleted).
        for column in ("id_number_hash", "id_tail"):
            cursor.execute(
                f"UPDATE loans_historicalapplicant SET {column} = COALESCE(("  # noqa: S608
                f"SELECT a.{column} FROM loans_applicant a "
                "WHERE a.id = loans_historicalapplicant.id), '')"
            )


def decrypt(apps, schema_editor):
    Applicant = apps.get_model("loans", "Applicant")
    manager = Applicant.objects.db_manager(schema_editor.connection.alias)

    def clear_text(value):
        # An expression is written as it is: the field would encrypt a plain value again.
        return models.Value(_clear(value), output_field=models.TextField())

    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor):
            applicants = [
                Applicant(pk=pk, id_number=clear_text(id_number), mobile=clear_text(mobile))
                for pk, id_number, mobile in rows
            ]
            manager.bulk_update(applicants, ["id_number", "mobile"], batch_size=BATCH)


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
