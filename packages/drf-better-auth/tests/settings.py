"""The least a project has: DRF with the authentication class as its default; no database, no drf_better_auth app."""

SECRET_KEY = "package-tests-only"
ROOT_URLCONF = "tests.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
DATABASES: dict = {}
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["drf_better_auth.authentication.BetterAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
BETTER_AUTH_URL = "http://127.0.0.1:9"  # each test points BETTER_AUTH_JWKS_URL at its own JWKS server
