"""The gevent workers' PostgreSQL engine (base.py), and the two things the rest of the project knows about its pool.

Kept apart from base.py, which imports gevent and psycopg2, so that the exception handler and the readiness probe
can name them under any server and database.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import OperationalError


class PoolTimeout(OperationalError):
    """No connection of the worker's pool came free in time: the database may be fine, this worker is saturated."""


# A shorter wait than the pool's own for the requests of one context (a greenlet under gevent).
wait_limit: ContextVar[float | None] = ContextVar("pool_wait_limit", default=None)


@contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Within the block, a connection taken from the pool is waited for at most `seconds` (the pool's own limit if it
    is shorter); PoolTimeout past it. Nothing changes without the pool."""
    token = wait_limit.set(seconds)
    try:
        yield
    finally:
        wait_limit.reset(token)
