"""Open each dashboard as a person would: headless Chromium (Playwright, from Superset's virtualenv), log in,
wait for every chart to render, and report per dashboard what the page showed, first as it opens (its
filters at their defaults), then with the filters a request names.

    python -m bi.browser_check <base url> <request file> <screenshot dir> [chromium path]

The request file (JSON) holds ``user``, ``password`` and ``dashboards``: {slug: {filter name: [values]}}; an
empty mapping opens the dashboard once. The dashboard is read as it opens, nothing pressed (its required
filters apply their first values themselves); the filters named are then chosen in the filter bar, typed and
picked as a person does, and Apply pressed.
Prints one JSON object: {slug or slug+"-filtered": {title, charts, rendered, errors, empty, thai_text,
screenshot, texts: {chart title: text shown}, figures: {big number's title: its figure}}, "refused": [API
calls the server refused]}. The checks on it are the test's (tests/test_bi.py)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

THAI = re.compile("[\u0e01-\u0e5b]")
# A chart has rendered when it is no longer loading and holds an ECharts drawing, a table with rows, a big
# number, a line of text (handlebars) or a map with its provinces drawn (notes are not charts).
RENDERED_JS = """() => [...document.querySelectorAll('.dashboard-component-chart-holder')]
        .filter(h => h.querySelector('[data-test="editable-title"], .header-title, .editable-title')).map(h => {
    const c = h.querySelector('.chart-container, [data-test="chart-container"]') || h;
    const loading = !!c.querySelector('.loading, [data-test="loading-indicator"]')
        || /Waiting on|Loading/.test(c.innerText);
    const title = (h.querySelector('[data-test="editable-title"], .header-title, .editable-title') || {}).innerText;
    return {
        title: (title || '').trim(), text: h.innerText,
        figure: (c.querySelector('.header-line') || {}).innerText || null,
        drawn: !loading && !!c.querySelector('[_echarts_instance_] canvas, [_echarts_instance_] svg, '
            + 'table tbody tr, .header-line, .big-number-container, [data-test="big-number"], .handlebars p, '
            + '.superset-legacy-chart-country-map .map-layer path'),
        error: !!c.querySelector('.alert-danger, [data-test="error-message"], .ant-alert-error'),
        empty: !loading && /No results|ไม่มีผลลัพธ์|No data/i.test(c.innerText),
    };
})"""


def _apply(page) -> None:
    """Press the filter bar's Apply when it has changes to apply (the filters just set)."""
    button = page.get_by_role("button", name=re.compile("Apply filters|ใช้ตัวกรอง", re.I))
    if button.count() and button.first.is_enabled():
        button.first.click()
        time.sleep(3)


def _set_filter(page, name: str, value: str) -> None:
    """Choose a value in the filter bar as a person does: open the filter's select, type, pick the option."""
    item = page.locator(".ant-form-item").filter(has=page.get_by_text(name, exact=True)).first
    item.locator(".ant-select-selector").first.click()
    page.keyboard.type(value)
    option = value.replace("\\", "\\\\").replace('"', '\\"')
    page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden) "
                 f'.ant-select-item-option[title="{option}"]').first.click(timeout=60_000)
    page.keyboard.press("Escape")
    time.sleep(1)


def _log_in(page, base: str, user: str, password: str, out: Path, attempts: int = 3) -> None:
    """Log in through the form as a person does. Waits for the redirect to be committed, not for the
    welcome page to finish loading (its bundles and API calls take minutes on a busy 2-core machine),
    and tries again when the form was submitted before the page's script was ready."""
    for attempt in range(1, attempts + 1):
        page.goto(f"{base}/login/", wait_until="domcontentloaded", timeout=120_000)
        page.locator("#username").wait_for(state="visible", timeout=120_000)
        page.locator("#username").fill(user)
        page.locator("#password").fill(password)
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
        try:
            page.wait_for_url(lambda url: "/login" not in url, wait_until="commit", timeout=90_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError; retried, then reported below
            page.screenshot(path=str(out / f"login-attempt-{attempt}.png"), full_page=True)
    raise SystemExit(f"could not log in to {base} as {user} after {attempts} attempts; the page said: "
                     f"{page.inner_text('body')[:500]!r} (screenshots in {out})")


def _settle(page, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    state: list[dict] = []
    while time.monotonic() < deadline:
        state = page.evaluate(RENDERED_JS)
        if _on_login_page(page) or (
                state and all(s["drawn"] or s["error"] or s["empty"] for s in state)):
            break
        time.sleep(2)
    return state


def _on_login_page(page) -> bool:
    return page.url.split("?")[0].rstrip("/").endswith("/login")


def _open(page, url: str, shot: Path, timeout_s: float, filters: dict[str, list] | None = None,
          log_in=None) -> dict:
    """Open the dashboard as it opens (nothing pressed: its required filters apply their defaults themselves),
    or set the given filters {name: [values]} and press Apply; read it. Sent back to the login page (a session
    lost on a busy machine), it logs in (``log_in``) and opens the dashboard once more."""
    if url:
        page.goto(url, wait_until="domcontentloaded", timeout=180_000)
        _settle(page, timeout_s)
        if _on_login_page(page) and log_in is not None:
            log_in()
            page.goto(url, wait_until="domcontentloaded", timeout=180_000)
            _settle(page, timeout_s)
    for name, values in (filters or {}).items():
        for value in values:
            _set_filter(page, name, str(value))
    if filters:
        _apply(page)
    state = _settle(page, timeout_s)
    time.sleep(2)  # animations settle before the screenshot
    page.screenshot(path=str(shot))  # the tall viewport holds the dashboard; full_page would re-lay it out
    text = page.inner_text("body")
    return {"title": page.title(), "charts": len(state), "rendered": sum(s["drawn"] for s in state),
            "errors": sum(s["error"] for s in state), "empty": sum(s["empty"] for s in state),
            "thai_text": len(THAI.findall(text)), "screenshot": str(shot),
            "texts": {s["title"]: s["text"] for s in state},
            "figures": {s["title"]: s["figure"] for s in state if s["figure"] is not None}}


def check(base: str, request: dict, out: Path, chromium: str | None, timeout_s: float = 150) -> dict:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(headless=True, executable_path=chromium or None,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1600, "height": 2200}, locale="th-TH")
        refused: list[str] = []  # API calls the server refused the user (401, 403)
        page.on("response", lambda r: refused.append(f"{r.request.method} {r.url.split('?')[0]} {r.status}")
                if "/api/" in r.url and r.status in (401, 403) else None)
        def log_in() -> None:
            _log_in(page, base, request["user"], request["password"], out)

        log_in()
        for slug, filters in request["dashboards"].items():
            results[slug] = _open(page, f"{base}/superset/dashboard/{slug}/", out / f"{slug}.png", timeout_s,
                                  log_in=log_in)
            if filters:
                results[f"{slug}-filtered"] = _open(page, "", out / f"{slug}-filtered.png", timeout_s, filters)
        browser.close()
    results["refused"] = refused
    return results


if __name__ == "__main__":
    base, request_file, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    request = json.loads(request_file.read_text())
    print(json.dumps(check(base, request, out, sys.argv[4] if len(sys.argv) > 4 else None), ensure_ascii=False))
