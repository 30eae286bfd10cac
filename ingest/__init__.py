"""Ingest: discover landing-zone files, parse them (Thai-aware), validate and load them into raw."""
