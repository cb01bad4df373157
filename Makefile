# make run  — set everything up on a fresh machine, load the demo, serve on http://127.0.0.1:5000
# make test — the same set-up, then the whole suite on SQLite and on PostgreSQL (browser tests included)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/danhgia_test
PYTEST_ARGS ?=

# ruff over the code, mypy strict on app/rules, app/engine, app/forms (both configured in pyproject.toml)
lint: deps
	$(BIN)/ruff check app tests bench scripts migrations
	$(BIN)/ruff format --check app tests bench scripts migrations
	$(BIN)/mypy

.PHONY: lint setup deps assets translations browser pgbouncer db run worker test test-sqlite test-postgres bench clean

setup: deps assets translations

deps: $(VENV)/.stamp-deps
$(VENV)/.stamp-deps: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

assets: app/static/vendor/.stamp
app/static/vendor/.stamp: package.json scripts/vendor.mjs $(wildcard frontend/designer/*.js)
	npm install --no-audit --no-fund --loglevel=error
	npm run --silent vendor
	touch $@

# The English catalog (app/translations/en): extracted from the code and templates, English from
# scripts/translations_en.py, compiled to the .mo the app reads. Both files are also kept in the tree.
# Always rebuilt (about a second): a clean clone's file times cannot tell a stale catalog from a fresh one.
translations: $(VENV)/.stamp-deps
	$(BIN)/python scripts/translations.py

# Debian's Chromium drives the browser tests (a browser download by Playwright fails offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

# Debian's PgBouncer: the tests start their own pooler in transaction mode in front of 127.0.0.1:5432
# (tests/test_pgbouncer.py); Debian's own pgbouncer service is left stopped.
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || { \
	  echo "installing Debian's pgbouncer for the pooling tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; fi; }

db: setup
	$(BIN)/flask db upgrade

run: db
	$(BIN)/flask demo
	@echo "Web: http://127.0.0.1:5000  (worker fires timers every 30 s)"
	$(BIN)/flask worker & WORKER=$$!; trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000

worker: db
	$(BIN)/flask worker

test: setup browser pgbouncer
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# The SQLite run reports coverage (a summary of app/, no threshold; pyproject.toml [tool.coverage]).
test-sqlite:
	@echo "== test suite on SQLite =="
	TEST_DATABASE_URL=sqlite $(BIN)/python -m pytest -q --cov --cov-report=term $(PYTEST_ARGS)

test-postgres:
	@echo "== test suite on PostgreSQL ($(PG_TEST_URL)) =="
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The benchmark (not part of `make test`): a synthetic city in its own PostgreSQL database, dropped and
# recreated (BENCH_DB); BENCH_ARGS for smaller runs, e.g. BENCH_ARGS="--people 20000 --units 300".
# Then one completion beside the engine's floor (app / floor, statements per completion) and the p95 of
# 20 clients on two gunicorn workers, in a database of its own (BENCH_COMPLETION_DB).
BENCH_DB ?= postgresql://postgres@127.0.0.1:5432/danhgia_bench
BENCH_ARGS ?=
BENCH_COMPLETION_DB ?= postgresql://postgres@127.0.0.1:5432/danhgia_bench_completion
BENCH_COMPLETION_ARGS ?= --http
bench: setup
	$(BIN)/python -m bench --db $(BENCH_DB) $(BENCH_ARGS)
	$(BIN)/python -m bench.completion --db $(BENCH_COMPLETION_DB) $(BENCH_COMPLETION_ARGS)

clean:
	rm -rf $(VENV) node_modules app/static/vendor instance test-artifacts .pytest_cache
