"""Health checks and the JSON 404 for unknown API routes."""

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .pooled_postgresql import waiting_at_most
from .schema import ERRORS

# Seconds the probe waits for a connection of the worker's pool: a saturated worker says so well within the 2 s a
# platform's probe may allow, instead of queueing the probe behind the requests.
READINESS_POOL_WAIT = 0.5


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


HealthSerializer = inline_serializer("Health", {"status": serializers.CharField()})


class Liveness(PublicView):
    """The process answers; touches no database."""

    @extend_schema(responses=HealthSerializer)
    def get(self, request):
        return Response({"status": "healthy"})


class Readiness(PublicView):
    """The database answers through a connection of the worker's pool."""

    @extend_schema(
        description="The database answers (503 when it does not, or when none of this worker's connections comes "
        f"free within {READINESS_POOL_WAIT} s).",
        responses={200: HealthSerializer, 503: ERRORS[503]},
    )
    def get(self, request):
        with waiting_at_most(READINESS_POOL_WAIT), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ready"})


class UnknownRoute(PublicView):
    """Any path under /api/ that no route takes: a JSON 404 for every method, even with DEBUG on."""

    def initial(self, request, *args, **kwargs):
        raise NotFound()
