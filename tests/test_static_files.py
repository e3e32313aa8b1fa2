"""Static files with production settings: collectstatic works, and the admin's hashed, compressed assets are served."""

import re
import subprocess
import sys
import tomllib

import pytest

from tests.live import ROOT, Gunicorn, call, production_env


def test_collectstatic_then_the_admin_assets_are_served_with_production_settings(production_database, tmp_path):
    """What Heroku's buildpack does on every build, then what a browser opening the admin fetches."""
    static_root = tmp_path / "staticfiles"
    # The production settings, with their STATIC_ROOT moved out of the project directory.
    (tmp_path / "static_settings.py").write_text(
        f"from todo_project.settings import *  # noqa: F403\nassert STATIC_ROOT\nSTATIC_ROOT = {str(static_root)!r}\n"
    )
    env = production_env(DATABASE_URL=production_database, DJANGO_SETTINGS_MODULE="static_settings")
    env["PYTHONPATH"] = str(tmp_path)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert (static_root / "staticfiles.json").exists()

    server = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        login = call(server.url, "GET", "/admin/login/")
        assert login.status == 200
        stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login.body)
        assert stylesheet, login.body[:2000]
        asset = call(server.url, "GET", stylesheet[1].decode(), headers=[("Accept-Encoding", "gzip")])
        assert asset.status == 200
        assert asset.headers["Content-Encoding"] == "gzip"
        assert "immutable" in asset.headers["Cache-Control"]
        assert call(server.url, "GET", "/static/admin/css/base.css").status == 200
        docs = call(server.url, "GET", "/api/docs")  # Swagger UI's assets come from the sidecar package
        assert docs.status == 200
        assert re.search(rb"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css", docs.body)
    finally:
        server.stop()


def test_python_version_for_platforms_is_the_one_the_project_is_tested_on():
    """Heroku's and Render's Python buildpacks read .python-version; CI runs the same major.minor."""
    pinned = (ROOT / ".python-version").read_text().strip()
    assert pinned == f"{sys.version_info.major}.{sys.version_info.minor}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={pinned}"


@pytest.mark.parametrize(("debug", "finders"), [("false", "False"), ("true", "True")])
def test_static_files_come_from_the_apps_only_with_debug(debug, finders):
    code = "import django; from django.conf import settings; django.setup(); print(settings.WHITENOISE_USE_FINDERS)"
    env = production_env(DJANGO_DEBUG=debug)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == finders, result.stderr
