# Two commands for a newcomer (README): `make run` and `make test`; `make lock` after changing dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Exact versions with hashes (docs/installing.md): runtime for `make run`, runtime + dev tools for `make test`.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
LOCK_ARGS ?=

.PHONY: run test lint typecheck pytest venv bench clean lock first-payment

# Installs a lock into the virtualenv: refuses a lock older than pyproject.toml's dependencies, then only hashed
# packages (the build backend included, hence no build isolation), then opusof itself without resolving anything.
define install_lock
	@$(PYTHON) tools/lockfile.py check $(1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(1)
	$(BIN)/python -m pip install --quiet --quiet --no-deps --no-build-isolation -e .
endef

# Reinstall when pyproject.toml or a lock changed; otherwise a no-op.
$(STAMP): pyproject.toml $(DEV_LOCK)
	$(call install_lock,$(DEV_LOCK))
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml $(LOCK)
	$(call install_lock,$(LOCK))
	touch $(RUN_STAMP)

venv: $(STAMP)

# Re-resolves both locks from pyproject.toml, keeping every pin that still fits (LOCK_ARGS=--upgrade moves them all
# to the newest allowed), and records which pyproject.toml they were made from.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command \
		"make lock" $(LOCK_ARGS) pyproject.toml tools/build-requirements.in -o $(LOCK)
	$(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command \
		"make lock" $(LOCK_ARGS) pyproject.toml tools/build-requirements.in --extra dev -c $(LOCK) -o $(DEV_LOCK)
	$(PYTHON) tools/lockfile.py stamp $(LOCK) $(DEV_LOCK)

# Installs, migrates, loads demo data and starts web + Celery worker with beat. Embedded SQLite and a
# filesystem broker under var/ unless DATABASE_URL / REDIS_URL are set (environment or .env); OPUSOF_BIND picks
# the address.
run: $(RUN_STAMP)
	$(BIN)/python manage.py run_platform --setup

# A first payment end to end against the platform `make run` started (consent, approval, payment, status).
first-payment: $(RUN_STAMP)
	$(BIN)/python manage.py first_payment

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
# even when one fails, so one CI run reports every problem; the target fails if any did. mypy runs beside lint and
# pytest (a cold mypy is about a minute of CPU, and the suite spends most of its time waiting on the database and
# its servers); its output is printed after theirs.
test: $(STAMP)
	@failed=""; mkdir -p var; \
	$(MAKE) --no-print-directory typecheck >var/typecheck.log 2>&1 & typecheck=$$!; \
	$(MAKE) --no-print-directory lint || failed="$$failed lint"; \
	$(MAKE) --no-print-directory pytest || failed="$$failed pytest"; \
	wait $$typecheck || failed="$$failed typecheck"; \
	cat var/typecheck.log; \
	if [ -n "$$failed" ]; then echo "make test failed:$$failed" >&2; exit 1; fi

bench: $(STAMP)
	$(BIN)/python bench/payments_v4.py

# Forgets the embedded run's state (database, broker, cache, static, beat schedule); keys in var/ are kept.
clean:
	rm -rf $(VENV) var/opusof.sqlite3 var/opusof.sqlite3-wal var/opusof.sqlite3-shm var/celery var/cache \
		var/static var/celerybeat-schedule* var/gunicorn.ctl var/junit.xml var/typecheck.log
