"""A BI session cannot hold the night: bi_reader's role limits, and the pipeline's lock timeout with retries,
on the sample warehouse with a real dbt build of a mart while a BI transaction holds it open."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import psycopg
from psycopg import sql

import ground.settings
from ground.settings import duration_s, session_limits


def test_bi_reader_sessions_start_with_the_role_limits(sample):
    limits = session_limits()
    # the retries outlast both BI limits: a BI session ends before the pipeline gives up
    window = ((limits.ddl_lock_retries + 1) * duration_s(limits.ddl_lock_timeout)
              + limits.ddl_lock_retries * limits.ddl_lock_retry_delay_s)
    assert window > max(duration_s(v) for v in limits.bi_role_settings().values())
    with sample.connect("bi_reader") as conn:
        for name, value in limits.bi_role_settings().items():
            shown = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            assert duration_s(shown) == duration_s(value) > 0, (name, shown)


def test_an_open_bi_transaction_delays_a_mart_build_by_one_lock_timeout_at_most(sample, monkeypatch):
    from nightly.transform import run_dbt

    # Short limits so the test is quick; the role's own idle limit is the same mechanism, set per session here.
    limits = dataclasses.replace(session_limits(), ddl_lock_timeout="2s", ddl_lock_retries=3,
                                 ddl_lock_retry_delay_s=1)
    monkeypatch.setattr(ground.settings, "session_limits", lambda: limits)
    monkeypatch.setenv("DGWH_RUN_ID", "test-bi-lock")
    lock_s = duration_s(limits.ddl_lock_timeout)

    with sample.connect() as pipeline:
        mart = pipeline.execute("SELECT 'marts.project_status'::regclass::oid").fetchone()[0]
        rows = pipeline.execute("SELECT count(*) FROM marts.project_status").fetchone()[0]
    holder = psycopg.connect(sample.url("bi_reader"))  # not autocommit: BEGIN, then a SELECT left open
    holder.execute("SELECT count(*) FROM marts.project_status").fetchone()
    done = threading.Event()
    seen: dict[str, list] = {"waits": [], "latencies": [], "errors": [], "holder_end": []}

    def hold_until_waited_on() -> None:
        """Keep the transaction busy until the pipeline waits on its lock, then idle with a 3 s idle limit."""
        with sample.connect() as watch:
            started = None
            while not done.is_set():
                waiting = watch.execute("SELECT count(*) FROM pg_locks WHERE relation = %s AND NOT granted",
                                        (mart,)).fetchone()[0]
                now = time.monotonic()
                if waiting and started is None:
                    started = now
                    if not seen["waits"]:
                        holder.execute("SET idle_in_transaction_session_timeout = '3s'")
                elif not waiting and started is not None:
                    seen["waits"].append(now - started)
                    started = None
                if not seen["waits"] and started is None:
                    holder.execute("SELECT 1")
                time.sleep(0.05)

    def read_meanwhile() -> None:
        with sample.connect("bi_reader") as reader:
            while not done.is_set():
                t0 = time.monotonic()
                try:
                    assert reader.execute("SELECT count(*) FROM marts.project_status").fetchone()[0] == rows
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    seen["errors"].append(repr(exc))
                seen["latencies"].append(time.monotonic() - t0)
                time.sleep(0.2)

    threads = [threading.Thread(target=hold_until_waited_on), threading.Thread(target=read_meanwhile)]
    for t in threads:
        t.start()
    try:
        t0 = time.monotonic()
        outcome = run_dbt(["run", "--select", "project_status",
                           "--vars", json.dumps({"ddl_lock_timeout": limits.ddl_lock_timeout})])
        elapsed = time.monotonic() - t0
    finally:
        done.set()
        for t in threads:
            t.join(30)
    try:
        holder.execute("SELECT 1")
    except psycopg.Error as exc:  # IdleInTransactionSessionTimeout
        seen["holder_end"].append(str(exc))
    finally:
        holder.close()

    assert outcome.success, outcome.failures
    assert outcome.retried == ["project_status"]  # the first swap gave up after the lock timeout, the retry won
    assert seen["waits"] and max(seen["waits"]) < lock_s + 1.0, seen["waits"]
    assert seen["holder_end"] and "idle-in-transaction" in seen["holder_end"][0], seen["holder_end"]
    assert not seen["errors"], seen["errors"][:3]
    assert len(seen["latencies"]) > 5 and max(seen["latencies"]) < lock_s + 1.5, max(seen["latencies"])
    print(f"mart build with an open BI transaction: {elapsed:.1f} s, pipeline waits {seen['waits']}, "
          f"slowest BI query {max(seen['latencies']):.2f} s")

