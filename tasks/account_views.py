"""The account routes: the export of every task of the token's user, and the erasure of everything kept about them."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from todo_project.schema import ERRORS, FreshTokenErrorSerializer

from .account import EXPORT_FILENAME, ExportStream, erase_user
from .permissions import FreshToken
from .scoping import UserPathMixin
from .serializers import AccountExportSerializer


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
        """Streamed in chunks read in one snapshot (tasks/account.py): memory does not grow with the tasks."""
        response = StreamingHttpResponse(ExportStream(user_id=request.user.id), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
        return response


class AccountView(UserPathMixin, APIView):
    permission_classes = [IsAuthenticated, FreshToken]

    @extend_schema(
        summary="Erase everything kept about the user (needs a token issued in the last 5 minutes)",
        tags=["account"],
        responses={
            204: OpenApiResponse(description="Erased (also when there was nothing to erase)."),
            401: OpenApiResponse(
                FreshTokenErrorSerializer,
                description=f"{ERRORS[401].description} `token_not_fresh`: the token is older than "
                "`ACCOUNT_DELETE_MAX_TOKEN_AGE` (5 minutes) or has no `iat`; nothing was erased.",
            ),
        },
    )
    def delete(self, request, user_id=None):
        """Tasks, counters and every other per-user row, in one transaction; other users are untouched."""
        erase_user(user_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)
