"""gunicorn's gevent worker made safe for Django on psycopg2: queries yield, and greenlets share a few connections."""

from gunicorn.workers.ggevent import GeventWorker as GunicornGeventWorker

POOLED_ENGINE = "todo_project.pooled_postgresql"


class GeventWorker(GunicornGeventWorker):
    """Every client connection is served by its own greenlet, so a client that dribbles its request holds a little
    memory instead of one of a handful of threads (tests/test_slow_clients.py).

    Two things gevent alone gets wrong for Django:
    - psycopg2 waits for PostgreSQL inside C, where gevent cannot switch: one slow query would stop every other
      request of the worker. psycogreen's wait callback makes it yield.
    - Django keeps a database connection per greenlet (its connections are context-local), so every client
      connection had one of its own: under 200 kept-alive clients the benchmark's 4 workers passed PostgreSQL's
      max_connections (503s), and each new client paid for a new connection. Instead, the greenlets of a worker
      share a pool of DATABASE_POOL_SIZE connections (todo_project/pooled_postgresql): a request takes one at its
      first query and gives it back when it ends (CONN_MAX_AGE 0 then means "back to the pool", not "closed");
      past the pool's size, requests wait for one, in turn, for at most DATABASE_POOL_TIMEOUT seconds (then a 503).
      A client waiting or reading slowly holds no connection (the account export reads its snapshot into a file
      first). Only PostgreSQL: SQLite stays as it is.
    """

    def patch(self) -> None:
        super().patch()
        from django.conf import settings
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
        # Before the application is loaded: no connection has been made in this process yet.
        for database in settings.DATABASES.values():
            if settings.DATABASE_POOL_SIZE and database["ENGINE"] == "django.db.backends.postgresql":
                database.update(ENGINE=POOLED_ENGINE, CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
                # The pool checks a connection that sat idle before handing it out, instead of CONN_HEALTH_CHECKS.
                options = database.setdefault("OPTIONS", {})
                options.update(MAX_CONNS=settings.DATABASE_POOL_SIZE, POOL_TIMEOUT=settings.DATABASE_POOL_TIMEOUT)

    def handle(self, listener, client, addr) -> None:
        """Without the pool (DATABASE_POOL_SIZE=0, or SQLite) a greenlet's own connections close with its client."""
        try:
            super().handle(listener, client, addr)
        finally:
            from django.db import connections

            connections.close_all()
