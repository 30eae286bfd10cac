"""The nightly service: a night (or a backfill) from landing files to built marts, and what operators see of it."""
