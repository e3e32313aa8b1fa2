"""Test settings: the real settings module, with defaults for what a test run has no business needing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-" + "x" * 50)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("THROTTLE_USER_RATE", "100000/min")

from todo_project.settings import *  # noqa: E402, F403

# The admin's assets from the apps, as with DEBUG: the manifest of hashed names exists only after collectstatic,
# which tests/test_static_files.py runs with the production storage.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
