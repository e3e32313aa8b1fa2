"""Write one user's export document (the body of GET /api/account/export) to stdout."""

import codecs

from django.core.management.base import BaseCommand, CommandError
from drf_better_auth.tokens import TokenInvalid, check_subject

from tasks.account import ExportDocument


class Command(BaseCommand):
    help = "Write every task of USER_ID to stdout as the API's export document (JSON), read in one snapshot."

    def add_arguments(self, parser):
        parser.add_argument("user_id", help="the Better Auth user id (the JWT's sub)")

    def handle(self, *args, user_id, **options):
        try:
            check_subject(user_id)
        except TokenInvalid as exc:
            raise CommandError(f"Invalid user id: {exc}.") from exc
        document = ExportDocument(user_id=user_id)
        try:
            # Decoded across blocks: a block may end in the middle of a character.
            for text in codecs.iterdecode(document, "utf-8"):
                self.stdout.write(text, ending="")
        finally:
            document.close()
        self.stdout.write("")
