"""The daily digest e-mail: each user's reminders, as the home page shows them.

The reminders come from ``loans.selectors.reminders_for`` so the mail and the home page
never disagree. Only active users with an e-mail address and at least one reminder get a
mail; a failure to send to one address is logged and does not stop the others. Links are
absolute when ``PORTAL_BASE_URL`` is set (e.g. ``https://gonghui.example.org``), paths
otherwise.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from accounts.scoping import profile_of
from loans.selectors import Reminder, reminders_for

logger = logging.getLogger(__name__)

PORTAL_NAME = "工会创业贷款贴息管理平台"


@dataclass(frozen=True)
class DigestResult:
    """What one run did: mails sent, users skipped for lack of reminders, failures."""

    sent: int = 0
    without_reminders: int = 0
    failed: int = 0


def _link(path: str) -> str:
    base = getattr(settings, "PORTAL_BASE_URL", "") or ""
    return f"{base.rstrip('/')}{path}" if base else path


def digest_body(user, reminders: list[Reminder], *, today: date) -> str:
    """The plain-text body of one user's digest, in Chinese."""
    name = user.get_full_name() or user.username
    profile = profile_of(user)
    scope = ""
    if profile is not None and profile.unit_id:
        scope = f"（{profile.unit}）"
    elif profile is not None and profile.bank_id:
        scope = f"（{profile.bank}）"
    lines = [
        f"{name}{scope}，您好：",
        "",
        f"截至{today.year}年{today.month}月{today.day}日，您在{PORTAL_NAME}有以下待办事项：",
        "",
    ]
    for number, reminder in enumerate(reminders, start=1):
        lines.append(f"{number}. {reminder.text}")
        lines.append(f"   办理入口：{_link(reminder.url)}")
    lines += [
        "",
        "请登录平台及时办理。本邮件由系统每日自动发送，请勿直接回复。",
        "",
        f"市总工会经济技术部 · {PORTAL_NAME}",
    ]
    return "\n".join(lines)


def digest_message(user, *, today: date) -> EmailMessage | None:
    """The user's digest mail, or None when there is no address or nothing to remind."""
    if not user.email:
        return None
    reminders = reminders_for(user, today=today)
    if not reminders:
        return None
    subject = f"【{PORTAL_NAME}】每日待办提醒（{today:%Y-%m-%d}）"
    return EmailMessage(
        subject=subject,
        body=digest_body(user, reminders, today=today),
        to=[user.email],
    )


def digest_recipients():
    """Active users with an e-mail address; reminders_for decides who has something."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .select_related("profile__unit", "profile__bank")
        .order_by("pk")
    )


def send_daily_digest(*, today: date | None = None, once: bool = False) -> DigestResult:
    """Mail every recipient their reminders of ``today`` (the local date by default).

    ``once`` (the scheduled task): skip users already mailed that day and record each mail
    sent, so a second run of the same day (a retry, a duplicate beat) mails nobody twice.
    A manual re-run (the command) sends again.
    """
    from reports.models import DigestDelivery

    today = today or timezone.localdate()
    sent = without = failed = skipped = 0
    done = (
        set(DigestDelivery.objects.filter(day=today).values_list("user_id", flat=True))
        if once
        else set()
    )
    with get_connection() as connection:
        for user in digest_recipients():
            if user.pk in done:
                skipped += 1
                continue
            message = digest_message(user, today=today)
            if message is None:
                without += 1
                continue
            message.connection = connection
            try:
                message.send()
            except (smtplib.SMTPException, OSError):
                failed += 1
                logger.exception("daily digest to user %s failed", user.pk)
            else:
                sent += 1
                if once:
                    DigestDelivery.objects.get_or_create(user=user, day=today)
    logger.info(
        "daily digest %s: %s sent, %s failed, %s already sent", today, sent, failed, skipped
    )
    return DigestResult(sent=sent, without_reminders=without, failed=failed)
