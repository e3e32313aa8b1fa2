"""Per-user rate limit: THROTTLE_USER_RATE, shared through the cache (Redis with REDIS_URL)."""

import hashlib
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, with the rate from THROTTLE_USER_RATE.

    DRF's own reads DEFAULT_THROTTLE_RATES into a class attribute at import; this one reads the setting each time a
    request's throttle is made, so that a test's override reaches it. Like every setting, it comes from the
    environment at start-up: a new rate in production takes a restart.

    When the shared counters (Redis) cannot be reached, the request is let through and the outage logged: the
    limit guards against abuse, not against access (authentication and isolation still hold), and a 503 would
    turn an outage of Redis into an outage of the whole API.
    """

    def get_cache_key(self, request, view) -> str | None:
        # The user id hashed: a `sub` may hold spaces or any character, which cache backends refuse in keys.
        if not request.user.is_authenticated:
            return None
        ident = hashlib.sha256(str(request.user.pk).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_rate(self) -> str | None:
        return settings.THROTTLE_USER_RATE

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.error("Rate limit not applied: the throttle cache is unreachable (%s)", exc)
            return True
