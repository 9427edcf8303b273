# BrokerCRM: `make run` runs the product on an embedded default; `make test` runs the suite on PostgreSQL + Redis.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PYTHONUNBUFFERED := 1

.PHONY: run test lint install migrate seed static bench clean browser-deps

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The demo data creates users with a known password: never in production mode (DEBUG=false).
seed: migrate
	@if [ "$${DEBUG:-true}" = "false" ]; then echo "production mode (DEBUG=false): skipping the demo seed"; \
	else $(BIN)/python manage.py seed_demo; fi

# Production mode serves static files from collectstatic's manifest (whitenoise); development serves them as they are.
static: install
	@if [ "$${DEBUG:-true}" = "false" ]; then $(BIN)/python manage.py collectstatic --noinput -v0 && \
	echo "static files collected"; fi

# Web (uvicorn, ASGI), a Celery worker per queue and beat; Ctrl-C stops them all within 10 s.
run: seed static
	@scripts/run.sh $(PORT)

browser-deps:
	@command -v chromium >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The layer contract (.importlinter, docs/DEVELOPING.md), ruff (ruff.toml) and mypy on services/selectors (mypy.ini).
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy

# The layer contract, ruff and mypy first (a broken contract or any finding fails the build), then the whole suite
# against throwaway PostgreSQL 15 and Redis on private loopback ports.
test: install browser-deps
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy
	@scripts/test-services.sh start
	@source var/test-services.env && $(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; scripts/test-services.sh stop; exit $$status

bench: install
	@scripts/test-services.sh start
	@source var/test-services.env && scripts/bench.sh; status=$$?; scripts/test-services.sh stop; exit $$status

clean:
	rm -rf var/*.sqlite3* var/cache var/broker var/celerybeat-schedule
