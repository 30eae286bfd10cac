"""Great Expectations suites (one per source), the gate that runs them on each file, the words
that explain a failure to people (describe) and Data Docs (docs). The checks after dbt, marts
against staging and the ledger against raw, are dbt tests (dbt_project/tests/reconcile/) that
nightly/reconcile.py runs."""
