"""GX Data Docs without the internet: the CSS and JavaScript its pages load from public CDNs are vendored in
``expectations/data_docs_assets`` (pinned npm releases with their licences, see its README.md), copied into the
site as ``static/vendor`` and every page rewritten to load them from there by a relative path, so the site
works offline, from ``make docs`` or opened from disk (file://)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR = Path("static") / "vendor"  # inside the site

# Each URL GX's page templates load (great_expectations/render/view/templates) -> the vendored file.
ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap-4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap-4.3.1/dist/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js-1.12.9/dist/umd/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # GX names 1.19.0 for the filter control's CSS (beside 1.19.1's JavaScript): one version serves both
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark-1.1.0/dist/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/build/vega-embed.min.js",
}

# GX's navbar loads its logo from GX's web assets with the data context's id in the query (a call home): the
# same image is in the site's own static/images.
GX_IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_URL = re.compile(r"""(src|href)=(["'])(https?://[^"']+)\2""", re.IGNORECASE)
# A local copy needs no subresource integrity, and crossorigin would make file:// pages refuse it.
_CORS = re.compile(r"""\s(?:integrity|crossorigin)(?:=(["'])[^"']*\1)?""", re.IGNORECASE)


def _local(url: str, site: str) -> str | None:
    if url in ASSETS:
        return f"{site}/{VENDOR.as_posix()}/{ASSETS[url]}"
    if url.startswith(GX_IMAGES):
        return f"{site}/static/images/{url.removeprefix(GX_IMAGES).split('?', 1)[0]}"
    return None


def localise_page(html: str, site: str) -> str:
    """``html`` with every CDN asset of ``ASSETS`` and GX's logo loaded from the site instead (``site``: the
    site's root relative to the page, e.g. ``../..``)."""
    def tag(match: re.Match) -> str:
        text = match.group(0)
        if not any(_local(m.group(3), site) for m in _URL.finditer(text)):
            return text
        text = _URL.sub(lambda m: f"{m.group(1)}={m.group(2)}{_local(m.group(3), site) or m.group(3)}{m.group(2)}",
                        text)
        return _CORS.sub("", text)

    return _TAG.sub(tag, html)


def outside_assets(html: str) -> list[str]:
    """The URLs of scripts, stylesheets and images a page still loads from another host."""
    return [m.group(3) for tag in _TAG.finditer(html) for m in _URL.finditer(tag.group(0))]


def localise_site(site: Path) -> int:
    """Copy the vendored assets into ``site`` and rewrite each of its pages that still names a CDN; returns the
    number of pages rewritten (pages GX did not rebuild were rewritten when it built them)."""
    shutil.copytree(ASSETS_DIR, site / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    rewritten = 0
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if GX_IMAGES not in html and not any(url in html for url in ASSETS):
            continue
        page.write_text(localise_page(html, Path(os.path.relpath(site, page.parent)).as_posix()), encoding="utf-8")
        rewritten += 1
    return rewritten
