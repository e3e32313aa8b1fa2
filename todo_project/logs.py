"""Log lines: the request id on every line written inside a request, JSON or text, and never a token."""

import logging
import re

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from .request_ids import current_request_id

# A JWT's header and payload are base64url JSON objects, so each starts with "eyJ" ('{"'): whatever a token rides
# in (a path, an exception's message, a traceback), that part and the rest of the token go.
TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}")
REDACTED = "[token redacted]"


def redact_tokens(text: str) -> str:
    return TOKEN.sub(REDACTED, text) if "eyJ" in text else text


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to the lines written while a request is served (the access line brings its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line: timestamp (ISO 8601, UTC), level, logger, message, process (which gunicorn worker),
    the extras, any traceback."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(process)d",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            # Django's request logger passes the request object, whose repr holds the query string.
            reserved_attrs=[*RESERVED_ATTRS, "request", "server_time"],
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact_tokens(super().format(record))


class TextFormatter(logging.Formatter):
    """For people (DEBUG on): time, level, logger, request id, message."""

    def __init__(self) -> None:
        fmt = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        super().__init__(fmt, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        return redact_tokens(super().format(record))
