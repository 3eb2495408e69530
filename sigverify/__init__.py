"""sigverify: verify OpenShift image signatures against a trust policy."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
