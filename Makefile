# Two commands for a newcomer (README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest venv bench clean

# Reinstalls when pyproject.toml changes (new dependency); otherwise a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Installs, migrates, loads demo data and starts web + Celery worker with beat. Embedded SQLite and a
# filesystem broker under var/ unless DATABASE_URL / REDIS_URL are set; OPUSOF_BIND picks the address.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py run_platform

# ruff, then the import contracts of pyproject.toml (layers and app boundaries, docs/architecture.md).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy .

# pytest-xdist: PYTEST_WORKERS processes, each on its own test database and Redis database (opusof/settings/test.py:
# REDIS_URL's database number minus the worker's index, so 3 workers on /15 use 15, 14 and 13); a test file stays
# on one worker, so its module fixtures start once. PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 3
pytest: $(STAMP)
	# The consent pages' browser tests drive Debian's chromium through Playwright (tests/authserver).
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Lint, types and the whole suite against PostgreSQL 127.0.0.1:5432 and Redis 127.0.0.1:6379. All three run
# even when one fails, so one CI run reports every problem; the target fails if any did.
test: $(STAMP)
	@failed=""; \
	$(MAKE) --no-print-directory lint || failed="$$failed lint"; \
	$(MAKE) --no-print-directory typecheck || failed="$$failed typecheck"; \
	$(MAKE) --no-print-directory pytest || failed="$$failed pytest"; \
	if [ -n "$$failed" ]; then echo "make test failed:$$failed" >&2; exit 1; fi

bench: $(STAMP)
	$(BIN)/python bench/payments_v4.py

# Forgets the embedded run's state (database, broker, cache, static, beat schedule); keys in var/ are kept.
clean:
	rm -rf $(VENV) var/opusof.sqlite3 var/opusof.sqlite3-wal var/opusof.sqlite3-shm var/celery var/cache \
		var/static var/celerybeat-schedule* var/gunicorn.ctl var/junit.xml
