"""Settings from the environment, checked in fresh processes (settings are read once, at start-up)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Set empty (that is, unset) so that a developer's .env cannot fill them in: the OS environment wins over .env.
UNSET = {
    name: ""
    for name in [
        "DATABASE_URL",
        "DIRECT_DATABASE_URL",
        "DATABASE_CONN_MAX_AGE",
        "BETTER_AUTH_URL",
        "BETTER_AUTH_JWKS_URL",
        "CORS_ALLOWED_ORIGINS",
        "DJANGO_DEBUG",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_SECRET_KEY",
    ]
}
PRODUCTION = {
    "DJANGO_SECRET_KEY": "k2V9xQ7pL4mN8bR1tY6wE3uI0oP5aS2dF7gH4jK9lZ1xC6vB3nM8qW5eR2tY7uI4",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
}


def run(code: str, env: dict[str, str], settings_module: str = "todo_project.settings") -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE", "DIRECT"))}
    clean.update({**UNSET, "DJANGO_SETTINGS_MODULE": settings_module, **env})
    # Run where no .env file is, so that only `env` configures the process.
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"],
        env=clean,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def databases(env: dict[str, str]) -> dict:
    code = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps(settings.DATABASES))"
    )
    result = run(code, {**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_refuses_to_start_without_a_secret_key():
    result = run("import django; django.setup()", {"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_is_off_by_default():
    result = run("import django; from django.conf import settings; django.setup(); print(settings.DEBUG)", PRODUCTION)
    assert result.stdout.strip() == "False"


def test_invalid_boolean_is_refused():
    result = run("import django; django.setup()", {**PRODUCTION, "DJANGO_DEBUG": "maybe"})
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean, **UNSET, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_are_complete():
    result = manage("makemigrations", "--check", "--dry-run", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlite_file_by_default():
    default = databases({})["default"]
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert default["NAME"] == str(ROOT / "db.sqlite3")


def test_neon_pooled_url():
    url = "postgres://app:pw@ep-cool-1234-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require"
    default = databases({"DATABASE_URL": url})["default"]
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert default["HOST"] == "ep-cool-1234-pooler.eu-central-1.aws.neon.tech"
    assert default["NAME"] == "neondb"
    assert default["OPTIONS"] == {"sslmode": "require", "channel_binding": "require", "connect_timeout": 5}
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert 0 < default["CONN_MAX_AGE"] <= 300
    assert default["CONN_HEALTH_CHECKS"] is True


def test_neon_direct_url_is_used_for_migrations():
    pooled = "postgres://app:pw@ep-cool-1234-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require"
    direct = "postgres://app:pw@ep-cool-1234.eu-central-1.aws.neon.tech/neondb?sslmode=require"
    result = databases({"DATABASE_URL": pooled, "DIRECT_DATABASE_URL": direct, "DATABASE_CONN_MAX_AGE": "900"})
    assert result["direct"]["HOST"] == "ep-cool-1234.eu-central-1.aws.neon.tech"
    assert result["direct"].get("DISABLE_SERVER_SIDE_CURSORS", False) is False
    assert result["direct"]["OPTIONS"]["sslmode"] == "require"
    assert result["default"]["CONN_MAX_AGE"] == 300


def test_direct_alias_is_the_default_database_when_not_set():
    result = databases({"DATABASE_URL": "postgres://app:pw@db.example.com:5432/todo"})
    assert result["direct"]["HOST"] == result["default"]["HOST"] == "db.example.com"
    assert (
        "DISABLE_SERVER_SIDE_CURSORS" not in result["default"] or not result["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, ["http://localhost:3000"]), ({"BETTER_AUTH_URL": "https://app.example.com/"}, ["https://app.example.com"])],
)
def test_cors_origin_defaults_to_the_better_auth_origin(env, expected):
    code = "import django; from django.conf import settings; django.setup(); print(settings.CORS_ALLOWED_ORIGINS)"
    result = run(code, {**PRODUCTION, **env})
    assert result.stdout.strip() == str(expected)


def test_jwks_url_defaults_to_better_auth_url():
    code = "import django; from django.conf import settings; django.setup(); print(settings.BETTER_AUTH_JWKS_URL)"
    result = run(code, {**PRODUCTION, "BETTER_AUTH_URL": "https://auth.example.com"})
    assert result.stdout.strip() == "https://auth.example.com/api/auth/jwks"


@pytest.mark.parametrize(("value", "expected"), [("", "300"), ("60", "60")])
def test_account_deletion_takes_tokens_up_to_300_seconds_old_unless_set(value, expected):
    code = (
        "import django; from django.conf import settings; django.setup(); print(settings.ACCOUNT_DELETE_MAX_TOKEN_AGE)"
    )
    result = run(code, {**PRODUCTION, "ACCOUNT_DELETE_MAX_TOKEN_AGE": value})
    assert result.stdout.strip() == expected, result.stderr


def test_account_deletion_max_token_age_must_be_a_number():
    result = run("import django; django.setup()", {**PRODUCTION, "ACCOUNT_DELETE_MAX_TOKEN_AGE": "5 minutes"})
    assert "ACCOUNT_DELETE_MAX_TOKEN_AGE must be a whole number" in result.stderr
