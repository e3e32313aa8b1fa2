"""WSGI entry point (gunicorn todo_project.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

if settings.SENTRY_DSN:
    # Here, in the worker that serves requests (settings.py says why not there).
    from todo_project.sentry import init_sentry

    init_sentry(dsn=settings.SENTRY_DSN)

application = get_wsgi_application()
