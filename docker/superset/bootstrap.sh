#!/usr/bin/env bash
# superset-init (docker-compose.yml): metadata schema, admin user, roles, the warehouse
# connection as bi_reader, the dashboards and the read-only analyst and executive logins. Every step is idempotent, so it runs on every `docker-compose up`;
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
# The dashboards as code (bi/superset/), imported through /api/v1/assets/import/ (bi/provision.py),
# then the roles DG Analyst and DG Executive with their logins (SUPERSET_ANALYST_PASSWORD, ...).
DGWH_BI_URI="$uri" PYTHONPATH=/app/dgwh python -m bi.provision
