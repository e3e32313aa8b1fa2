"""Per-user rate limit, read from settings on each request so that it can be changed without a restart of DRF."""

from django.conf import settings
from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, with the rate from THROTTLE_USER_RATE (DRF would freeze it at import)."""

    def get_rate(self) -> str | None:
        return settings.THROTTLE_USER_RATE
