#!/usr/bin/env bash
# airflow-init (docker-compose.yml): check the mounts, migrate the metadata database, create the
# warehouse pool and the admin user. Idempotent; unlike the image's _AIRFLOW_DB_MIGRATE switch, a failed migration fails
# the service, so nothing else starts on a half-migrated database.
set -euo pipefail

: "${AIRFLOW_ADMIN_USER:?}" "${AIRFLOW_ADMIN_PASSWORD:?}"
case "$LANDING_ZONE" in
  *://*)  # object storage (LANDING_ZONE_URL in .env): listed with the pipeline's own check, one line on failure
    python -c 'import os, sys; from ingest.discover import LandingZoneError, check_landing_zone
try:
    check_landing_zone(os.environ["LANDING_ZONE"])
except LandingZoneError as exc:
    sys.exit(str(exc))' ;;
  *)
    if ! [ -r "$LANDING_ZONE" ] || ! [ -x "$LANDING_ZONE" ]; then
      echo "the landing zone ($LANDING_ZONE, mounted from LANDING_ZONE in .env) is not readable by uid $(id -u)" >&2
      exit 1
    fi ;;
esac
for dir in "$DGWH_STATE_DIR" "$DGWH_SHARED_STATE_DIR"; do
  if ! [ -w "$dir" ]; then
    echo "$dir (DGWH_STATE_DIR or the shared volume DGWH_SHARED_STATE_DIR) is not writable by uid $(id -u)" >&2
    exit 1
  fi
done
# Where the default OpenLineage transport writes (OPENLINEAGE__TRANSPORT__LOG_FILE_PATH in docker-compose.yml).
mkdir -p "$DGWH_SHARED_STATE_DIR/lineage"
airflow db migrate
# The warehouse pool, sized by DGWH_WAREHOUSE_POOL_SLOTS (the same module scripts/airflow.sh runs locally).
python -m nightly.pools
# Prints "already exist in the db" (and succeeds) from the second run on. --opt=value: a generated secret may
# start with "-", which argparse would read as an option (found by make prod-check).
airflow users create --role Admin --username="$AIRFLOW_ADMIN_USER" --password="$AIRFLOW_ADMIN_PASSWORD" \
  --firstname Airflow --lastname Admin --email="${AIRFLOW_ADMIN_EMAIL:-airflow-admin@localhost}"
airflow version
