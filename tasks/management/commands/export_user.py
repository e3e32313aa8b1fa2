"""Write one user's export document (the body of GET /api/account/export) to stdout."""

from django.core.management.base import BaseCommand, CommandError
from drf_better_auth.tokens import TokenInvalid, check_subject

from tasks.account import ExportStream


class Command(BaseCommand):
    help = "Write every task of USER_ID to stdout as the API's export document (JSON), streamed in chunks."

    def add_arguments(self, parser):
        parser.add_argument("user_id", help="the Better Auth user id (the JWT's sub)")

    def handle(self, *args, user_id, **options):
        try:
            check_subject(user_id)
        except TokenInvalid as exc:
            raise CommandError(f"Invalid user id: {exc}.") from exc
        stream = ExportStream(user_id=user_id)
        try:
            for chunk in stream:
                self.stdout.write(chunk.decode(), ending="")
        finally:
            stream.close()
        self.stdout.write("")
