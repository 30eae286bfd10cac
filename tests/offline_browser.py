"""Headless Chromium with every outside host blocked, driven over the DevTools protocol (websockets): open a
page, wait for its load event, evaluate an expression, and list every URL the page requested."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class OfflineChromium:
    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="dgwh-chromium-"))
        # every host name resolves to nothing but 127.0.0.1: no CDN, no public host is reachable
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.2)
        self.port = int(port_file.read_text().split()[0])

    def open(self, url: str, expression: str, settle_s: float = 1.5, timeout: float = 60) -> tuple[object, list[str]]:
        """Load ``url``; the value of ``expression`` once it loaded (and ``settle_s`` later), and every URL the
        page requested (whether it was answered or not)."""
        target = httpx.put(f"http://127.0.0.1:{self.port}/json/new?about:blank", timeout=30).json()
        requested: list[str] = []
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            ids = iter(range(1, 10_000))

            def call(method: str, **params) -> dict:
                n = next(ids)
                ws.send(json.dumps({"id": n, "method": method, "params": params}))
                while True:
                    message = json.loads(ws.recv(timeout=timeout))
                    if message.get("method") == "Network.requestWillBeSent":
                        requested.append(message["params"]["request"]["url"])
                    if message.get("id") == n:
                        return message

            call("Network.enable")
            call("Page.enable")
            call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=timeout))
                if message.get("method") == "Network.requestWillBeSent":
                    requested.append(message["params"]["request"]["url"])
                if message.get("method") == "Page.loadEventFired":
                    break
            time.sleep(settle_s)
            result = call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        value = result.get("result", {}).get("result", {}).get("value")
        return value, requested

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
