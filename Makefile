# TrustCoder: `make demo` serves the demo study, `make test` runs the suite. Both set up .venv first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12+ on PATH (pyenv picks 3.13 from .python-version).
PYTHON ?= $(shell for p in python3.13 python3.12 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; \
	then echo $$p; break; fi; done)

.PHONY: help env dev-env demo test lint format serve migrate bench mutate clean

help:
	@echo "make demo    set up, migrate, load the demo study and serve it on http://$(HOST):$(PORT)"
	@echo "make test    set up and run the whole test suite"
	@echo "make lint    ruff check and format check"
	@echo "make serve   gunicorn with production settings (static files by whitenoise) and a worker"
	@echo "make bench   run the benchmarks in benchmarks/"
	@echo "make mutate  mutation testing of the pure modules and access checks (docs/testing.md)"

$(VENV)/.python-ok:
	@if [ -z "$(PYTHON)" ]; then \
		echo "TrustCoder needs Python 3.12 or newer (3.13 is pinned in .python-version)."; \
		echo "Install it (e.g. 'pyenv install 3.13') and run make again."; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.base-installed: requirements/base.lock $(VENV)/.python-ok
	$(PY) -m pip install --quiet --require-hashes -r requirements/base.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock $(VENV)/.base-installed
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@

env: $(VENV)/.base-installed
dev-env: $(VENV)/.dev-installed

migrate: env
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input

demo: migrate
	DJANGO_DEBUG=1 $(PY) manage.py load_demo
	@echo "Serving the demo on http://$(HOST):$(PORT)/ with one background worker (Ctrl-C stops both)"
	@export DJANGO_DEBUG=1; \
	$(PY) manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: dev-env
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure here."; exit 1; fi; \
	exit $$status

lint: dev-env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: dev-env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.secret_key:
	@$(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# Production settings on this machine: plain HTTP on localhost, so no HTTPS redirect or secure
# cookies unless the environment asks for them. Behind a TLS proxy, set both to 1. One background
# worker runs beside gunicorn and stops with it; more run anywhere with `manage.py db_worker`.
serve: env .secret_key
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" $(PY) manage.py migrate --no-input
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" $(PY) manage.py collectstatic --no-input --verbosity 0
	@export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" \
	DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-0} DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-0}; \
	$(PY) manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(VENV)/bin/gunicorn trustcoder.wsgi --bind $(HOST):$(PORT) --workers 3 --access-logfile -

bench: dev-env
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Mutation testing: configured in pyproject.toml ([tool.mutmut]); results in mutants/.
mutate: dev-env
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache mutants
