#!/usr/bin/env bash
# superset-init (docker-compose.yml): metadata schema, admin user, roles, and the warehouse
# connection as bi_reader. Every step is idempotent, so it runs on every `docker-compose up`;
# a changed BI_READER_PASSWORD is picked up by re-running it.
set -euo pipefail

: "${SUPERSET_ADMIN_USER:?}" "${SUPERSET_ADMIN_PASSWORD:?}" "${SUPERSET_ADMIN_EMAIL:?}"
superset db upgrade
# Prints "User already exists" (and succeeds) from the second run on.
superset fab create-admin --username="$SUPERSET_ADMIN_USER" --firstname Superset --lastname Admin \
  --email="$SUPERSET_ADMIN_EMAIL" --password="$SUPERSET_ADMIN_PASSWORD"
superset init
name="$(python -c 'import superset_config as c; print(c.MARTS_DATABASE_NAME)')"
uri="$(python -c 'import superset_config as c; print(c.marts_uri())')"
superset set-database-uri --database_name "$name" --uri "$uri"
echo "superset: database '$name' reads the marts as bi_reader"
# The dashboards as code (bi/superset/): a dataset per mart, the charts and the three dashboards.
# Datasets read their columns from the marts, so when superset-init runs before the first nightly
# build, run it again afterwards (docker-compose up superset-init).
DGWH_BI_URI="$uri" PYTHONPATH=/app/dgwh python -m bi.provision
