"""Benchmarks: ``python -m bench`` (``--quick`` for a run under a minute)."""
