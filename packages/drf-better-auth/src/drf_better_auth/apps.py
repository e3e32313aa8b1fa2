"""Optional: "drf_better_auth" in INSTALLED_APPS has Django run the package's system checks at start.

The app has no models and no migrations; authentication works without it.
"""

from django.apps import AppConfig


class BetterAuthConfig(AppConfig):
    name = "drf_better_auth"
    verbose_name = "Better Auth JWT"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers them)
