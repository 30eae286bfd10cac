"""GX Data Docs: the night's validation results as a static HTML site under ``<state_dir>/gx``.

The gate (``expectations.gate``) validates in memory and writes each result through GX's
filesystem validation-results store into ``<state_dir>/gx/uncommitted/validations``; that is the
default store of a file-backed GX context rooted at ``<state_dir>``, so building the docs is one
call on that context once the loads are done (one process, no concurrent writers).
"""

from __future__ import annotations

import os
from pathlib import Path

import great_expectations as gx
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

from expectations.suites import build_suite
from ingest.settings import Settings, get_settings
from ingest.sources import SOURCES

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
SITE = "local_site"


def docs_context(settings: Settings | None = None) -> gx.data_context.FileDataContext:
    """The file-backed GX context under the state dir, with the suites as the code defines them."""
    settings = settings or get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=settings.state_dir)
    context.variables.progress_bars = {"globally": False}
    for name in SOURCES:
        context.suites.add_or_update(build_suite(name))
    return context


def build_data_docs(settings: Settings | None = None, run_id: str | None = None) -> Path:
    """Build Data Docs for the stored validations and return the site's ``index.html``.

    With ``run_id``, only that run's result pages (and the suites and the index) are rendered;
    earlier nights' pages stay as they were built. Without it, the whole site is rebuilt.
    """
    context = docs_context(settings)
    identifiers = None
    if run_id is not None:
        prefix = f"{run_id}:"
        identifiers = [k for k in context.validation_results_store.list_keys()
                       if str(k.run_id.run_name or "").startswith(prefix)]
        identifiers += [ExpectationSuiteIdentifier(name=build_suite(n).name) for n in SOURCES]
    built = context.build_data_docs(site_names=[SITE], resource_identifiers=identifiers)
    return Path(context.root_directory) / "uncommitted" / "data_docs" / SITE / "index.html" if built else Path()
