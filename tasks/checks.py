"""Deployment checks (`manage.py check --deploy`) for what this API needs beyond Django's own."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def throttle_is_shared(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Without REDIS_URL each process counts THROTTLE_USER_RATE on its own: with several workers or instances a
    user gets the limit once per process."""
    if settings.DEBUG or settings.REDIS_URL or settings.WEB_CONCURRENCY == 1:
        return []
    workers = settings.WEB_CONCURRENCY or "an unknown number of (WEB_CONCURRENCY is unset)"
    return [
        checks.Warning(
            f"REDIS_URL is not set, so each of {workers} gunicorn workers, and of the instances, keeps its own "
            f"rate-limit counters: a user gets THROTTLE_USER_RATE once per process.",
            hint="Set REDIS_URL on every instance, or WEB_CONCURRENCY=1 if one process serves the API alone.",
            id="tasks.W001",
        )
    ]
