"""Prometheus metrics of the HTTP traffic and the webhook worker at GET /metrics, summed over gunicorn's workers and
the worker process when they share PROMETHEUS_MULTIPROC_DIR (see gunicorn.conf.py, docs/deploy.md)."""

import functools
import hmac
import time

from django.conf import settings
from django.contrib.admindocs.views import simplify_regex
from django.dispatch import receiver
from django.urls import ResolverMatch
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_better_auth.signals import jwks_fetched
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.django import PrometheusDjangoView

from .errors import json_error, page_not_found

# prometheus_client itself rather than django-prometheus, whose series (django_http_requests_total_by_view_...)
# are labelled by view name and would not be the ones operators are told to scrape.
REQUESTS = Counter("http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"])
# Every call of an MCP tool (tasks/mcp.py) by tool name (only the server's own tools: an unknown name is a protocol
# error, not counted) and outcome: `ok`, or `error` for a refusal (a bad value, an unknown task).
MCP_TOOL_CALLS = Counter("mcp_tool_calls_total", "MCP tool calls answered.", ["tool", "outcome"])
# Any other method is counted as "other": a label per made-up method would let clients grow the metrics unbounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNROUTED = "unrouted"  # answered before URL resolution (CORS preflights, redirects to HTTPS) or by no route
# An operator alerts on a run of errors (Better Auth unreachable, keys going stale).
JWKS_FETCHES = Counter("jwks_fetches", "Fetches of Better Auth's JWKS, by outcome.", ["outcome"])
# The webhook worker's (tasks/delivery.py), one count per attempt: outcome `delivered` (a 2xx), `error` (retried
# later), `failed` (retrying stopped), `cancelled` (a reminder whose task no longer asks for it, not sent).
WEBHOOK_DELIVERIES = Counter(
    "webhook_deliveries", "Webhook delivery attempts, by type and outcome.", ["type", "outcome"]
)
# A message's first 2xx minus its time (the event's, or the reminder's due time): from a tenth of a second (on time)
# to the hour a receiver down for long makes it.
WEBHOOK_DELIVERY_LAG = Histogram(
    "webhook_delivery_lag_seconds",
    "Time from a webhook's scheduled time to its delivery.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, float("inf")),
)
# Messages neither delivered nor given up on, as the worker last counted them; with several workers, the latest count.
WEBHOOK_PENDING = Gauge(
    "outbox_pending", "Webhook messages waiting to be delivered, by type.", ["type"], multiprocess_mode="mostrecent"
)


@receiver(jwks_fetched)
def count_jwks_fetch(*, error: BaseException | None, **kwargs) -> None:
    JWKS_FETCHES.labels(outcome="ok" if error is None else "error").inc()


@functools.cache
def route_label(route: str) -> str:
    """A route's pattern as a label: `api/tasks/(?P<pk>...)/?$` → `/api/tasks/<pk>`, never the path with its ids."""
    return simplify_regex(route).rstrip("/") or "/"


def route_of(match: ResolverMatch | None) -> str:
    return route_label(match.route) if match is not None else UNROUTED


class MetricsMiddleware:
    """Counts and times every response by method, route pattern and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        route = route_of(request.resolver_match)
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        DURATION.labels(method, route).observe(time.perf_counter() - started)
        return response


@method_decorator(csrf_exempt, name="dispatch")
class MetricsView(PrometheusDjangoView):
    """Prometheus' text format for a scraper holding METRICS_TOKEN; 404 while no token is set."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.METRICS_TOKEN:
            return page_not_found(request)
        expected = f"Bearer {settings.METRICS_TOKEN}".encode()
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            response = json_error(401, "Send 'Authorization: Bearer <METRICS_TOKEN>'.")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = json_error(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, OPTIONS"
        return response
