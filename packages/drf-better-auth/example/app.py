"""A whole Django project in one file: GET /me says who a Better Auth JWT names.

BETTER_AUTH_URL=http://localhost:3000 python app.py runserver
"""

import os
import sys

from django.conf import settings

settings.configure(
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "drf_better_auth"],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": ["drf_better_auth.authentication.BetterAuthJWTAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    },
    BETTER_AUTH_URL=os.environ["BETTER_AUTH_URL"],  # the keys are at BETTER_AUTH_URL/api/auth/jwks
    BETTER_AUTH_ISSUER=os.environ["BETTER_AUTH_URL"],  # Better Auth's iss and aud are its URL
    BETTER_AUTH_AUDIENCE=os.environ["BETTER_AUTH_URL"],
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only"),
)

from django.core.management import execute_from_command_line  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.decorators import api_view  # noqa: E402
from rest_framework.response import Response  # noqa: E402


@api_view(["GET"])
def me(request):
    return Response({"id": request.user.id, "email": request.user.email})


urlpatterns = [path("me", me)]

if __name__ == "__main__":
    execute_from_command_line(sys.argv)
