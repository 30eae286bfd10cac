"""What the nightly tasks read and wrote, as OpenLineage datasets on their task events.

The OpenLineage provider turns what a task reports to Airflow's hook lineage collector into the inputs and
outputs of the task's event (scripts/airflow.sh and compose set the transport; ``AIRFLOW__OPENLINEAGE__DISABLED``
turns it off, and then the collector ignores what it is given). A load batch reports the landing files it
loaded (``file://`` paths, or the object store's URL: see docs/deploying.md) and the raw table they went to;
``dbt.build`` reports the relations it built (the marts among them) and what they read that it did not build
(the raw tables).
Tables are ``postgres://host:port/database/schema/table`` Assets, under the warehouse identity the mart
Assets use (common.assets), so an event's datasets and the Assets name one table alike: namespace
``postgres://host:port``, name ``database.schema.table``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.assets import table_uri

RAW_SCHEMA = "raw"


def file_uri(location: str) -> str:
    """A landing file's dataset URI: an object store's URL as it is, a local path as ``file://`` + its path."""
    if urlsplit(location).scheme not in ("", "file"):
        return location
    return Path(location.removeprefix("file://")).absolute().as_uri()


def _collector_created() -> bool:
    """Whether this process has made the collector yet (making it imports every provider's Asset handlers)."""
    from airflow.sdk.lineage import get_hook_lineage_collector

    info = getattr(get_hook_lineage_collector, "cache_info", None)
    return info is None or info().currsize != 0


def forget(context: Any = None) -> None:
    """``on_execute_callback`` of every task: only what this task reports goes on its COMPLETE event. A
    scheduler runs each task in a process of its own; ``airflow dags test`` runs them all in one, where the
    collector would otherwise carry a load batch's files onto every later task's events. (There the START
    event of the task after a reporting one still shows that task's datasets: Airflow sends it before any
    callback of the task runs.)"""
    if not _collector_created():
        return
    from airflow.sdk.lineage import get_hook_lineage_collector

    collector = get_hook_lineage_collector()
    for name in ("_inputs", "_outputs", "_input_counts", "_output_counts", "_extra", "_extra_counts"):
        held = getattr(collector, name, None)
        if hasattr(held, "clear"):
            held.clear()


def report(task: Any, inputs: Iterable[str], outputs: Iterable[str]) -> None:
    """Put dataset URIs on the running task's OpenLineage event (``task``: the task instance reporting).
    Lineage never fails a task: what the task did stands, a failure to describe it is a warning."""
    try:
        from airflow.sdk.lineage import get_hook_lineage_collector

        collector = get_hook_lineage_collector()
        for uri in dict.fromkeys(inputs):
            collector.add_input_asset(context=task, uri=uri)
        for uri in dict.fromkeys(outputs):
            collector.add_output_asset(context=task, uri=uri)
    except Exception as exc:
        logging.getLogger(__name__).warning("lineage not reported: %s", exc)


def report_loads(task: Any, batch: list[dict], outcomes: list[dict]) -> None:
    """A load batch: the files it loaded (rejected and skipped ones went nowhere) into their raw tables."""
    try:
        loaded = {o["path"] for o in outcomes if o.get("status") == "loaded"}
        files = [f for f in batch if f["relative_path"] in loaded]
        inputs = [file_uri(str(f["uri"])) for f in files]
        outputs = [table_uri(RAW_SCHEMA, str(f["source"])) for f in files]
    except Exception as exc:
        logging.getLogger(__name__).warning("lineage of the load batch not reported: %s", exc)
        return
    report(task, inputs, outputs)


def dbt_lineage(nodes: dict[str, dict], sources: dict[str, dict], built: Iterable[str]) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of a dbt build: the relations of the nodes it built (``built``: unique_ids; ``nodes``,
    ``sources``: the manifest's), and those of their parents it did not build (sources, unchanged models)."""
    built = [uid for uid in built if uid in nodes]
    done = set(built)

    def relation(uid: str) -> str | None:
        node = nodes.get(uid) or sources.get(uid)
        if node is None or node.get("config", {}).get("materialized") == "ephemeral":
            return None
        return table_uri(node["schema"], node.get("identifier") or node.get("alias") or node["name"])

    def read(uid: str) -> list[str]:  # through ephemeral models (inlined SQL) to what they read
        node = nodes.get(uid, {})
        if uid in nodes and node.get("config", {}).get("materialized") == "ephemeral":
            return [q for p in node.get("depends_on", {}).get("nodes", []) for q in read(p)]
        return [uid]

    parents = [q for uid in built for p in nodes[uid].get("depends_on", {}).get("nodes", []) for q in read(p)
               if q not in done]
    inputs = [u for u in map(relation, parents) if u]
    outputs = [u for u in map(relation, built) if u]
    return list(dict.fromkeys(inputs)), list(dict.fromkeys(outputs))
