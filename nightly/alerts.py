"""Operator alerts: a failed run and a late night, by e-mail (the smtp provider's notifier) and by webhook.

Configured by environment, read when an alert is sent (so the dag-processor, which runs DAG callbacks,
and the triggerer, which runs deadline callbacks, need it; compose gives every Airflow service the same):

- ``DGWH_ALERT_EMAIL_TO``: comma-separated recipients; unset = no e-mail. The mail server is the Airflow
  connection ``DGWH_ALERT_SMTP_CONN_ID`` (default ``smtp_default``), e.g. from the environment variable
  ``AIRFLOW_CONN_SMTP_DEFAULT`` (JSON: host, port, login, password, extra ``from_email``, ``disable_ssl``,
  ``disable_tls``). ``DGWH_ALERT_EMAIL_FROM`` overrides the connection's ``from_email``.
- ``DGWH_ALERT_WEBHOOK_URL``: an HTTP(S) URL that receives the alert as a JSON POST; unset = none.

Neither set: alerts are only logged. A channel that fails is logged (without its URL or credentials) and
does not stop the other.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from airflow.sdk import BaseNotifier
from markupsafe import Markup

log = logging.getLogger(__name__)

# dg_nightly starts at 02:00 Asia/Bangkok (its cron timetable); the night is late when it has not finished
# by 06:00, four hours after its logical date (a manual run: four hours after it was triggered).
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Bangkok"
NIGHTLY_FINISH_BY = "06:00"
NIGHTLY_DEADLINE_AFTER_START = timedelta(hours=4)


@dataclass
class Alert:
    event: str  # "run_failed" or "deadline_missed"
    dag_id: str
    run_id: str
    text: str
    failed_tasks: list[str] = field(default_factory=list)
    url: str | None = None

    @property
    def subject(self) -> str:
        what = "failed" if self.event == "run_failed" else "has not finished in time"
        return f"[dg-warehouse] {self.dag_id} {what}: {self.run_id}"


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _run_url(dag_id: str, run_id: str) -> str | None:
    base = os.environ.get("AIRFLOW__API__BASE_URL", "").rstrip("/")
    return f"{base}/dags/{dag_id}/runs/{run_id}" if base else None


def failure_alert(context: dict[str, Any]) -> Alert:
    """The alert for a failed run, from a DAG (or task) failure callback's context."""
    dag_run = context.get("dag_run")
    dag_id = _get(dag_run, "dag_id") or _get(context.get("dag"), "dag_id") or "?"
    run_id = _get(dag_run, "run_id") or context.get("run_id") or "?"
    failed: list[str] = []
    ti = context.get("ti") or context.get("task_instance")
    if ti is not None and _get(ti, "task_id"):
        failed.append(str(_get(ti, "task_id")))
    try:
        failed += [t.task_id for t in dag_run.get_task_instances(state=["failed", "upstream_failed"])
                   if t.task_id not in failed]
    except Exception:  # noqa: BLE001 - not every context carries a DagRun that can list its tasks
        pass
    reason = context.get("reason") or context.get("exception") or "a task failed"
    text = (f"{dag_id} run {run_id} failed ({reason})."
            + (f" Failed tasks: {', '.join(failed[:20])}." if failed else "")
            + " The run's summary is in its summarise task log and in ops.pipeline_runs.")
    return Alert("run_failed", str(dag_id), str(run_id), text, failed[:20], _run_url(str(dag_id), str(run_id)))


def deadline_alert(context: dict[str, Any] | None, finish_by: str = NIGHTLY_FINISH_BY) -> Alert:
    """The alert for a run still going at its deadline, from the deadline callback's context."""
    context = context or {}
    dag_run = context.get("dag_run") or {}
    dag_id, run_id = str(_get(dag_run, "dag_id") or "?"), str(_get(dag_run, "run_id") or "?")
    deadline = _get(context.get("deadline") or {}, "deadline_time")
    text = (f"{dag_id} run {run_id} has not finished by {finish_by} {NIGHTLY_TIMEZONE}"
            + (f" (deadline {deadline})" if deadline else "")
            + f"; state {_get(dag_run, 'state') or 'unknown'}. The marts BI reads may still be yesterday's.")
    return Alert("deadline_missed", dag_id, run_id, text, [], _run_url(dag_id, run_id))


def _as_text(value: Any) -> Any:
    """Every printed value before autoescaping: text escaped as ``html.escape`` does (the entities the mail
    always had; markupsafe's own are as safe), Markup passed as it is (as reporting/page.py does)."""
    return value if hasattr(value, "__html__") else Markup(html.escape(str(value)))


@lru_cache(maxsize=1)
def _mail_templates() -> jinja2.Environment:
    """The alert mail's templates, ``nightly/mail/`` in the package (made on first use, not when a DAG is parsed)."""
    return jinja2.Environment(loader=jinja2.PackageLoader("nightly", "mail"), autoescape=True, finalize=_as_text,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def email_html(alert: Alert) -> str:
    """The e-mail's HTML body (nightly/mail/alert.html.j2): the text, then the run's link when there is one."""
    return _mail_templates().get_template("alert.html.j2").render(alert=alert)


def send_email(alert: Alert) -> bool:
    """Through the smtp provider's notifier; False when no recipient is configured."""
    to = [a.strip() for a in os.environ.get("DGWH_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if not to:
        return False
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    notifier = SmtpNotifier(to=to, from_email=os.environ.get("DGWH_ALERT_EMAIL_FROM") or None,
                            subject=alert.subject, html_content=email_html(alert),
                            smtp_conn_id=os.environ.get("DGWH_ALERT_SMTP_CONN_ID") or "smtp_default")
    # The text is final, nothing to render from the context; an empty one also keeps the notifier off the
    # context's DAG (a SerializedDAG without get_template_env under Airflow 3.3's `dags test`) when it
    # renders the connection's from_email.
    notifier.notify({})
    return True


def send_webhook(alert: Alert, timeout_s: float = 10.0) -> bool:
    """POST the alert as JSON; False when no URL is configured."""
    url = os.environ.get("DGWH_ALERT_WEBHOOK_URL", "").strip()
    if not url:
        return False
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("DGWH_ALERT_WEBHOOK_URL must be an http(s) URL")
    payload = json.dumps({**asdict(alert), "subject": alert.subject}, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "dg-warehouse-alerts"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - scheme checked above
        if response.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")
    return True


def send(alert: Alert) -> dict[str, str]:
    """Every configured channel, each on its own: {channel: "sent" | "not configured" | "failed: ..."}."""
    log.warning("ALERT %s", alert.text)
    outcome: dict[str, str] = {}
    for channel, call in (("email", lambda: send_email(alert)), ("webhook", lambda: send_webhook(alert))):
        try:
            outcome[channel] = "sent" if call() else "not configured"
        except Exception as exc:  # noqa: BLE001 - one channel down must not silence the other
            outcome[channel] = f"failed: {type(exc).__name__}"
            host = urlsplit(os.environ.get("DGWH_ALERT_WEBHOOK_URL", "")).hostname if channel == "webhook" else None
            log.error("sending the %s alert failed%s: %s", channel, f" (host {host})" if host else "",
                      type(exc).__name__)
    return outcome


class FailureAlert(BaseNotifier):
    """An Airflow notifier for ``on_failure_callback``: e-mail and webhook as configured."""

    def render_template_fields(self, context: dict[str, Any], jinja_env: Any = None) -> None:
        """Nothing to render (no template fields; the alert's text is built from the context). Skipping it
        also avoids Airflow 3.3's ``dags test``, whose context holds a SerializedDAG without
        ``get_template_env``, failing the callback before it sends anything."""

    def notify(self, context: dict[str, Any]) -> None:
        send(failure_alert(context))


async def deadline_missed(context: dict[str, Any] | None = None, finish_by: str = NIGHTLY_FINISH_BY) -> str:
    """The deadline alert's callback (runs in the triggerer: ``AsyncCallback``). It returns text: Airflow
    stores the return value in ``callback.output`` (a text column), and a dict there crashed the triggerer
    (found by make prod-check: "can't adapt type 'dict'")."""
    outcome = await asyncio.to_thread(send, deadline_alert(context, finish_by))
    return "; ".join(f"{channel}: {result}" for channel, result in outcome.items())
