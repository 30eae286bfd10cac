"""Provision Superset from the dashboards as code: run by ``bi.local`` (``make bi``) and by the compose stack's
superset-init with the Superset virtualenv's Python (never the pipeline's), SUPERSET_CONFIG_PATH set,
DGWH_BI_URI the warehouse as bi_reader and the logins in SUPERSET_ADMIN_USER / SUPERSET_ADMIN_PASSWORD /
SUPERSET_ANALYST_PASSWORD (and SUPERSET_EXECUTIVE_PASSWORD, optional).

Imports ``bi/superset/`` through Superset's supported import, ``POST /api/v1/assets/import/`` (the database with
its real address and password, a dataset per mart with its columns, labels and metrics, the charts and the
dashboards; overwriting earlier imports, by UUID), served in-process so no server needs to run yet. Then makes
the read-only roles and their logins:

- ``DG Analyst`` (login ``analyst``): views dashboards, explores datasets and reads them in SQL Lab; writes
  nothing shared (no chart, dashboard or dataset edits; only its own filter state and links) and the marts'
  database allows no DML.
- ``DG Executive`` (login ``executive``, when its password is set): views dashboards only.
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid
import zipfile
from pathlib import Path

import yaml

BUNDLE = Path(__file__).resolve().parent / "superset"
DATABASE_FILE = "databases/DG_warehouse_marts.yaml"
ANALYST_ROLE, EXECUTIVE_ROLE = "DG Analyst", "DG Executive"
ANALYST_USER, EXECUTIVE_USER = "analyst", "executive"
# Permissions that change shared objects (charts, dashboards, datasets, tags): none goes to a read-only role.
# SQL Lab keeps its own tab state (TabStateView); the marts' database itself allows no DML (allow_dml false).
WRITES = ("can_write", "can_add", "can_edit", "can_delete", "muldelete", "can_save", "can_overwrite", "can_import",
          "can_copy_dash", "can_save_dash", "can_set_embedded", "can_delete_embedded", "can_tag",
          "can_grant_guest_token")
SQL_LAB_VIEWS = ("SQLLab", "SQL Lab", "Query", "SavedQuery", "TabStateView", "TableSchemaView", "sql_lab")
# A viewer's own state is no shared object: the filter bar stores the filters a dashboard shows (its URL key),
# "Share" a permalink. Without them the filters are lost on reload and every filter change is refused (403).
OWN_STATE = ("DashboardFilterStateRestApi", "DashboardPermalinkRestApi", "ExploreFormDataRestApi",
             "ExplorePermalinkRestApi")


def bundle_contents(uri: str) -> tuple[dict[str, str], dict[str, str]]:
    from sqlalchemy.engine.url import make_url

    url = make_url(uri)
    contents = {str(p.relative_to(BUNDLE)): p.read_text(encoding="utf-8") for p in sorted(BUNDLE.rglob("*.yaml"))}
    database = yaml.safe_load(contents[DATABASE_FILE])
    database["sqlalchemy_uri"] = url.set(password="XXXXXXXXXX").render_as_string(hide_password=False)
    contents[DATABASE_FILE] = yaml.safe_dump(database, allow_unicode=True, sort_keys=False)
    return contents, {DATABASE_FILE: url.password or ""}


def _zip(contents: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in contents.items():
            zf.writestr(f"dg_warehouse/{name}", text)
    return buf.getvalue()


def import_assets(app, contents: dict[str, str], passwords: dict[str, str], user: str, password: str) -> None:
    """POST the bundle to /api/v1/assets/import/ as the admin, through the app's own request handling."""
    client = app.test_client()
    login = client.post("/api/v1/security/login", json={"username": user, "password": password, "provider": "db"})
    if login.status_code != 200:
        raise SystemExit(f"superset: cannot log in as {user} to import the dashboards ({login.status_code})")
    auth = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    csrf = client.get("/api/v1/security/csrf_token/", headers=auth).get_json()["result"]
    done = client.post("/api/v1/assets/import/", headers={**auth, "X-CSRFToken": csrf},
                       data={"bundle": (io.BytesIO(_zip(contents)), "dg_warehouse.zip"),
                             "passwords": json.dumps(passwords)}, content_type="multipart/form-data")
    if done.status_code != 200:
        raise SystemExit(f"superset: the import of {BUNDLE} failed ({done.status_code}): {done.get_data(as_text=True)}")


def _read_only(security_manager, base: str, keep_sql_lab: bool) -> set:
    """The permissions of role ``base`` (and sql_lab's, when kept) that change nothing shared."""
    roles = [base, "sql_lab"] if keep_sql_lab else [base]
    perms = {p for r in roles for p in security_manager.find_role(r).permissions}
    return {p for p in perms if (p.permission.name not in WRITES or p.view_menu.name in OWN_STATE)
            and (keep_sql_lab or p.view_menu.name not in SQL_LAB_VIEWS)}


def make_role(security_manager, db, name: str, keep_sql_lab: bool, database_perm: str) -> object:
    role = security_manager.find_role(name) or security_manager.add_role(name)
    perms = _read_only(security_manager, "Gamma", keep_sql_lab)
    perms.add(security_manager.add_permission_view_menu("database_access", database_perm))
    role.permissions = sorted(perms, key=lambda p: (p.permission.name, p.view_menu.name))
    db.session.commit()
    return role


def make_user(security_manager, db, username: str, role, password: str) -> None:
    user = security_manager.find_user(username=username)
    if user is None:
        security_manager.add_user(username, "DG", username.capitalize(), f"{username}@dga.example", [role],
                                  password=password)
    else:
        user.roles = [role]
        db.session.commit()
        security_manager.reset_password(user.id, password)


def main() -> int:
    uri = os.environ["DGWH_BI_URI"]
    admin, admin_password = os.environ.get("SUPERSET_ADMIN_USER", "admin"), os.environ["SUPERSET_ADMIN_PASSWORD"]
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager
        from superset.models.core import Database

        contents, passwords = bundle_contents(uri)
        # A connection registered by name before (the compose stack's superset-init: set-database-uri)
        # becomes the bundle's, so the import updates it instead of clashing on the name.
        bundle_db = yaml.safe_load(contents[DATABASE_FILE])
        existing = db.session.query(Database).filter_by(database_name=bundle_db["database_name"]).one_or_none()
        if existing is not None and str(existing.uuid) != bundle_db["uuid"]:
            existing.uuid = uuid.UUID(bundle_db["uuid"])
            db.session.commit()
    # Each request of the test client in an application context of its own, as a served request has.
    import_assets(app, contents, passwords, admin, admin_password)
    with app.app_context():
        database = db.session.query(Database).filter_by(database_name=bundle_db["database_name"]).one()
        analyst = make_role(security_manager, db, ANALYST_ROLE, True, database.perm)
        make_user(security_manager, db, ANALYST_USER, analyst, os.environ["SUPERSET_ANALYST_PASSWORD"])
        roles = [ANALYST_ROLE]
        if os.environ.get("SUPERSET_EXECUTIVE_PASSWORD"):
            executive = make_role(security_manager, db, EXECUTIVE_ROLE, False, database.perm)
            make_user(security_manager, db, EXECUTIVE_USER, executive, os.environ["SUPERSET_EXECUTIVE_PASSWORD"])
            roles.append(EXECUTIVE_ROLE)
    dashboards = sum(1 for k in contents if k.startswith("dashboards/"))
    print(f"superset: {len(contents)} files imported from {BUNDLE} ({dashboards} dashboards); "
          f"read-only roles: {', '.join(roles)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
