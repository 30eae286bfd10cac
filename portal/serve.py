"""``make portal``: the submission page on 127.0.0.1 (``DGWH_PORTAL_HOST``, ``DGWH_PORTAL_PORT``, default 8780), its URL
and the first operator's login (made on first start with a generated password, shown that once)."""

from __future__ import annotations

import os

from ground.warehouse import connect, mask_url, warehouse_url


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from ground.schema import ensure_schema
    from portal.accounts import first_operator
    from portal.app import create_app

    host = os.environ.get("DGWH_PORTAL_HOST", "127.0.0.1")
    port = int(os.environ.get("DGWH_PORTAL_PORT") or 8780)
    with connect(autocommit=True) as conn:
        ensure_schema(conn)
    username, password = first_operator()
    print(f"portal: http://{host}:{port}/ (warehouse {mask_url(warehouse_url())})")
    if password:
        print(f"first operator login: {username} / {password}  (shown once; it is stored hashed only)")
    else:
        print(f"operator login: {username} (its password was shown when it was made; a new one: "
              f"dgwh portal add-user {username} --operator --reset)")
    print("agency accounts: dgwh portal add-user <name> --agency <agency_id>; Ctrl-C stops the page", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", proxy_headers=False)
    return 0
