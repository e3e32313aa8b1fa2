"""Print an HS256 token for a user id, signed with BETTER_AUTH_SECRET, for trying the API with curl."""

import time

import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from drf_better_auth.tokens import TokenInvalid, check_subject


class Command(BaseCommand):
    help = "Print a development JWT (HS256, signed with BETTER_AUTH_SECRET) for USER_ID."

    def add_arguments(self, parser):
        parser.add_argument("user_id", help="the Better Auth user id to put in `sub`")
        parser.add_argument("--minutes", type=int, default=15, help="lifetime in minutes (default 15)")
        parser.add_argument("--email", help="an email claim, optional")

    def handle(self, *args, user_id, minutes, email, **options):
        if not settings.BETTER_AUTH_SECRET:
            raise CommandError("BETTER_AUTH_SECRET is not set: there is nothing to sign the token with.")
        if minutes < 1:
            raise CommandError("--minutes must be at least 1.")
        try:
            check_subject(user_id)
        except TokenInvalid as exc:
            raise CommandError(f"Invalid user id: {exc}.") from exc
        now = int(time.time())
        claims = {"sub": user_id, "iat": now, "exp": now + minutes * 60}
        if email:
            claims["email"] = email
        if settings.BETTER_AUTH_ISSUER:
            claims["iss"] = settings.BETTER_AUTH_ISSUER
        if settings.BETTER_AUTH_AUDIENCE:
            claims["aud"] = settings.BETTER_AUTH_AUDIENCE[0]
        self.stdout.write(jwt.encode(claims, settings.BETTER_AUTH_SECRET, algorithm="HS256"))
