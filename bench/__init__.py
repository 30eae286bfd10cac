"""Benchmarks (``make bench``): the ingest path against raw COPY and pandas ``to_sql``, GX's share of
ingest, nightly dbt runs (one new file, no-op, full rebuild), peak memory, and growth with rows.

They measure and report (``bench/results.json``, ``bench/README.md``); they never fail the test suite.
"""
