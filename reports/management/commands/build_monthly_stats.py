from django.core.management.base import BaseCommand, CommandError

from gonghui.errors import DomainError
from loans.models import Program
from reports.services import build_monthly_snapshot, parse_month


class Command(BaseCommand):
    help = "生成（或重新生成）某项目某月的业务完成情况统计表（附件3）"

    def add_arguments(self, parser):
        parser.add_argument("--program", required=True, help="项目代码，如 jgd-2020")
        parser.add_argument("--month", required=True, help="统计月份 YYYY-MM")

    def handle(self, *args, program, month, **options):
        try:
            chosen = Program.objects.get(code=program)
            snapshot = build_monthly_snapshot(program=chosen, month=parse_month(month))
        except Program.DoesNotExist:
            raise CommandError(f"没有代码为 {program} 的贷款项目") from None
        except DomainError as error:
            raise CommandError(error.message) from None
        total = snapshot.rows.get(unit__isnull=True)
        self.stdout.write(
            f"{chosen} {snapshot.month:%Y-%m}：{snapshot.rows.count() - 1}个单位，"
            f"{total.loans}笔，{total.amount}元，完成率{total.completion_rate}%"
        )
