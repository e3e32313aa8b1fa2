"""The API's use of drf_better_auth's FreshToken: its age is ACCOUNT_DELETE_MAX_TOKEN_AGE."""

from django.conf import settings
from drf_better_auth import permissions


class FreshToken(permissions.FreshToken):
    """DELETE /api/account takes only a token issued in the last ACCOUNT_DELETE_MAX_TOKEN_AGE seconds."""

    @property
    def max_age(self) -> int:  # read per request, as every setting of this API is
        return settings.ACCOUNT_DELETE_MAX_TOKEN_AGE
