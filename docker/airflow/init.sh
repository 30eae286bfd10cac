#!/usr/bin/env bash
# airflow-init (docker-compose.yml): check the mounts, migrate the metadata database, create the
# warehouse pool and the admin user. Idempotent; unlike the image's _AIRFLOW_DB_MIGRATE switch, a failed migration fails
# the service, so nothing else starts on a half-migrated database.
set -euo pipefail

: "${AIRFLOW_ADMIN_USER:?}" "${AIRFLOW_ADMIN_PASSWORD:?}"
if ! [ -r "$LANDING_ZONE" ] || ! [ -x "$LANDING_ZONE" ]; then
  echo "the landing zone ($LANDING_ZONE, mounted from LANDING_ZONE in .env) is not readable by uid $(id -u)" >&2
  exit 1
fi
if ! [ -w "$DGWH_STATE_DIR" ]; then
  echo "the state volume ($DGWH_STATE_DIR) is not writable by uid $(id -u)" >&2
  exit 1
fi
airflow db migrate
# The warehouse pool, sized by DGWH_WAREHOUSE_POOL_SLOTS (the same module scripts/airflow.sh runs locally).
python -m ingest.pools
# Prints "already exist in the db" (and succeeds) from the second run on.
airflow users create --role Admin --username "$AIRFLOW_ADMIN_USER" --password "$AIRFLOW_ADMIN_PASSWORD" \
  --firstname Airflow --lastname Admin --email "${AIRFLOW_ADMIN_EMAIL:-airflow-admin@localhost}"
airflow version
