"""Issue an API token to a bank officer; the key is printed once and stored only hashed."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken

from accounts.choices import Role
from accounts.scoping import role_of


class Command(BaseCommand):
    help = "Issue a new API token for a bank officer and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--days", type=int, default=90, help="days until the token expires (default 90)"
        )

    def handle(self, *args, username, days, **options):
        if not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if role_of(user) != Role.BANK_OFFICER:
            raise CommandError(f"{username!r} is not a bank officer; API tokens are for banks")
        if not user.is_active:
            raise CommandError(f"{username!r} is not active")
        token, key = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
        self.stdout.write(key)
        self.stderr.write(
            f"Token for {username} (bank {user.profile.bank}) expires "
            f"{token.expiry:%Y-%m-%d %H:%M %Z}. It is shown only this once."
        )
