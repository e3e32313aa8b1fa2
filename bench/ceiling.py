"""The practical Python ceiling for the list page: raw WSGI, PyJWT, psycopg2 and orjson, no framework at all.

It answers `GET /api/tasks` with the page the project serves (the token's user's count, then their newest PAGE
tasks), running only the two queries a good implementation needs, so no framework can beat it by much.
Environment: BETTER_AUTH_SECRET (HS256), PG_DSN (libpq key=value), PAGE (50).

    gunicorn ceiling:app --workers 4   (from bench/, in bench/.venv)
"""

import os

import jwt
import orjson
import psycopg2

SECRET = os.environ["BETTER_AUTH_SECRET"]
PAGE = int(os.environ.get("PAGE", "50"))
COUNT = "SELECT count(*) FROM tasks_task WHERE user_id = %s"
NEWEST = (
    "SELECT id, user_id, title, description, completed, created_at, updated_at FROM tasks_task "
    "WHERE user_id = %s ORDER BY created_at DESC LIMIT %s"
)
UNAUTHORIZED = b'{"detail":"Invalid token."}'

_connection = None  # one per worker process: gunicorn's sync workers serve one request at a time


def connection():
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(os.environ["PG_DSN"])
        _connection.autocommit = True  # two reads: no transaction to begin and end around them
    return _connection


def page_of(user_id: str) -> bytes:
    with connection().cursor() as cursor:
        cursor.execute(COUNT, (user_id,))
        count = cursor.fetchone()[0]
        cursor.execute(NEWEST, (user_id, PAGE))
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return orjson.dumps({"count": count, "next": None, "previous": None, "results": rows})


def app(environ, start_response):
    """The WSGI entry point: one route, the list's first page for the HS256 token's `sub`."""
    try:
        token = environ.get("HTTP_AUTHORIZATION", "")[len("Bearer ") :]
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        start_response("401 Unauthorized", [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")])
        return [UNAUTHORIZED]
    body = page_of(claims["sub"])
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
