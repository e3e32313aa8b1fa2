"""Request ids: kept from the client's `X-Request-ID` when well-formed, made otherwise, echoed on every response."""

import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished

HEADER = "X-Request-ID"
# Letters, digits, '.', '_' and '-' only: the id is copied into log lines and response headers as it came.
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,128}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_for(incoming: str) -> str:
    """The client's id when it is well-formed, a new one otherwise."""
    return incoming if WELL_FORMED.fullmatch(incoming) else str(uuid.uuid4())


class RequestIdMiddleware:
    """The outermost middleware, so that every response (errors from the other middleware included) carries the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get(HEADER, ""))
        current_request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def forget_request_id(**kwargs) -> None:
    # Cleared when the response is closed, not when the middleware returns: Django logs a 4xx/5xx ("Not Found:
    # /api/x") after the middleware chain, and that line belongs to the request too.
    current_request_id.set(None)


request_finished.connect(forget_request_id, dispatch_uid="todo_project.request_ids")
