# The two commands of the quickstart: `make run` serves the API (and runs the webhook worker), `make test` runs the
# whole suite.
PYTHON ?= python3
BIN := .venv/bin

.PHONY: run test lint venv openapi bench package

# The API and, beside it, the webhook worker (the Procfile's worker:, idle while WEBHOOK_URL is unset): one shell
# starts the worker in the background and stops it (SIGTERM, it finishes its POSTs) when the server ends. Both write
# their metrics to one temporary directory, so the server's /metrics shows the worker's too.
run: venv .env
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --no-input
	export DJANGO_DEBUG=true PROMETHEUS_MULTIPROC_DIR=$$(mktemp -d); \
	$(BIN)/python manage.py webhooks run & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker; rm -rf "$$PROMETHEUS_MULTIPROC_DIR"' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The committed OpenAPI document (a test fails when it differs from what the code generates).
openapi: venv
	DJANGO_SECRET_KEY=openapi $(BIN)/python manage.py spectacular --validate --fail-on-warn --file openapi.yaml

# The benchmark (BENCHMARKS.md): needs wrk and the local PostgreSQL (it says so if either is missing); about 15
# minutes. Not part of CI.
bench: venv
	bash bench/run.sh

# packages/drf-better-auth's sdist and wheel in its dist/, checked as PyPI checks an upload. CI then tests the wheel
# in fresh virtual environments (.ci/package).
PACKAGE := packages/drf-better-auth
package: venv
	rm -rf $(PACKAGE)/dist
	$(BIN)/python -m build --outdir $(PACKAGE)/dist $(PACKAGE)
	$(BIN)/twine check --strict $(PACKAGE)/dist/*

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-dev.txt packages/drf-better-auth/pyproject.toml
	$(PYTHON) -m venv .venv
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Development settings with fresh secrets, made once per clone and never committed (.env.example says the rest).
.env:
	$(PYTHON) -c "import secrets; print(f'DJANGO_DEBUG=true\nDJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\nBETTER_AUTH_SECRET={secrets.token_urlsafe(32)}')" > .env
