"""In-process cost per request of the request-id and metrics middlewares and of one access line (the project's JSON
line against gunicorn's default text line), in µs: the best of 5 runs of 20,000 calls each.

    .venv/bin/python bench/observability.py
"""

import datetime
import importlib.util
import os
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# prometheus_client reads it once, at import: multiprocess mode, as under gunicorn (the folder goes at exit).
METRICS_DIR = tempfile.TemporaryDirectory(prefix="prometheus-bench-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR.name
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402
from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402

from todo_project.metrics import MetricsMiddleware  # noqa: E402
from todo_project.request_ids import RequestIdMiddleware  # noqa: E402

CALLS = 20_000
OLD_ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'  # gunicorn.conf.py before #14


def best(call) -> float:
    return min(timeit.repeat(call, number=CALLS, repeat=5)) / CALLS * 1e6


class Response:
    status = "200 OK"
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "0f8fad5b-d9cb-469f-a165-70867728950e")]
    sent = 5000


class Request:
    headers = [("HOST", "127.0.0.1"), ("AUTHORIZATION", "Bearer x"), ("USER-AGENT", "wrk")]


def access_logger(logger_class, **settings):
    config = Config()
    config.set("accesslog", "-")
    for name, value in settings.items():
        config.set(name, value)
    log = logger_class(config)
    for handler in log.access_log.handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    return log


def main() -> None:
    response = HttpResponse(b"{}")
    request = RequestFactory().get("/api/tasks", HTTP_AUTHORIZATION="Bearer x")
    request.resolver_match = resolve("/api/tasks")
    both = RequestIdMiddleware(MetricsMiddleware(lambda r: response))
    print(f"request id + metrics middlewares: {best(lambda: both(request)):.1f} µs")

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/tasks",
        "RAW_URI": "/api/tasks",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "wrk",
        **{f"wsgi.key{i}": "value" for i in range(20)},  # a real environ has about 30 keys
    }
    elapsed = datetime.timedelta(microseconds=2500)
    old = access_logger(Logger, access_log_format=OLD_ACCESS_LOG_FORMAT)
    new = access_logger(conf.AccessLogger, logconfig_dict=conf.logconfig_dict)
    print(f"access line, gunicorn's text: {best(lambda: old.access(Response, Request, environ, elapsed)):.1f} µs")
    print(f"access line, the project's JSON: {best(lambda: new.access(Response, Request, environ, elapsed)):.1f} µs")


if __name__ == "__main__":
    main()
