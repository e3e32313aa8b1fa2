"""A DRF view, one behind FreshToken and a plain Django view behind @better_auth_required, each echoing the user."""

from django.http import JsonResponse
from django.urls import path
from drf_better_auth.decorators import better_auth_required
from drf_better_auth.permissions import FreshToken
from rest_framework.response import Response
from rest_framework.views import APIView


def who(request) -> dict:
    return {"id": request.user.id, "sub": request.auth["sub"], "authenticated": request.user.is_authenticated}


class WhoAmI(APIView):
    def get(self, request):
        return Response(who(request))


class IssuedInTheLastMinute(FreshToken):
    max_age = 60


class Delete(APIView):
    permission_classes = [IssuedInTheLastMinute]

    def delete(self, request):
        return Response(who(request))


@better_auth_required
def plain(request):
    return JsonResponse(who(request))


urlpatterns = [path("whoami", WhoAmI.as_view()), path("delete", Delete.as_view()), path("plain", plain)]
