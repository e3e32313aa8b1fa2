"""PostgreSQL for the gevent workers: the greenlets of a process share a few connections.

Django keeps a connection per greenlet, so under gunicorn's gevent worker every client connection had one of its own
(todo_project/gunicorn_worker.py says what that cost). With this engine a request takes a connection from its
process's pool at its first query and gives it back when Django closes it at the end of the request
(CONN_MAX_AGE 0); past OPTIONS["MAX_CONNS"] connections, requests wait for one to come back, for at most
OPTIONS["POOL_TIMEOUT"] seconds: then PoolTimeout, a 503 with Retry-After (todo_project/errors.py), so that a
worker whose connections are all held answers its clients instead of leaving them waiting for ever. Only the gevent
worker selects it.

Why not django-db-geventpool (which gives the same settings): its pool counts a connection only once it is open,
and psycopg2 yields while connecting, so a burst of 40 clients opened 40 connections through a pool of 3
(tests/test_slow_clients.py); and it runs SELECT 1 on every checkout. Here a slot is taken before connecting, and
an idle connection is checked only when it has been idle longer than CHECK_IDLE_AFTER (a Neon compute that
suspended dropped it): under load a request sends no query of its own.
"""

import time

import gevent
import psycopg2
from django.db.backends.postgresql import base
from gevent.lock import BoundedSemaphore
from psycopg2 import extensions

from todo_project.pooled_postgresql import PoolTimeout, wait_limit

CHECK_IDLE_AFTER = 1.0  # seconds


class Pool:
    def __init__(self, size: int, *, timeout: float) -> None:
        self.slots = BoundedSemaphore(size)
        self.timeout = timeout
        self.idle: list[tuple[extensions.connection, float]] = []  # most recently used last

    def take(self, connect):
        """A connection of the pool (opened with `connect()` if none is idle), once one of its slots is free.

        PoolTimeout when none is within `timeout` seconds, or within the shorter wait of `waiting_at_most()`."""
        limit = wait_limit.get()
        timeout = self.timeout if limit is None else min(limit, self.timeout)
        if not self.slots.acquire(timeout=timeout):
            raise PoolTimeout(f"No connection of the pool came free within {timeout} s.")
        try:
            while self.idle:
                connection, since = self.idle.pop()
                if time.monotonic() - since < CHECK_IDLE_AFTER or usable(connection):
                    return connection
                connection.close()
            return connect()
        except BaseException:
            self.slots.release()
            raise

    def give_back(self, connection, *, reuse: bool) -> None:
        """Kept for the next request (out of any transaction) when `reuse` and it is open; closed otherwise."""
        try:
            if not reuse:
                connection.close()
            if connection.closed:
                return
            if connection.info.transaction_status != extensions.TRANSACTION_STATUS_IDLE:
                connection.rollback()
            self.idle.append((connection, time.monotonic()))
        except Exception:
            connection.close()
            raise
        finally:
            self.slots.release()
            # The greenlet giving a connection back goes straight on with its client's next request, and would take
            # the slot again before those waiting for it woke up (they waited seconds under load): they go first.
            gevent.sleep(0)


def usable(connection) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except psycopg2.Error:
        return False


POOLS: dict[str, Pool] = {}


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        pool = POOLS.get(self.alias)
        if pool is None:
            options = self.settings_dict["OPTIONS"]
            pool = POOLS[self.alias] = Pool(options["MAX_CONNS"], timeout=options["POOL_TIMEOUT"])
        return pool.take(lambda: super(DatabaseWrapper, self).get_new_connection(conn_params))

    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        for name in ("MAX_CONNS", "POOL_TIMEOUT"):  # the pool's, not libpq options
            params.pop(name, None)
        return params

    def _close(self) -> None:
        if self.connection is not None:
            with self.wrap_database_errors:
                # Closed inside an atomic block, Django keeps its reference until the block ends: not for reuse.
                POOLS[self.alias].give_back(self.connection, reuse=not self.in_atomic_block)
