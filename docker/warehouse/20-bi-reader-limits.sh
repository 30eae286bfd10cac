#!/usr/bin/env bash
# bi_reader's session limits (an idle BI transaction and a runaway BI query end, so a BI session cannot hold a
# lock that delays the night), from the one place they are set: the vars of dbt_project/dbt_project.yml
# (bi_statement_timeout, bi_idle_in_transaction_session_timeout). Idempotent: it runs at the warehouse's first
# start (docker-entrypoint-initdb.d) and, through the one-shot service warehouse-settings, at every
# `docker compose up`, so an existing warehouse takes changed values. Connection as in 10-warehouse-roles.sh.
set -euo pipefail

# The compose services mount the project file at /opt/dgwh; run from a checkout, the script finds it there.
project_file="${DGWH_DBT_PROJECT_FILE:-/opt/dgwh/dbt_project.yml}"
if [[ -z "${DGWH_DBT_PROJECT_FILE:-}" && ! -f "$project_file" ]]; then
  project_file="$(dirname "$0")/../../dbt_project/dbt_project.yml"
fi
setting() {  # a var's quoted value: `  name: "value"`
  local value
  value=$(sed -n "s/^  $1: *\"\([^\"]*\)\" *\$/\1/p" "$project_file")
  if [[ -z "$value" ]]; then
    echo "warehouse: no var $1 in $project_file" >&2
    exit 1
  fi
  printf '%s' "$value"
}
statement_timeout=$(setting bi_statement_timeout)
idle_timeout=$(setting bi_idle_in_transaction_session_timeout)

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v statement_timeout="$statement_timeout" -v idle_timeout="$idle_timeout" <<'SQL'
ALTER ROLE bi_reader SET statement_timeout = :'statement_timeout';
ALTER ROLE bi_reader SET idle_in_transaction_session_timeout = :'idle_timeout';
SQL
echo "warehouse: bi_reader statement_timeout $statement_timeout, idle_in_transaction_session_timeout $idle_timeout"
