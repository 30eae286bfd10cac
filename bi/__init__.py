"""Superset on the marts: dashboards as code (``bi/superset/``) and ``make bi`` (``bi.local``)."""
