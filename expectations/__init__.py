"""Great Expectations suites (one per source), the gate that runs them on each file, the words
that explain a failure to people (describe), Data Docs (docs) and the post-dbt checks (reconcile)."""
