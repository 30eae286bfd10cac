"""One self-contained HTML page: inline Vega/Vega-Lite/Vega-Embed bundle, chart specs as JSON, Thai fonts.

Chromium on the build machine (and many readers' intranets) has no internet, so nothing is fetched.
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
import vl_convert

from reporting.charts import FONT_FAMILY

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Chart:
    chart_id: str
    spec: dict[str, Any]
    caption: str = ""


@dataclass
class Section:
    section_id: str
    title: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    html_after: str = ""


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


def _json_script(element_id: str, payload: Any) -> str:
    # No "<" at all inside the script element: neither "</script" nor "<!--" from a value can end or derail it.
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{html.escape(element_id)}">{text}</script>'


def table(headers: list[str], rows: list[list[Any]], css_class: str = "data") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


CSS = """
body { font-family: __FONT__; margin: 0; color: #212121; background: #fafafa; line-height: 1.6; }
header { background: #0d47a1; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header p { margin: .1rem 0; }
header a { color: #bbdefb; }
main { max-width: 1280px; margin: 0 auto; padding: 1rem 2rem 3rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; list-style: none; padding: 0; }
section { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 1rem 1.5rem; margin: 1.2rem 0; }
section h2 { margin-top: .2rem; font-size: 1.3rem; }
figure { margin: 1rem 0 1.5rem; overflow-x: auto; }
figcaption { color: #555; font-size: .9rem; }
.note { background: #fff8e1; border-left: 4px solid #ffb300; padding: .4rem .8rem; }
.chart-error { color: #b71c1c; font-weight: bold; }
table.data { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
table.data th, table.data td { border: 1px solid #e0e0e0; padding: .2rem .6rem; text-align: left; }
table.data th { background: #eceff1; }
.scroll { max-height: 28rem; overflow: auto; }
footer { color: #777; font-size: .85rem; text-align: center; padding: 1rem; }
""".replace("__FONT__", FONT_FAMILY)

EMBED_JS = """
(function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart-spec]"));
  var jobs = charts.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-chart-spec")).textContent);
    return vegaEmbed(el, spec, {renderer: "svg", actions: false}).then(function () {
      el.setAttribute("data-rendered", "ok");
    }).catch(function (err) {
      el.setAttribute("data-rendered", "error");
      el.innerHTML = "";
      var p = document.createElement("p");
      p.className = "chart-error";
      p.textContent = "chart failed to draw: " + err;
      el.appendChild(p);
    });
  });
  Promise.all(jobs).then(function () { document.body.setAttribute("data-charts-done", String(charts.length)); });
})();
"""


def render(*, title: str, subtitle_lines: list[str], links: list[tuple[str, str, bool]], sections: list[Section],
           footer: str) -> str:
    """The whole page. ``links`` are (label, href, exists) triples; missing targets are flagged, still linked."""
    charts = [c for s in sections for c in s.charts]
    link_items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(label)}</a>'
        + ("" if exists else " <small>(ยังไม่ได้สร้าง · not built yet)</small>") + "</li>"
        for label, href, exists in links) or "<li>ไม่มีลิงก์ (no links were given)</li>"
    nav = "".join(f'<li><a href="#{html.escape(s.section_id)}">{html.escape(s.title)}</a></li>' for s in sections)
    parts: list[str] = []
    for s in sections:
        parts.append(f'<section id="{html.escape(s.section_id)}"><h2>{html.escape(s.title)}</h2>')
        if s.intro:
            parts.append(f"<p>{s.intro}</p>")
        for c in s.charts:
            spec_id = f"spec-{c.chart_id}"
            parts.append(f'<figure><div class="chart" id="chart-{html.escape(c.chart_id)}" '
                         f'data-chart-spec="{html.escape(spec_id)}"></div>'
                         + (f"<figcaption>{c.caption}</figcaption>" if c.caption else "") + "</figure>")
            parts.append(_json_script(spec_id, c.spec))
        parts.extend(f'<p class="note">{note}</p>' for note in s.notes)
        parts.append(s.html_after + "</section>")
    subtitle = "".join(f"<p>{line}</p>" for line in subtitle_lines)
    return f"""<!DOCTYPE html>
<html lang="th">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="dgwh-chart-count" content="{len(charts)}">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script>{vega_bundle()}</script>
</head>
<body>
<header><h1>{html.escape(title)}</h1>{subtitle}</header>
<main>
<nav><h2>เอกสารประกอบ · Documentation</h2><ul>{link_items}</ul>
<h2>สารบัญ · Contents</h2><ul>{nav}</ul></nav>
{"".join(parts)}
</main>
<footer>{footer}</footer>
<script>{EMBED_JS}</script>
</body>
</html>
"""
