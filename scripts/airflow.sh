#!/usr/bin/env bash
# Run the Airflow CLI with this checkout's own home, DAGs and (SQLite) metadata database.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DGWH_STATE_DIR:-$ROOT/.state}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$STATE/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Bangkok
export AIRFLOW__LOGGING__LOGGING_LEVEL="${AIRFLOW__LOGGING__LOGGING_LEVEL:-WARNING}"
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=60
export GX_ANALYTICS_ENABLED=false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False DO_NOT_TRACK=1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# The state folder holds agencies' data (Airflow's database and logs among it): the owner's alone from its creation.
(umask 077 && mkdir -p "$STATE")
# OpenLineage: each task's event (the landing files, raw tables and marts it read and wrote: dags/common/lineage.py)
# as one JSON line in $STATE/lineage/events.jsonl, unless a transport is given (Marquez, any HTTP endpoint:
# docs/deploying.md); AIRFLOW__OPENLINEAGE__DISABLED=true sends none.
export AIRFLOW__OPENLINEAGE__NAMESPACE="${AIRFLOW__OPENLINEAGE__NAMESPACE:-dg_warehouse}"
if [ -z "${AIRFLOW__OPENLINEAGE__TRANSPORT:-}" ] && [ -z "${AIRFLOW__OPENLINEAGE__CONFIG_PATH:-}" ]; then
  (umask 077 && mkdir -p "$STATE/lineage")
  export AIRFLOW__OPENLINEAGE__TRANSPORT="{\"type\": \"file\", \"log_file_path\": \"$STATE/lineage/events.jsonl\", \"append\": true}"
fi
mkdir -p "$AIRFLOW_HOME"
if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  "$ROOT/.venv/bin/airflow" db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/migrate.log"; exit 1; }
  touch "$AIRFLOW_HOME/.migrated"
fi
# The warehouse pool (nightly/pools.py, DGWH_WAREHOUSE_POOL_SLOTS), as compose's airflow-init creates it;
# set again whenever the configured size changes.
if [ "$(cat "$AIRFLOW_HOME/.pools" 2>/dev/null)" != "slots=${DGWH_WAREHOUSE_POOL_SLOTS:-}" ]; then
  "$ROOT/.venv/bin/python" -m nightly.pools >"$AIRFLOW_HOME/pools.log" 2>&1 || { cat "$AIRFLOW_HOME/pools.log"; exit 1; }
  echo "slots=${DGWH_WAREHOUSE_POOL_SLOTS:-}" >"$AIRFLOW_HOME/.pools"
fi
# The warehouse as the Airflow connection dg_warehouse (the dbt tasks' profile comes from it, and the
# pipeline's own tasks resolve it): from WAREHOUSE_URL when set, else a connection already given in the
# environment, else this checkout's embedded server (`python -m ground.warehouse url` starts it). Only in
# this process's environment, for the commands that run tasks; never written to a file.
case "${1:-}:${2:-}" in
  dags:test|tasks:test|standalone:*|scheduler:*|triggerer:*|celery:*|dag-processor:*)
    if [ -n "${WAREHOUSE_URL:-}" ]; then
      export AIRFLOW_CONN_DG_WAREHOUSE="$WAREHOUSE_URL"
    elif [ -z "${AIRFLOW_CONN_DG_WAREHOUSE:-}" ]; then
      AIRFLOW_CONN_DG_WAREHOUSE="$("$ROOT/.venv/bin/python" -m ground.warehouse url | tail -n 1)"
      [ -n "$AIRFLOW_CONN_DG_WAREHOUSE" ] || exit 1
      export AIRFLOW_CONN_DG_WAREHOUSE
    fi ;;
esac
# `dags test` runs the whole DAG run in this one process: the warehouse lock names it, so a run killed here
# (Ctrl-C, kill -9) is taken over by the next run at once instead of blocking it (nightly/runlock.py).
# No deadline alert there: nothing watches it without a scheduler, and Airflow 3.3.2's dag.test() fails the
# finished run on it (dags/dg_nightly.py).
if [ "${1:-}" = dags ] && [ "${2:-}" = test ]; then export DGWH_LOCK_HOLDER_PID=$$ DGWH_DEADLINE_ALERT=0; fi
exec "$ROOT/.venv/bin/airflow" "$@"
