"""Airflow's REST API (v2) as an operator uses it: a JWT from ``/auth/token`` with the admin's login."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

TERMINAL = {"success", "failed"}


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._login = {"username": username, "password": password}
        self._client = httpx.Client(base_url=self.base_url, timeout=60)
        self._token: str | None = None
        # called at every poll of a wait (Stack.check_alive): raises when a process of the stack died
        self.alive: Callable[[], None] | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            response = self._client.post("/auth/token", json=self._login)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs) -> Any:
        for attempt in range(2):
            response = self._client.request(method, path, headers=self._headers(), **kwargs)
            if response.status_code == 401 and attempt == 0:  # the token expired: log in again
                self._token = None
                continue
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                           json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float, on_poll=None) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run(dag_id, run_id)["state"]
            if state in TERMINAL:
                return state
            if on_poll is not None:
                on_poll()
            if self.alive is not None:  # a dead service fails the wait at once instead of at its timeout
                self.alive()
            time.sleep(2)
        return "timeout"

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                            params={"limit": 1000})["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/"
                                   f"{map_index}/tries")["task_instances"]

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        data = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/"
                                   f"{try_number}", params={"map_index": map_index, "full_content": True})
        content = data.get("content", "")
        if isinstance(content, list):
            return "\n".join(f"{e.get('timestamp', '')[11:19]} {e.get('level', '')} {e.get('event', '')}".strip()
                             if isinstance(e, dict) else str(e) for e in content)
        return str(content)

    def asset_events(self, dag_id: str, run_id: str) -> list[dict]:
        return self.request("GET", "/api/v2/assets/events",
                            params={"source_dag_id": dag_id, "source_run_id": run_id, "limit": 1000})["asset_events"]
