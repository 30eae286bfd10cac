"""``make docs``: the nightly report, GX Data Docs and dbt docs over HTTP, read-only, on 127.0.0.1.

Only three folders are served (never the rest of the state dir, which holds the warehouse's passwords
and quarantined files): ``/report/`` the reports folder (``latest.html``), ``/data-docs/`` the GX Data
Docs site, ``/dbt-docs/`` dbt's ``static_index.html`` (one self-contained page). GET and HEAD only.
Port ``DGWH_DOCS_PORT`` (default 0: a free one, so two checkouts never clash); the URL is printed. Stops
on Ctrl-C, or ``make docs-stop`` (the pid is in ``<state>/docs/server.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from expectations.docs import data_docs_index
from expectations.docs_assets import localise_site
from ground.settings import Settings, get_settings


def roots(settings: Settings) -> dict[str, tuple[Path, str]]:
    """URL prefix -> (folder served, its start page)."""
    return {
        "report": (settings.reports_dir, "latest.html"),
        "data-docs": (data_docs_index(settings).parent, "index.html"),
        "dbt-docs": (settings.dbt_target_dir, "static_index.html"),
    }


# What may be fetched under /dbt-docs/: the static page only (dbt_target also holds compiled SQL and logs).
DBT_FILES = {"static_index.html"}


class DocsHandler(SimpleHTTPRequestHandler):
    server_version = "dg-warehouse-docs"

    def __init__(self, *args, roots: dict[str, tuple[Path, str]], **kwargs) -> None:
        self.roots = roots
        super().__init__(*args, directory="/nonexistent", **kwargs)

    def translate_path(self, path: str) -> str:
        parts = [p for p in unquote(urlsplit(path).path).split("/") if p]
        if not parts or parts[0] not in self.roots or any(p in ("..", ".") or "\\" in p for p in parts):
            return "/nonexistent/"
        base, start = self.roots[parts[0]]
        rest = parts[1:] or [start]
        if parts[0] == "dbt-docs" and rest != [start] and "/".join(rest) not in DBT_FILES:
            return "/nonexistent/"
        target = base.joinpath(*rest).resolve()
        if not target.is_relative_to(base.resolve()):
            return "/nonexistent/"
        return str(target)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path in ("", "/"):
            return self._index()
        if self.path.rstrip("/") in {f"/{name}" for name in self.roots}:
            self.send_response(302)
            self.send_header("Location", f"{self.path.rstrip('/')}/{self.roots[self.path.strip('/')][1]}")
            self.end_headers()
            return None
        return super().do_GET()

    def list_directory(self, path):  # no folder listings
        self.send_error(404)
        return None

    def _index(self) -> None:
        from reporting.page import TEMPLATES

        labels = {"report": "Nightly report", "data-docs": "Great Expectations Data Docs", "dbt-docs": "dbt docs"}
        items = [(f"/{name}/{start}", labels[name], (base / start).is_file())
                 for name, (base, start) in self.roots.items()]
        body = TEMPLATES.get_template("docs_index.html.j2").render(items=items).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        sys.stderr.write("docs: " + (format % args) + "\n")


def server_file(settings: Settings) -> Path:
    return settings.state_dir / "docs" / "server.json"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(host: str = "127.0.0.1", port: int | None = None) -> None:
    settings = get_settings()
    port = int(os.environ.get("DGWH_DOCS_PORT", 0)) if port is None else port
    site = data_docs_index(settings).parent
    if site.is_dir():  # a site built before its assets were vendored loads them from the project too
        try:
            localise_site(site)
        except OSError as exc:  # a read-only mount (compose's docs service): the next night's build does it
            print(f"docs: Data Docs left as built ({exc.strerror}: {exc.filename})", file=sys.stderr, flush=True)
    httpd = ThreadingHTTPServer((host, port), partial(DocsHandler, roots=roots(settings)))
    url = f"http://{host}:{httpd.server_address[1]}/"
    record = server_file(settings)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": os.getpid(), "url": url}))
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"docs (read-only): {url}  — report, GX Data Docs, dbt docs; Ctrl-C or `make docs-stop` stops it",
          flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        record.unlink(missing_ok=True)


def stop() -> int:
    record = server_file(get_settings())
    try:
        pid = int(json.loads(record.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        print("no docs server running for this checkout")
        return 0
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        cmdline = b""
    if b"reporting.serve" in cmdline or b"dgwh docs" in cmdline:  # python -m reporting.serve, or dgwh docs
        os.kill(pid, signal.SIGTERM)
        print(f"stopped the docs server (pid {pid})")
    else:
        print("the docs server recorded is no longer running")
    record.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve the report, GX Data Docs and dbt docs read-only")
    parser.add_argument("action", nargs="?", choices=["serve", "stop"], default="serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if args.action == "stop":
        return stop()
    serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
