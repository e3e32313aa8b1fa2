"""WSGI entry point (gunicorn todo_project.wsgi)."""

import io
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from todo_project.errors import json_error
from todo_project.request_ids import HEADER, request_id_for

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

if settings.SENTRY_DSN:
    # Here, in the worker that serves requests (settings.py says why not there).
    from todo_project.sentry import init_sentry

    init_sentry(dsn=settings.SENTRY_DSN)

LENGTH_REQUIRED = "This server cannot read a chunked request body; send it with a Content-Length."


class ChunkedBodies:
    """A request body sent with `Transfer-Encoding: chunked` (no Content-Length) read as sent, never as empty.

    Django reads CONTENT_LENGTH bytes of wsgi.input, none when it is missing: such a body reached the views empty (a
    PATCH .../complete of {"completed": true} flipped the task instead). gunicorn decodes the chunks into wsgi.input
    and says that the stream ends with the body (wsgi.input_terminated). The body is read up to one byte past
    DATA_UPLOAD_MAX_MEMORY_SIZE and handed on with its length, so Django and the parsers treat it as any body with
    a Content-Length: the same limit and the same 413, 400 and 415. A server that passes the raw chunks on
    (runserver) gets a 411 (RFC 9110, 15.5.12).
    """

    def __init__(self, application) -> None:
        self.application = application

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
            if not environ.get("wsgi.input_terminated"):
                response = json_error(411, LENGTH_REQUIRED)
                # Answered before Django's middleware, so the request id is added here (every response has one).
                response[HEADER] = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
                start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
                return [response.content]
            body = environ["wsgi.input"].read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
            environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        return self.application(environ, start_response)


application = ChunkedBodies(get_wsgi_application())
