"""Open each dashboard as a person would: headless Chromium (Playwright, from Superset's virtualenv),
log in, wait for every chart to render, and report per dashboard what the page showed.

    python -m bi.browser_check <base url> <password file> <screenshot dir> [chromium path]

Prints one JSON object: {slug: {title, charts, rendered, errors, empty, thai_text, screenshot}}. The
checks on it are the test's (tests/test_bi.py)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

SLUGS = ("dg-projects", "dg-budget", "dg-readiness")
THAI = re.compile("[\u0e01-\u0e5b]")
# A chart has rendered when it is no longer loading and holds an ECharts drawing or a table with rows.
RENDERED_JS = """() => [...document.querySelectorAll('.chart-container, [data-test="chart-container"]')].map(c => {
    const loading = !!c.querySelector('.loading, [data-test="loading-indicator"]')
        || /Waiting on|Loading/.test(c.innerText);
    return {
        drawn: !loading && !!c.querySelector('[_echarts_instance_] canvas, [_echarts_instance_] svg, table tbody tr'),
        error: !!c.querySelector('.alert-danger, [data-test="error-message"], .ant-alert-error'),
        empty: !loading && /No results|ไม่มีผลลัพธ์|No data/i.test(c.innerText),
    };
})"""


def _log_in(page, base: str, password: str, out: Path, attempts: int = 3) -> None:
    """Log in through the form as a person does. Waits for the redirect to be committed, not for the
    welcome page to finish loading (its bundles and API calls take minutes on a busy 2-core machine),
    and tries again when the form was submitted before the page's script was ready."""
    for attempt in range(1, attempts + 1):
        page.goto(f"{base}/login/", wait_until="domcontentloaded", timeout=120_000)
        page.locator("#username").wait_for(state="visible", timeout=120_000)
        page.locator("#username").fill("admin")
        page.locator("#password").fill(password)
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
        try:
            page.wait_for_url(lambda url: "/login" not in url, wait_until="commit", timeout=90_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError; retried, then reported below
            page.screenshot(path=str(out / f"login-attempt-{attempt}.png"), full_page=True)
    raise SystemExit(f"could not log in to {base} as admin after {attempts} attempts; the page said: "
                     f"{page.inner_text('body')[:500]!r} (screenshots in {out})")


def check(base: str, password: str, out: Path, chromium: str | None, timeout_s: float = 150) -> dict:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(headless=True, executable_path=chromium or None,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1600, "height": 2200}, locale="th-TH")
        _log_in(page, base, password, out)
        for slug in SLUGS:
            page.goto(f"{base}/superset/dashboard/{slug}/", wait_until="domcontentloaded", timeout=180_000)
            deadline = time.monotonic() + timeout_s
            state: list[dict] = []
            while time.monotonic() < deadline:
                state = page.evaluate(RENDERED_JS)
                if page.url.rstrip("/").endswith("/login") or (
                        state and all(s["drawn"] or s["error"] or s["empty"] for s in state)):
                    break
                time.sleep(2)
            time.sleep(2)  # animations settle before the screenshot
            shot = out / f"{slug}.png"
            page.screenshot(path=str(shot), full_page=True)
            text = page.inner_text("body")
            results[slug] = {
                "title": page.title(), "charts": len(state), "rendered": sum(s["drawn"] for s in state),
                "errors": sum(s["error"] for s in state), "empty": sum(s["empty"] for s in state),
                "thai_text": len(THAI.findall(text)), "screenshot": str(shot)}
        browser.close()
    return results


if __name__ == "__main__":
    base, password_file, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    password = json.loads(password_file.read_text())["admin_password"]
    print(json.dumps(check(base, password, out, sys.argv[4] if len(sys.argv) > 4 else None), ensure_ascii=False))
