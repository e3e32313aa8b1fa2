"""Test settings whose URLconf has a route that fails (tests/failing_urls.py), for processes started by tests."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.failing_urls"
