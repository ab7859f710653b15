"""``manage.py seed_demo [--seed N]``: load the demo data (see ``loans.demo``)."""

from django.core.management.base import BaseCommand

from gonghui.history import audit_actor
from loans.demo import DEFAULT_SEED, display_width, seed_demo


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class Command(BaseCommand):
    help = (
        "Load the demo programs, units, quotas, banks, users and a realistic spread of "
        "applications and loans. Safe to rerun: existing demo data is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"seed of the random applicants and loans (default {DEFAULT_SEED})",
        )

    def handle(self, *args, seed: int, **options):
        with audit_actor(reason="manage.py seed_demo"):
            result = seed_demo(seed=seed)
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded (seed {result.seed})."))
        else:
            self.stdout.write(
                "Demo applications already exist: nothing new was created "
                "(--seed only matters on a database without them)."
            )
        for name, count in result.counts.items():
            self.stdout.write(f"  {name:<18} {count:>6}")
        headers = ("username", "role", "scope", "password")
        rows = [headers, *result.users]
        widths = [max(display_width(row[i]) for row in rows) for i in range(len(headers))]
        self.stdout.write("")
        self.stdout.write("Demo users:")
        for row in rows:
            self.stdout.write(
                "  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True))
            )
        self.stdout.write(
            "  Passwords are set only when seed_demo creates the user; "
            "an existing user keeps its own."
        )
