"""Settings from the environment, checked in fresh processes (settings are read once, at start-up)."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
# Set empty (that is, unset) so that a developer's .env cannot fill them in: the OS environment wins over .env.
UNSET = {
    name: ""
    for name in [
        "DATABASE_URL",
        "DIRECT_DATABASE_URL",
        "DATABASE_CONN_MAX_AGE",
        "DATABASE_POOL_SIZE",
        "DATABASE_POOL_TIMEOUT",
        "BETTER_AUTH_URL",
        "BETTER_AUTH_JWKS_URL",
        "CORS_ALLOWED_ORIGINS",
        "DJANGO_DEBUG",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_SECRET_KEY",
        "REDIS_URL",
        "WEB_CONCURRENCY",
    ]
}
REDIS = "redis://127.0.0.1:6379/13"
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
    """With the production environment docs/deploy.md lists (REDIS_URL included)."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "REDIS_URL": REDIS})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "warned"),
    [
        ({}, True),  # WEB_CONCURRENCY unset: several workers or instances may run
        ({"WEB_CONCURRENCY": "2"}, True),
        ({"WEB_CONCURRENCY": "1"}, False),
        ({"WEB_CONCURRENCY": "4", "REDIS_URL": REDIS}, False),
        ({"WEB_CONCURRENCY": "4", "DJANGO_DEBUG": "true"}, False),
    ],
)
def test_check_deploy_warns_when_rate_limits_are_counted_per_process(env, warned):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "REDIS_URL": "", **env})
    output = result.stdout + result.stderr
    if warned:
        assert result.returncode == 1, output
        assert "tasks.W001" in output
        assert "REDIS_URL is not set" in output
        assert output.count("?: (") == 1, output  # this warning and nothing else
    elif env.get("DJANGO_DEBUG") == "true":
        assert "tasks.W001" not in output  # Django's own deploy checks do complain about DEBUG
    else:
        assert result.returncode == 0, output


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


def test_the_schema_gives_the_account_deletion_token_age_the_settings_give():
    code = (
        "import django; django.setup(); from drf_spectacular.generators import SchemaGenerator;"
        "erase = SchemaGenerator().get_schema(public=True)['paths']['/api/account']['delete'];"
        "print(erase['summary']); print(erase['responses']['401']['description'])"
    )
    result = run(code, {**PRODUCTION, "ACCOUNT_DELETE_MAX_TOKEN_AGE": "60"})
    summary, description = result.stdout.strip().splitlines()[-2:]
    assert summary.endswith("(needs a token issued in the last 60 seconds)"), result.stderr
    assert "`ACCOUNT_DELETE_MAX_TOKEN_AGE` (60 seconds)" in description


def test_account_deletion_max_token_age_must_be_a_number():
    result = run("import django; django.setup()", {**PRODUCTION, "ACCOUNT_DELETE_MAX_TOKEN_AGE": "5 minutes"})
    assert "ACCOUNT_DELETE_MAX_TOKEN_AGE must be a whole number" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("", "10"), ("0", "0"), ("4", "4")])
def test_the_gevent_workers_share_10_database_connections_each_unless_set(value, expected):
    code = "import django; from django.conf import settings; django.setup(); print(settings.DATABASE_POOL_SIZE)"
    result = run(code, {**PRODUCTION, "DATABASE_POOL_SIZE": value})
    assert result.stdout.strip() == expected, result.stderr


@pytest.mark.parametrize("value", ["-1", "ten"])
def test_a_pool_size_that_is_not_a_whole_number_from_0_is_refused(value):
    result = run("import django; django.setup()", {**PRODUCTION, "DATABASE_POOL_SIZE": value})
    assert result.returncode != 0
    assert "DATABASE_POOL_SIZE must be" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("", "5"), ("1", "1"), ("30", "30")])
def test_a_request_waits_5_seconds_for_a_pooled_connection_unless_set(value, expected):
    code = "import django; from django.conf import settings; django.setup(); print(settings.DATABASE_POOL_TIMEOUT)"
    result = run(code, {**PRODUCTION, "DATABASE_POOL_TIMEOUT": value})
    assert result.stdout.strip() == expected, result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "0.5"])
def test_a_pool_timeout_that_is_not_a_whole_number_of_seconds_from_1_is_refused(value):
    result = run("import django; django.setup()", {**PRODUCTION, "DATABASE_POOL_TIMEOUT": value})
    assert result.returncode != 0
    assert "DATABASE_POOL_TIMEOUT must be" in result.stderr


def settings_variables() -> set[str]:
    """Every variable settings.py reads: the first argument of each env_*() call."""
    tree = ast.parse((ROOT / "todo_project" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_variable_the_settings_read_is_in_env_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert len(settings_variables()) >= 20  # the parser finds them
    assert settings_variables() - documented == set()


def test_env_example_copied_to_env_runs_for_development():
    """As `cp .env.example .env` then runserver: DEBUG on, plain HTTP, local hosts (the OS environment wins over
    a .env, so giving the file's values as the environment is the same)."""
    env = {name: value or "" for name, value in dotenv_values(ROOT / ".env.example").items()}
    unset = dict.fromkeys(settings_variables() - env.keys(), "")
    code = (
        "import django; from django.conf import settings; django.setup(); from django.test import Client;"
        "response = Client().get('/health', HTTP_HOST='localhost');"
        "print(response.status_code, settings.DEBUG, settings.SECURE_SSL_REDIRECT,"
        " settings.DATABASES['default']['ENGINE'])"
    )
    result = run(code, {**unset, **env})
    assert result.stdout.split() == ["200", "True", "False", "django.db.backends.sqlite3"], result.stderr


def test_make_run_writes_a_development_env(tmp_path):
    subprocess.run(
        [
            shutil.which("make"),
            "-s",
            "-f",
            str(ROOT / "Makefile"),
            "-C",
            str(tmp_path),
            ".env",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = dotenv_values(tmp_path / ".env")
    assert env["DJANGO_DEBUG"] == "true"
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
