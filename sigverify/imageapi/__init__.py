"""Image API adapters: the ``ImageAPI`` protocol, the embedded SQLite store and its REST
face, and the OpenShift client."""

from __future__ import annotations

from sigverify.imageapi.protocol import ImageAPI, JSONObject, Page

__all__ = ["ImageAPI", "JSONObject", "Page"]
