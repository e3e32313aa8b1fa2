"""gunicorn's gevent worker made safe for Django on psycopg2: queries yield, and connections do not pile up."""

from gunicorn.workers.ggevent import GeventWorker as GunicornGeventWorker


class GeventWorker(GunicornGeventWorker):
    """Every client connection is served by its own greenlet, so a client that dribbles its request holds a little
    memory instead of one of a handful of threads (tests/test_slow_clients.py).

    Two things gevent alone gets wrong for Django:
    - psycopg2 waits for PostgreSQL inside C, where gevent cannot switch: one slow query would stop every other
      request of the worker. psycogreen's wait callback makes it yield.
    - Django keeps a database connection per greenlet (its connections are context-local), and a greenlet ends
      with its client connection. Left to the garbage collector, those connections piled up past PostgreSQL's
      max_connections under clients that do not keep their connection alive. Each one is closed as its client
      leaves; a client that keeps its connection alive keeps its database connection too.
    """

    def patch(self) -> None:
        super().patch()
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()

    def handle(self, listener, client, addr) -> None:
        try:
            super().handle(listener, client, addr)
        finally:
            from django.db import connections

            connections.close_all()
