"""Rewrite every applicant's resident ID and mobile with the first FIELD_ENCRYPTION_KEY and
recompute the lookup columns with PII_HASH_KEY (key rotation, docs/operations.md)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from gonghui.pii import fill_derived
from loans.models import Applicant

BATCH = 500
FIELDS = ["id_number", "mobile", "id_number_hash", "id_tail"]


class Command(BaseCommand):
    help = "用当前密钥重新加密申请人的身份证号和手机号，并重算查询摘要"

    def handle(self, *args, **options):
        done = 0
        ids = list(Applicant.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                rows = list(
                    Applicant.objects.select_for_update()
                    .filter(pk__in=ids[start : start + BATCH])
                    .only("pk", *FIELDS)
                )
                for row in rows:
                    fill_derived(row)
                Applicant.objects.bulk_update(rows, FIELDS)
            done += len(rows)
        self.stdout.write(f"已重新加密 {done} 名申请人")
