"""The sigverify HTTP service: ``create_app(settings)``, served by ``sigverify serve``.

Kept import-light on purpose: ``sigverify serve`` must set ``PROMETHEUS_MULTIPROC_DIR``
before prometheus_client is first imported, so the app is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigverify.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from sigverify.service.app import create_app

        return create_app
    raise AttributeError(name)
