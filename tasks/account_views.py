"""The account routes: the export of every task of the token's user, and the erasure of everything kept about them."""

from django.conf import settings
from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from todo_project.schema import ERRORS, FreshTokenErrorSerializer

from .account import EXPORT_FILENAME, ExportDocument, erase_user
from .permissions import FreshToken
from .scoping import UserPathMixin
from .serializers import AccountExportSerializer

# The schema says the age the settings give, in the unit the 401 itself uses.
TOKEN_AGE = f"{settings.ACCOUNT_DELETE_MAX_TOKEN_AGE} seconds"


class AccountExportView(UserPathMixin, APIView):
    @extend_schema(
        summary="Export every task of the user as one JSON document (a file download)",
        tags=["account"],
        responses={200: AccountExportSerializer},
        parameters=[
            OpenApiParameter(
                "Content-Disposition",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description=f'`attachment; filename="{EXPORT_FILENAME}"`',
            )
        ],
    )
    def get(self, request, user_id=None):
        """Read in one snapshot into a file, then sent from it: a slow download holds no database connection."""
        document = ExportDocument(user_id=request.user.id)
        if not connection.in_atomic_block:  # closed inside a caller's transaction (a test's), it would end it
            # Given back now, not when the client has read the last byte: to the worker's pool under the gevent
            # worker; under thread workers (CONN_MAX_AGE) the thread's next request opens a new one, a few
            # milliseconds once per export, instead of leaving it idle for the whole download.
            connection.close()
        headers = {"Content-Length": document.size, "Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"'}
        return StreamingHttpResponse(document, content_type="application/json", headers=headers)


class AccountView(UserPathMixin, APIView):
    permission_classes = [IsAuthenticated, FreshToken]

    @extend_schema(
        summary=f"Erase everything kept about the user (needs a token issued in the last {TOKEN_AGE})",
        tags=["account"],
        responses={
            204: OpenApiResponse(description="Erased (also when there was nothing to erase)."),
            401: OpenApiResponse(
                FreshTokenErrorSerializer,
                description=f"{ERRORS[401].description} `token_not_fresh`: the token is older than "
                f"`ACCOUNT_DELETE_MAX_TOKEN_AGE` ({TOKEN_AGE}) or has no `iat`; nothing was erased.",
            ),
        },
    )
    def delete(self, request, user_id=None):
        """Tasks, counters and every other per-user row, in one transaction; other users are untouched."""
        erase_user(user_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)
