"""Settings: the only module that reads the environment (a `.env` file is read too; the OS environment wins)."""

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return default if value is None else int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    return default if value is None else [item.strip() for item in value.split(",") if item.strip()]


# --- Core ---------------------------------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 (DEBUG only)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework",
    # drf-better-auth needs no app to authenticate; installed, it has `manage.py check` test the BETTER_AUTH_* settings.
    "drf_better_auth",
    "tasks",
]

MIDDLEWARE = [
    "todo_project.request_ids.RequestIdMiddleware",
    "todo_project.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
WSGI_APPLICATION = "todo_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `collectstatic` (which Heroku's Python buildpack runs on every build) gathers the admin's assets here, with hashed
# names and gzip/Brotli copies, and WhiteNoise serves them with far-future cache headers. With DEBUG on they are
# served straight from the apps instead, so development needs no collectstatic.
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A task is at most ~1.1 KB of JSON; anything near this is not a task (answered 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# --- Database -----------------------------------------------------------------------------------------------------
# Neon suspends idle computes, so connections are reused for a few minutes at most and checked before reuse.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=min(env_int("DATABASE_CONN_MAX_AGE", 60), 300),
        conn_health_checks=True,
    ),
}
# Migrations go through DIRECT_DATABASE_URL when it is set (PgBouncer in transaction mode is not for DDL):
# the release phase runs `migrate --database direct`. In tests the alias mirrors the default database.
DATABASES["direct"] = (
    dj_database_url.parse(env_str("DIRECT_DATABASE_URL"), conn_max_age=0)
    if env_str("DIRECT_DATABASE_URL")
    else {**DATABASES["default"], "CONN_MAX_AGE": 0}
)
DATABASES["direct"]["TEST"] = {"MIRROR": "default"}
# PostgreSQL connections each gevent worker of the Procfile shares among its requests (todo_project/gunicorn_worker.py);
# 0: one per client connection, closed when it leaves. An instance opens at most workers x this many.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10)
if DATABASE_POOL_SIZE < 0:
    raise ImproperlyConfigured("DATABASE_POOL_SIZE must be 0 (no pool) or more.")
# Seconds a request waits for one of those connections when all are in use, then a 503 with Retry-After: longer than
# the waits of a busy worker, shorter than a client's or a proxy's patience.
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 5)
if DATABASE_POOL_TIMEOUT < 1:
    raise ImproperlyConfigured("DATABASE_POOL_TIMEOUT must be 1 (second) or more.")
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # Fail fast (503) instead of hanging when the server is unreachable.
        _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
        # Neon's -pooler host is PgBouncer in transaction mode, which cannot keep server-side cursors.
        if "-pooler" in _database.get("HOST", ""):
            _database["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif _database["ENGINE"] == "django.db.backends.sqlite3":
        # One writer at a time: a transaction takes the write lock when it begins, so concurrent writers queue for
        # it (up to SQLite's busy timeout) instead of one failing when its read turns into a write (a keyed flip).
        _database.setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")

# --- Better Auth --------------------------------------------------------------------------------------------------
BETTER_AUTH_URL = env_str("BETTER_AUTH_URL", "http://localhost:3000").rstrip("/")
BETTER_AUTH_JWKS_URL = env_str("BETTER_AUTH_JWKS_URL", f"{BETTER_AUTH_URL}/api/auth/jwks")
if urlsplit(BETTER_AUTH_JWKS_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured("BETTER_AUTH_JWKS_URL must be an http(s) URL.")
BETTER_AUTH_SECRET = env_str("BETTER_AUTH_SECRET")
BETTER_AUTH_ISSUER = env_str("BETTER_AUTH_ISSUER")
BETTER_AUTH_AUDIENCE = env_list("BETTER_AUTH_AUDIENCE", []) or None
BETTER_AUTH_LEEWAY = env_int("BETTER_AUTH_LEEWAY", 5)
# The JWKS is fetched again once this old, so a key Better Auth withdraws stops working within it + the cooldown.
BETTER_AUTH_JWKS_MAX_AGE = env_int("BETTER_AUTH_JWKS_MAX_AGE", 300)
# An unknown kid refreshes the JWKS at most once per cooldown, so made-up kids cannot flood Better Auth.
BETTER_AUTH_JWKS_COOLDOWN = 10
BETTER_AUTH_JWKS_TIMEOUT = 3
# DELETE /api/account needs a token issued at most this many seconds ago: a stolen token must not wipe an account.
ACCOUNT_DELETE_MAX_TOKEN_AGE = env_int("ACCOUNT_DELETE_MAX_TOKEN_AGE", 300)

# --- REST framework -----------------------------------------------------------------------------------------------
THROTTLE_USER_RATE = env_str("THROTTLE_USER_RATE", "600/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["drf_better_auth.authentication.BetterAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["tasks.throttling.UserRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["todo_project.json.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["todo_project.json.ORJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tasks.pagination.TaskPagination",
    "DEFAULT_SCHEMA_CLASS": "todo_project.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "todo_project.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Todo API",
    "DESCRIPTION": "Tasks of the user named by a Better Auth JWT (`Authorization: Bearer <jwt>`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AuthenticationErrorCode": "todo_project.schema.AUTHENTICATION_ERROR_CODES",
        "FreshTokenErrorCode": "todo_project.schema.FRESH_TOKEN_ERROR_CODES",
    },
    # Swagger UI's assets come from the pinned sidecar package, served by the API itself: /api/docs works offline
    # and does not change under you (the default loads swagger-ui-dist@latest from a CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "todo_project.schema.strip_trailing_slashes",
    ],
}

# Throttle counters must be shared by all workers and instances: set REDIS_URL in production.
REDIS_URL = env_str("REDIS_URL")
# gunicorn's workers per instance (the Procfile passes it on; most platforms set it). None when unset: unknown.
# Only `check --deploy` reads it, to warn when counters are per process (tasks/checks.py).
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 0) or None
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Without Redis the throttle lets requests through (tasks/throttling.py); fail fast, not after 5 s.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- CORS (bearer tokens, never cookies) --------------------------------------------------------------------------
_auth_origin = urlsplit(BETTER_AUTH_URL)
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [f"{_auth_origin.scheme}://{_auth_origin.netloc}"])
CORS_ALLOW_CREDENTIALS = False
# Response headers the frontend's code may read: where a task was made, when to retry, the version for If-Match /
# If-None-Match, the request id to show with an error, and whether a retried write was replayed.
CORS_EXPOSE_HEADERS = ["Location", "Retry-After", "ETag", "X-Request-ID", "Idempotent-Replayed"]
# Request headers the frontend may send besides the defaults (Authorization and Content-Type among them).
CORS_ALLOW_HEADERS = [*default_headers, "if-match", "if-none-match", "idempotency-key", "x-request-id"]

# --- Security (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/) ---------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-ssl-redirect
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Health checks and Prometheus' scrapes come from inside the platform, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics"]
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header (the platform's proxy sets it)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# https://docs.djangoproject.com/en/5.2/ref/settings/#session-cookie-secure (admin only; the API has no cookies)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"

# --- Webhooks (tasks/outbox.py writes them, the worker delivers them: tasks/delivery.py) ----------------------------
# Where the worker POSTs reminders and task events as Standard Webhooks. Unset: nothing is sent and nothing is kept
# for later (the write path records no message at all).
WEBHOOK_URL = env_str("WEBHOOK_URL")
# The signing key, "whsec_" + base64 (as every Standard Webhooks library makes and reads it).
WEBHOOK_SECRET = env_str("WEBHOOK_SECRET")
WEBHOOK_EVENT_TYPES = ["task.reminder", "task.created", "task.updated", "task.completed", "task.deleted"]
_webhook_events = env_list("WEBHOOK_EVENTS", ["task.reminder"])
WEBHOOK_EVENTS = frozenset(WEBHOOK_EVENT_TYPES if _webhook_events == ["*"] else _webhook_events)
if unknown := WEBHOOK_EVENTS - set(WEBHOOK_EVENT_TYPES):
    raise ImproperlyConfigured(
        f"WEBHOOK_EVENTS takes * or {', '.join(WEBHOOK_EVENT_TYPES)}, not {', '.join(sorted(unknown))}."
    )
if WEBHOOK_URL and not (WEBHOOK_SECRET or "").startswith("whsec_"):
    raise ImproperlyConfigured("WEBHOOK_URL needs WEBHOOK_SECRET, a key of the form whsec_<base64>.")

# --- Metrics --------------------------------------------------------------------------------------------------------
# GET /metrics answers only a scraper that sends this token (404 while it is unset).
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Error tracking -------------------------------------------------------------------------------------------------
# Sentry (or a compatible service) receives the 500s, tagged with the request id, without tokens or personal data.
# Started by wsgi.py in each worker, not here: gunicorn's master reads these settings (gunicorn.conf.py) before it
# forks, and an SDK started there, before the gevent worker patches threads and sockets, left workers unanswering.
SENTRY_DSN = env_str("SENTRY_DSN")

# --- Logs ---------------------------------------------------------------------------------------------------------
# JSON lines for log collectors in production, text for people with DEBUG on. gunicorn.conf.py gives gunicorn's own
# loggers (its error log and the access line) this configuration too, so every line has the same shape.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "todo_project.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "todo_project.logs.JsonFormatter"},
        "text": {"()": "todo_project.logs.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Listed to drop the handlers Django and gunicorn give them by default: each line is written once, here.
        "django": {"level": LOG_LEVEL},
        "django.server": {"propagate": True},
        "py.warnings": {"propagate": True},
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "propagate": False},
    },
}
# Python's warnings (WhiteNoise's missing STATIC_ROOT, deprecations) become log lines too, not raw text on stderr.
logging.captureWarnings(True)
