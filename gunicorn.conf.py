"""gunicorn settings, read from the project directory by every `gunicorn` started there (the Procfile's too)."""

import gc
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from gunicorn.glogging import Logger

from todo_project.request_ids import HEADER

# Slow clients: a thread worker parks a thread on each client until its request has fully arrived, so a few clients
# sending a byte at a time left /health unanswered (BENCHMARKS.md, "Slow clients"). gevent serves each connection in
# a greenlet; todo_project/gunicorn_worker.py says what it adds for Django. tests/test_slow_clients.py runs the
# Procfile's command under such clients.
worker_class = "todo_project.gunicorn_worker.GeventWorker"
# The Procfile's --worker-connections caps the client connections of a worker, slow ones included. They share the
# worker's DATABASE_POOL_SIZE database connections: a request holds one only while it runs, never while its client
# dribbles a request or reads an answer, so an instance opens at most workers x DATABASE_POOL_SIZE (docs/deploy.md).

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

# Django's LOGGING (LOG_FORMAT, LOG_LEVEL), so that gunicorn's lines have the shape of the application's.
logconfig_dict = settings.LOGGING


class AccessLogger(Logger):
    """One access line per request with its fields as data: method, path, status, duration_ms, request_id.

    The path is logged without its query string (and the Referer not at all): a client that wrongly puts a token in
    the URL (?token=...) would get it written to the logs (a token in the path is taken out by the formatter, as in
    every line). The request id is read from the response, where the application put it. With logconfig_dict set,
    gunicorn writes access lines even without --access-logfile.
    """

    def access(self, resp, req, environ, request_time) -> None:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        status = int(str(resp.status).split(None, 1)[0])
        duration_ms = round(request_time.total_seconds() * 1000, 2)
        request_id = next((value for name, value in resp.headers if name.lower() == HEADER.lower()), None)
        fields = {"method": method, "path": path, "status": status, "duration_ms": duration_ms}
        self.access_log.info("%s %s %s %sms", *fields.values(), extra={**fields, "request_id": request_id})


logger_class = AccessLogger

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
made_metrics_dir: str | None = None


def on_starting(server) -> None:
    """prometheus_client's multiprocess mode: every worker writes its samples to files in one directory and /metrics
    sums them, so that any worker answers a scrape with the instance's totals, not its own.

    Set here, in the master before any worker starts and imports prometheus_client (which reads it once). An
    operator's own PROMETHEUS_MULTIPROC_DIR is emptied of a previous run's files; otherwise a fresh one is made, and
    removed on exit.
    """
    global made_metrics_dir
    if os.environ.get(METRICS_DIR):
        for leftover in Path(os.environ[METRICS_DIR]).glob("*.db"):
            leftover.unlink()
    else:
        made_metrics_dir = os.environ[METRICS_DIR] = tempfile.mkdtemp(prefix="prometheus-")


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if made_metrics_dir:
        shutil.rmtree(made_metrics_dir, ignore_errors=True)


def post_worker_init(worker) -> None:
    """Take what the worker loaded at start-up out of the garbage collector's full passes.

    Django, DRF and the URLconf (loaded here, not by the first request) leave a few hundred thousand objects that
    live as long as the worker. Every full collection walked them all, every few seconds under load, in all workers at
    nearly the same moment, which set the list's p99 (BENCHMARKS.md has the times, before and after).
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the views, serializers and DRF)
    gc.collect()
    gc.freeze()
