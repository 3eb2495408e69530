"""Condition write-back: the writer (one Image, retried on conflict) and the reconciler."""
