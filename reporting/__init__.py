"""The nightly static HTML report built from the marts (``python -m reporting.nightly``)."""
