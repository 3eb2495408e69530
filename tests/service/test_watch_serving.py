"""Watches through ``sigverify serve`` under gunicorn: a write by another process reaches
them, a worker serves at most ``threads - 1`` at a time, and stopping ends them at once."""

from __future__ import annotations

import http.client
import json
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.builders import conditions
from tests.imageapi.demo import APP, seeded_store
from tests.service.processes import Served, serve

pytestmark = pytest.mark.slow

PREFIX = "/apis/image.openshift.io/v1"


class _Watch:
    def __init__(self, served: Served, query: str) -> None:
        url = urlsplit(served.url)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=20)
        self.connection.request("GET", f"{PREFIX}/images?{query}")
        self.response = self.connection.getresponse()

    def next_event(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "the watch ended"
        event: dict[str, Any] = json.loads(line)
        return event

    def close(self) -> None:
        self.response.close()
        self.connection.close()


def _store(tmp_path: Path) -> ImageStore:
    return seeded_store(tmp_path / "store.db")


def test_watch_under_gunicorn_bounded_and_ended_by_a_stop(tmp_path: Path) -> None:
    store = _store(tmp_path)
    version = store.list_page("Image", None, 1, None)[2]["resourceVersion"]  # the latest
    args = ["--store", str(store.path), "--workers", "1", "--threads", "2"]
    with serve(args, cwd=tmp_path) as served:
        first = _Watch(served, f"watch=true&resourceVersion={version}&allowWatchBookmarks=true")
        assert first.response.status == 200
        second = _Watch(served, f"watch=true&resourceVersion={version}")
        assert second.response.status == 429  # threads 2: one watch, one thread for the rest
        assert json.loads(second.response.read())["reason"] == "TooManyRequests"
        second.close()
        image = store.get_image(APP)  # this process writes; the worker's watch sees it
        image["signatures"][0]["conditions"] = conditions("True")
        written = store.update_image(image)
        event = first.next_event()
        assert event["type"] == "MODIFIED"
        assert event["object"] == written
        status, _ = served.request("GET", "/healthz")
        assert status == 200  # the other thread still serves
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        last = first.next_event()
        assert last == {
            "type": "BOOKMARK",
            "object": {
                "kind": "Image",
                "apiVersion": "image.openshift.io/v1",
                "metadata": {"resourceVersion": written["metadata"]["resourceVersion"]},
            },
        }
        assert first.response.read() == b""
        served.process.wait(timeout=20)
        assert time.monotonic() - started < 10  # not the 30 s graceful timeout
        first.close()
