"""gunicorn settings, read from the project directory by every `gunicorn` started there (the Procfile's too)."""

import gc

# Slow clients: a thread worker parks a thread on each client until its request has fully arrived, so a few clients
# sending a byte at a time left /health unanswered (BENCHMARKS.md, "Slow clients"). gevent serves each connection in
# a greenlet; todo_project/gunicorn_worker.py says what it adds for Django. tests/test_slow_clients.py runs the
# Procfile's command under such clients.
worker_class = "todo_project.gunicorn_worker.GeventWorker"
# The Procfile's --worker-connections caps the client connections of a worker, slow ones included. Each one that
# has made a request keeps a database connection until it closes: through Neon's pooler that is cheap; on a direct
# host keep workers x connections under PostgreSQL's max_connections.

# The default access log writes the request line with its query string and the Referer: a client that wrongly puts a
# token in the URL (?token=...) would get it written to the logs. The path alone (%(U)s) is logged instead.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


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
