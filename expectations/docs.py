"""GX Data Docs: the night's validation results as a static HTML site under ``<shared_state_dir>/gx``.

The gate (``expectations.gate``) validates in memory and writes each result through GX's
filesystem validation-results store into ``<shared_state_dir>/gx/uncommitted/validations`` (shared: the
loads run on any worker, the docs task on another); that is the default store of a file-backed GX
context rooted at ``<shared_state_dir>``, so building the docs is one
call on that context once the loads are done (one process, no concurrent writers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from expectations.docs_assets import localise_site
from ground.files import flat_name
from ground.settings import Settings, get_settings
from ground.sources import SOURCES

if TYPE_CHECKING:
    from great_expectations.data_context import FileDataContext

SITE = "local_site"


def run_name(run_id: str, relative_path: str) -> str:
    """The GX run name of one file's validation: the pipeline run, then the file (no slashes). GX stores the
    result in a folder of that name, so the whole name stays within a 255-byte file name."""
    prefix = f"{run_id}:"
    return prefix + flat_name(relative_path, 255 - len(prefix.encode()))


def docs_context(settings: Settings | None = None) -> FileDataContext:
    """The file-backed GX context under the state dir, with the suites as the code defines them."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # imported here: the summary only needs data_docs_index

    from expectations.suites import build_suite

    settings = settings or get_settings()
    settings.shared_state_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=settings.shared_state_dir)
    context.variables.progress_bars = {"globally": False}
    for name in SOURCES:
        context.suites.add_or_update(build_suite(name))
    return context


def data_docs_index(settings: Settings | None = None) -> Path:
    """Where the site's ``index.html`` is (it exists once ``build_data_docs`` has run)."""
    settings = settings or get_settings()
    return settings.shared_state_dir / "gx" / "uncommitted" / "data_docs" / SITE / "index.html"


def build_data_docs(settings: Settings | None = None, run_id: str | None = None) -> Path:
    """Build Data Docs for the stored validations and return the site's ``index.html``.

    With ``run_id``, only that run's result pages (and the suites and the index) are rendered;
    earlier nights' pages stay as they were built. Without it, the whole site is rebuilt.
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from expectations.suites import suite_name

    settings = settings or get_settings()
    context = docs_context(settings)
    identifiers = None
    if run_id is not None:
        prefix = f"{run_id}:"  # every run_name(run_id, ...) starts so
        identifiers = [k for k in context.validation_results_store.list_keys()
                       if str(k.run_id.run_name or "").startswith(prefix)]
        identifiers += [ExpectationSuiteIdentifier(name=suite_name(n)) for n in SOURCES]
    context.build_data_docs(site_names=[SITE], resource_identifiers=identifiers)
    index = data_docs_index(settings)
    localise_site(index.parent)  # the CDN's CSS and JavaScript from the project: the site works offline
    return index
