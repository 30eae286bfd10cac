# The public commands (see README and ../shared/contract.md).
SHELL := /bin/bash
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# Every command of the project (pyproject's console script; dgwh/cli.py lists them).
DGWH := $(VENV)/bin/dgwh
# The dbt SQL's lint (.sqlfluff: jinja templater with dbt's builtins, so it needs no warehouse).
# The layers contract (pyproject's [tool.importlinter]); dags/ on the path as Airflow puts it, for its ``common``.
LINT_IMPORTS := PYTHONPATH=$(ROOT):$(ROOT)/dags $(VENV)/bin/lint-imports --no-cache
SQLFLUFF := $(VENV)/bin/sqlfluff lint --disable-progress-bar --nocolor --processes 2 dbt_project/models dbt_project/macros dbt_project/tests
export GX_ANALYTICS_ENABLED := false
AIRFLOW := $(ROOT)/scripts/airflow.sh
STATE := $(or $(DGWH_STATE_DIR),$(ROOT)/.state)
# Processes make test runs the suite on (pytest-xdist); tests/conftest.py groups what shares a fixture. Three on
# two cores: a test waits on PostgreSQL, Airflow or a subprocess part of the time (pytest 13-14 min in CI with 3;
# four were slower on the same machine the same day, 14:15 against 13:53: the suite keeps both cores busy).
TEST_WORKERS ?= 3
# The DAGs render one Airflow task per dbt model from this manifest (dbt parse; no warehouse needed).
MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.md' \) -print)

.PHONY: run test test-fast superset-venv backfill warehouse-url bi-url bi bi-stop docs docs-stop stop bench lint sample manifest clean unlock withdraw prod-check lock portal help

## make run                  set up, seed landing/ if empty, run the nightly DAG once through Airflow, print the summary
## make test                 ruff, SQLFluff and the whole pytest suite (real PostgreSQL, dbt, GX, Airflow)
## make test-fast            the fast lane: no Airflow run, no dbt build, no sample warehouse (about 2 minutes)
## make backfill FROM= TO=   rebuild those fiscal years (BE) from everything ever received, through Airflow
## make warehouse-url        print the warehouse's PostgreSQL URL (starting the embedded server if needed)
## make bi-url               print the read-only bi_reader URL
## make bi                   start Superset (own virtualenv) on the marts as bi_reader, with the dashboards; print URL and login
## make bi-stop              stop the Superset that make bi started
## make superset-venv        install Superset's own virtualenv now (make bi does it when missing; make test too, with DGWH_TEST_BI=1)
## make docs                 serve the nightly report, GX Data Docs and dbt docs read-only on 127.0.0.1 (prints the URL)
## make docs-stop            stop the server make docs started (or Ctrl-C it)
## make portal               the agencies' submission page (check, submit, follow up); prints the URL and an operator login
## make sample               write the sample landing zone into an empty landing zone
## make withdraw FILE= REASON=  withdraw a loaded file (recorded in the ledger); the marts rebuild without it
## make unlock               release a run lock whose holder is gone (FORCE=1 while it still runs)
## make stop                 stop the embedded warehouse; the data stays in .state/
## make bench                run the benchmarks (bench/README.md)
## make prod-check           run docker-compose.yml's topology as processes and the operator scenarios
## make manifest             dbt parse: the manifest the DAGs render their dbt tasks from
## make lint                 ruff, the import layers (import-linter) and SQLFluff (the dbt SQL; also in .pre-commit-config.yaml)
## make lock                 resolve the locks from pyproject.toml with every file's hash (uv): pins kept, UPGRADE=1 to move them
## make clean                stop, then remove .state/ and dbt's target
## make help                 this list
help:
	@sed -n 's/^## //p' $(firstword $(MAKEFILE_LIST))

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing pinned dependencies into .venv (under a minute)..."
	@# uv, pinned in the lock, installs the lock's wheels in parallel: seconds, where pip took a minute and a
	@# half unpacking them one by one. It reads UV_INDEX_URL (not pip.conf) for a private index.
	@$(PY) -c "from bi.venv import uv_requirement; print(uv_requirement())" > $(VENV)/uv-requirement.txt
	@$(PY) -m pip install -qq --disable-pip-version-check --no-deps --require-hashes -r $(VENV)/uv-requirement.txt
	@# --no-deps: the lock pins the whole environment (make lock), so there is nothing to resolve; each file is
	@# checked against the hashes the lock holds.
	@$(UV) pip install --quiet --python $(PY) --no-deps --require-hashes -r requirements.lock
	@$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@# Bytecode on every core (pip compiles on one; a third of its time), not for the test suites some packages
	@# ship (a sixth of the files). Like pip, skip what does not compile (Python 2 files some packages ship).
	@$(PY) -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib >/dev/null 2>&1 || true
	@touch $@

$(MANIFEST): $(VENV)/.installed $(DBT_FILES)
	@$(DGWH) manifest >/dev/null

manifest: $(MANIFEST)

sample: $(VENV)/.installed
	@$(DGWH) sample --if-empty

run: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) sample --for-run
	@$(DGWH) warehouse check >/dev/null
	@echo "running the nightly DAG through Airflow (dags test); one line per finished task, full log: $(STATE)/last_run.log"
	@$(DGWH) progress --explain --log $(STATE)/last_run.log --dag dg_nightly -- $(AIRFLOW) dags test dg_nightly
	@$(DGWH) summary
	@echo "full Airflow log: $(STATE)/last_run.log · warehouse URL: make warehouse-url"

backfill: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) backfill-range >/dev/null
	@$(DGWH) warehouse check >/dev/null
	@$(DGWH) progress --explain --log $(STATE)/last_backfill.log --dag dg_backfill -- \
		$(AIRFLOW) dags test dg_backfill -c "$$($(DGWH) backfill-range)"
	@grep -h "backfill FY" $(STATE)/last_backfill.log | tail -1
	@grep -q "backfill FY .*: ok" $(STATE)/last_backfill.log || { echo "backfill failed: see $(STATE)/last_backfill.log"; exit 1; }

warehouse-url: $(VENV)/.installed
	@$(DGWH) warehouse url

bi-url: $(VENV)/.installed
	@$(DGWH) warehouse bi-url

# FILE and REASON reach the program through the environment (make exports command-line variables), never a shell.
withdraw: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) warehouse check >/dev/null
	@$(DGWH) withdraw

unlock: $(VENV)/.installed
	@$(DGWH) lock unlock

# Superset (its own virtualenv under .state/superset) on the marts as bi_reader, dashboards from bi/superset/.
bi: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) warehouse url >/dev/null
	@$(DGWH) bi

bi-stop:
	@$(DGWH) bi stop

# Read-only: the report, GX Data Docs and dbt's static page, nothing else of .state (reporting/serve.py).
docs: $(VENV)/.installed
	@$(DGWH) docs

docs-stop:
	@$(DGWH) docs stop

portal: $(VENV)/.installed
	@$(DGWH) portal

stop:
	@if [ -x $(DGWH) ]; then $(DGWH) warehouse stop; else echo "nothing to stop"; fi

# Two at a time where nothing waits on the other: the pipeline's install beside Superset's, the lint beside dbt parse.
test:
	@$(MAKE) --no-print-directory -j 2 $(VENV)/.installed $(if $(DGWH_TEST_BI),superset-venv)
	@$(MAKE) --no-print-directory -j 2 lint $(MANIFEST)
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# Superset's own virtualenv where tests/test_bi.py looks for it (bi/venv.py, standard library only). With
# DGWH_TEST_BI=1 (CI) make test installs it at the same time as the pipeline's (with uv, pinned in requirements.lock).
superset-venv:
	@python3 -m bi.venv $(or $(DGWH_SUPERSET_VENV),$(ROOT)/.state/superset/venv) bi/requirements.txt bi/requirements-test.txt

# The edit loop: no Airflow run, no dbt build, no sample warehouse (tests/conftest.py marks the rest slow).
test-fast: $(VENV)/.installed $(MANIFEST)
	@$(PY) -m ruff check .
	@$(LINT_IMPORTS) >/dev/null || $(LINT_IMPORTS)
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder -m "not slow"

bench: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) bench

# The compose topology as processes (docs/deploying.md: "Proving the deployment"); needs Debian's redis-server.
prod-check: $(VENV)/.installed $(MANIFEST)
	@$(DGWH) prod-check

# The locks, from pyproject.toml: requirements.lock (with the dev extra) is what .venv holds, requirements-runtime.lock
# (the same pins, without the dev extra) what the Airflow image installs. uv keeps the versions a lock already pins
# (it reads the file it writes) unless UPGRADE=1; the resolution is for this Python ($(PY)).
LOCK_COMPILE = $(UV) pip compile pyproject.toml --quiet --python $(PY) --generate-hashes $(if $(UPGRADE),--upgrade)
lock: $(VENV)/.installed
	@$(LOCK_COMPILE) --extra dev -o requirements.lock --custom-compile-command \
		"make lock (uv pip compile pyproject.toml --extra dev --generate-hashes -o requirements.lock)"
	@$(LOCK_COMPILE) --constraint requirements.lock -o requirements-runtime.lock --custom-compile-command \
		"make lock (uv pip compile pyproject.toml --constraint requirements.lock --generate-hashes -o requirements-runtime.lock)"
	@echo "requirements.lock: $$(grep -c '^[a-zA-Z0-9]' requirements.lock) pins; requirements-runtime.lock: $$(grep -c '^[a-zA-Z0-9]' requirements-runtime.lock)"

lint: $(VENV)/.installed
	@$(PY) -m ruff check .
	@$(LINT_IMPORTS) >/dev/null || $(LINT_IMPORTS)
	@$(SQLFLUFF)

clean: stop
	rm -rf .state dbt_project/target dbt_project/logs
