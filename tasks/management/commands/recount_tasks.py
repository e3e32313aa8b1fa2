"""Rebuild the per-user task counters from the rows, for the day they drift (a restore, a manual SQL edit)."""

from django.core.management.base import BaseCommand

from tasks.counting import recount


class Command(BaseCommand):
    help = "Count every user's tasks (or one user's) again and correct the counters that the lists read."

    def add_arguments(self, parser):
        parser.add_argument("--user", dest="user_id", help="only this Better Auth user id")

    def handle(self, *args, user_id, **options):
        fixed = recount(user_id=user_id)
        for user, (total, completed), (right_total, right_completed) in fixed:
            self.stdout.write(
                f"{user}: {total} tasks, {completed} completed -> {right_total} tasks, {right_completed} completed"
            )
        checked = f"user {user_id}" if user_id else "every user"
        self.stdout.write(f"Fixed {len(fixed)} counter(s); checked {checked}.")
