"""One self-contained HTML page: inline Vega/Vega-Lite/Vega-Embed bundle, chart specs as JSON, Thai fonts.

Chromium on the build machine (and many readers' intranets) has no internet, so nothing is fetched.
The HTML comes from the Jinja2 templates in ``reporting/templates_html/`` (loaded from the package, so it works
wherever the ``reporting`` folder goes), autoescaped: any value is written as text unless it is Markup.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import altair as alt
import jinja2
import vl_convert
from markupsafe import Markup

from reporting.charts import FONT_FAMILY

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Chart:
    chart_id: str
    spec: dict[str, Any]
    caption: str = ""


@dataclass
class Section:
    """intro, notes, the charts' captions are text; HTML in them must be Markup (e.g. a nightly.html.j2 macro),
    and html_after is such Markup (e.g. from ``table()``): a plain str is escaped."""

    section_id: str
    title: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    html_after: str | Markup = ""


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega-Embed + Vega-Lite + Vega in one script, matching the Vega-Lite version Altair writes specs for."""
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    version = wanted if wanted in vl_convert.get_vegalite_versions() else None
    bundle = vl_convert.javascript_bundle(vl_version=version)
    if "</script" in bundle.lower():
        raise RuntimeError("the Vega JS bundle contains '</script' and cannot be inlined safely")
    return bundle


def link_href(target: str, out_dir: Path) -> str:
    """URLs stay as given; filesystem paths (relative ones resolved against the cwd) become relative to out_dir."""
    if URL_SCHEME.match(target) and not re.match(r"^[A-Za-z]:[\\/]", target):
        return target
    path = Path(target).expanduser().resolve()
    return quote(Path(os.path.relpath(path, out_dir.resolve())).as_posix())


def script_json(payload: Any) -> Markup:
    """The JSON text of a ``<script type="application/json">`` element. Markup because it is script text, where
    entities are not decoded (escaping would corrupt the JSON); safe as it is because there is no "<" at all in
    it (written \\u003c), so neither "</script" nor "<!--" from a value can end or derail the element."""
    return Markup(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))


def _as_text(value: Any) -> Any:
    """The environment's finalize, run on every printed value before autoescaping: text is escaped the way
    ``html.escape`` does it (&#x27; and &quot;, what the pages always held; markupsafe's own &#39; and &#34; are
    as safe but would change the output); Markup, trusted HTML, passes as it is."""
    return value if hasattr(value, "__html__") else Markup(html.escape(str(value)))


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("reporting", "templates_html"), autoescape=True, finalize=_as_text,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
TEMPLATES.filters["script_json"] = script_json
TEMPLATES.filters["thousands"] = "{:,}".format


def macros(template: str) -> Any:
    """A template's macros, callable from Python; each returns Markup with its arguments escaped."""
    return TEMPLATES.get_template(template).module


def table(headers: list[str], rows: list[list[Any]], css_class: str = "data") -> Markup:
    """A data table (templates_html/table.html.j2); every header and cell is text, None an empty cell."""
    return macros("table.html.j2").table(headers, rows, css_class)


def render(*, title: str, subtitle_lines: list[str | Markup], links: list[tuple[str, str, bool]],
           sections: list[Section], footer: str | Markup) -> str:
    """The whole page (templates_html/page.html.j2). ``links`` are (label, href, exists) triples; missing targets
    are flagged, still linked. Subtitle lines and the footer are text unless Markup, like a Section's parts."""
    return TEMPLATES.get_template("page.html.j2").render(
        title=title, subtitle_lines=subtitle_lines, links=links, sections=sections, footer=footer,
        chart_count=sum(len(s.charts) for s in sections), vega_bundle=vega_bundle(), font_family=FONT_FAMILY)
