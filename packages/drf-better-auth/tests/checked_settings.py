"""tests/settings.py with the optional app installed (its system checks on) and the secret from CHECKED_SECRET."""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "drf_better_auth"]  # noqa: F405
BETTER_AUTH_SECRET = os.environ["CHECKED_SECRET"]
