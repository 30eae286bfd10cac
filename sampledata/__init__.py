"""Deterministic sample landing zone and agency registry (``python -m sampledata``)."""
