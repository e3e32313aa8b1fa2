"""Error tracking: 500s go to Sentry (SENTRY_DSN) with the request id as a tag, without a token or personal data."""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from .logs import redact_tokens
from .request_ids import current_request_id


def init_sentry(*, dsn: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        # Unhandled exceptions only (the Django integration): an ERROR log line is for the logs, not an event, so a
        # 503 for an unreachable database or key source is not reported as a bug.
        integrations=[DjangoIntegration(), LoggingIntegration(event_level=None)],
        # send_default_pii stays off (its default; the option itself is deprecated in sentry-sdk 2.75): no user,
        # no IP address, no cookies, and the Authorization header is filtered.
        max_request_body_size="never",  # task titles and notes are the users' data
        before_send=scrub_event,
    )


def scrub_event(event: dict, hint: dict) -> dict:
    """The request id as a tag; no query string, cookie or Authorization header; no JWT anywhere in the event."""
    request = event.get("request", {})
    for key in ("query_string", "cookies", "data"):
        request.pop(key, None)
    request.get("headers", {}).pop("Authorization", None)
    request_id = current_request_id.get()
    if request_id is not None:
        event.setdefault("tags", {})["request_id"] = request_id
    return redact(event)


def redact(value):
    """The event with every JWT in its strings (exception messages, local variables, breadcrumbs) taken out."""
    if isinstance(value, str):
        return redact_tokens(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
