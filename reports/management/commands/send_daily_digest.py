"""``manage.py send_daily_digest [--date YYYY-MM-DD]``: the daily digest, run by hand."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reports.digest import send_daily_digest


class Command(BaseCommand):
    help = "向有待办提醒的用户发送每日提醒邮件（与 Celery 定时任务相同）。"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按该日期（YYYY-MM-DD）生成提醒，默认今天")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("日期格式应为 YYYY-MM-DD") from exc
        result = send_daily_digest(today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"已发送{result.sent}封每日提醒邮件；"
                f"{result.without_reminders}位用户无待办事项；发送失败{result.failed}封。"
            )
        )
