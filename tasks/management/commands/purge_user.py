"""Erase everything kept about one user, as DELETE /api/account does: for an operator honouring an erasure request."""

from django.core.management.base import BaseCommand, CommandError
from drf_better_auth.tokens import TokenInvalid, check_subject

from tasks.account import count_user_rows, erase_user


class Command(BaseCommand):
    help = "Erase every row kept about USER_ID (tasks, counters and every other per-user table) in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("user_id", help="the Better Auth user id (the JWT's sub)")
        parser.add_argument("--yes", action="store_true", help="erase without asking for confirmation")

    def handle(self, *args, user_id, yes, **options):
        try:
            check_subject(user_id)
        except TokenInvalid as exc:
            raise CommandError(f"Invalid user id: {exc}.") from exc
        if not yes:
            self.stdout.write(f"Rows kept about {user_id!r}:")
            self.write_counts(count_user_rows(user_id=user_id))
            if not self.confirmed("Erase them all for good? Type 'yes' to continue: "):
                raise CommandError("Cancelled: nothing was erased.")
        removed = erase_user(user_id=user_id)
        self.stdout.write(f"Erased {sum(removed.values())} rows kept about {user_id!r}:")
        self.write_counts(removed)

    def confirmed(self, question: str) -> bool:
        try:
            return input(question).strip().lower() == "yes"
        except EOFError:  # no terminal to answer from: not a yes
            return False

    def write_counts(self, rows: dict[str, int]) -> None:
        for table, count in rows.items():
            self.stdout.write(f"  {table}: {count}")
